import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { lastValueFrom, map, reduce, timeout } from 'rxjs';
import { resolveCliCommand } from 'src/claude-cli/claude-argv';
import { CLAUDE_CLI_PARENT_ENV } from 'src/claude-cli/claude-cli-runner.service';
import { Clock } from 'src/common';
import { AppConfig } from 'src/config';
import {
  BoundedBuffer,
  buildChildEnv,
  CHILD_ISOLATION,
  ChildIsolation,
  childTempDir,
  findOnPath,
  ProcessEvent,
  ProcessLauncher,
  SpawnError,
} from 'src/process';

export interface CliStatus {
  command: string;
  available: boolean;
  /** e.g. "2.1.197" (or the whole first line when it holds no version number). */
  version: string | null;
  /** e.g. "not found at claude" (a relative command shown resolved); null when available. */
  error: string | null;
  /**
   * Whether the CLI has credentials (`claude auth status`: a login, or ANTHROPIC_API_KEY in the
   * server's environment); null when that could not be found out (no CLI, or a release without
   * the command).
   */
  loggedIn: boolean | null;
  /** How it is logged in (`claude.ai`, `api_key`, ...) when it is. */
  authMethod: string | null;
}

/** How long `<cli> --version` and `<cli> auth status` may each take. */
export const VERSION_TIMEOUT_MS = 15_000;

interface CliRun {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Whether the configured CLI can run and is logged in: `<CLAUDE_CLI_COMMAND> --version`, then
 * `<CLAUDE_CLI_COMMAND> auth status --json` (answered from the local credentials, without an API
 * call or tokens), once at module init and again for `/health` when the answer is old
 * (`freshStatus`). A relative command (`node_modules/.bin/claude`) is resolved against the
 * server's working directory, like the turn runner does (resolveCliCommand).
 */
@Injectable()
export class CliAvailabilityService implements OnModuleInit {
  private readonly logger = new Logger(CliAvailabilityService.name);
  private readonly parentEnv: NodeJS.ProcessEnv;
  private current: CliStatus;
  private checkedAt = 0;
  /** The executable's `executableMark` when the status was last asked. */
  private checkedMark = '';
  private probing: Promise<CliStatus> | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly launcher: ProcessLauncher,
    @Inject(CHILD_ISOLATION) private readonly isolation: ChildIsolation,
    @Optional() @Inject(CLAUDE_CLI_PARENT_ENV) parentEnv?: NodeJS.ProcessEnv,
  ) {
    this.parentEnv = parentEnv ?? process.env;
    this.current = {
      command: config.CLAUDE_CLI_COMMAND,
      available: false,
      version: null,
      error: 'not checked yet',
      loggedIn: null,
      authMethod: null,
    };
  }

  async onModuleInit(): Promise<void> {
    const status = await this.check();
    if (!status.available) {
      this.logger.warn(`Claude CLI unavailable: ${status.error ?? ''}`);
      return;
    }
    this.logger.log(`Claude CLI ${status.command} version ${status.version ?? '?'}`);
    if (status.loggedIn === false) {
      this.logger.warn(
        'Claude CLI is not logged in: tasks will fail with cli_not_logged_in. Log in as the user this server runs as, or set ANTHROPIC_API_KEY.',
      );
    }
  }

  status(): CliStatus {
    return { ...this.current };
  }

  /**
   * The status, asked again when the last answer is older than `maxAgeMs` (an operator may log
   * the CLI in while the server runs), and at once when its executable was removed, installed or
   * replaced since. Concurrent callers share one probe.
   */
  async freshStatus(maxAgeMs: number): Promise<CliStatus> {
    const stale = this.clock.nowMs() - this.checkedAt > maxAgeMs;
    if (stale || this.executableMark() !== this.checkedMark) {
      this.probing ??= this.check().finally(() => (this.probing = null));
      await this.probing;
    }
    return this.status();
  }

  async check(): Promise<CliStatus> {
    this.checkedMark = this.executableMark();
    this.current = await this.probe();
    this.checkedAt = this.clock.nowMs();
    return this.status();
  }

  /**
   * What tells the CLI's executable apart, read without starting it: its path (found on PATH for a
   * bare name) and the identity of the file there; `missing` when there is none.
   */
  private executableMark(): string {
    const path = findOnPath(resolveCliCommand(this.config.CLAUDE_CLI_COMMAND), this.parentEnv.PATH);
    if (path === null) return 'missing';
    try {
      const stat = statSync(path);
      return `${path} ${stat.dev} ${stat.ino} ${stat.size} ${stat.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }

  private async probe(): Promise<CliStatus> {
    const command = this.config.CLAUDE_CLI_COMMAND;
    const executable = resolveCliCommand(command);
    const fail = (error: string): CliStatus => ({
      command,
      available: false,
      version: null,
      error,
      loggedIn: null,
      authMethod: null,
    });
    let run: CliRun;
    try {
      run = await this.runCli(executable, ['--version']);
    } catch (e) {
      if (e instanceof SpawnError) {
        return fail(
          e.code === 'ENOENT'
            ? `not found at ${executable}`
            : `cannot run ${executable}: ${e.code}`,
        );
      }
      if (e instanceof Error && e.name === 'TimeoutError') {
        return fail(`${command} --version did not answer within ${VERSION_TIMEOUT_MS / 1000} s`);
      }
      return fail(`${command} --version failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const firstLine = run.stdout.trim().split('\n')[0] ?? '';
    if (run.code !== 0) {
      const detail = run.stderr.trim() || firstLine;
      return fail(
        `${command} --version failed (${run.signal ?? `exit code ${String(run.code)}`})${detail ? `: ${detail}` : ''}`,
      );
    }
    const version = /\d+\.\d+\.\d+\S*/.exec(firstLine)?.[0] ?? (firstLine || null);
    return { command, available: true, version, error: null, ...(await this.auth(executable)) };
  }

  /** `auth status --json`: `{loggedIn, authMethod}`; nulls when the CLI cannot say. */
  private async auth(executable: string): Promise<Pick<CliStatus, 'loggedIn' | 'authMethod'>> {
    const unknown = { loggedIn: null, authMethod: null };
    let run: CliRun;
    try {
      run = await this.runCli(executable, ['auth', 'status', '--json']);
    } catch {
      return unknown;
    }
    try {
      const status = JSON.parse(run.stdout) as { loggedIn?: unknown; authMethod?: unknown };
      if (typeof status.loggedIn !== 'boolean') return unknown;
      return {
        loggedIn: status.loggedIn,
        authMethod:
          status.loggedIn && typeof status.authMethod === 'string' ? status.authMethod : null,
      };
    } catch {
      return unknown;
    }
  }

  /**
   * Runs the CLI in a directory of its own (writable in the sandbox), not in the temp directory
   * itself: whatever works in a child's directory, or under it, is ended with the child when the
   * server stops (by the directory marker), and every task's processes may work under the temp
   * directory.
   */
  private async runCli(executable: string, args: string[]): Promise<CliRun> {
    const cwd = childTempDir(this.isolation, 'cta-cli-probe-');
    try {
      return await this.runCliIn(cwd, executable, args);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  }

  private runCliIn(cwd: string, executable: string, args: string[]): Promise<CliRun> {
    const out = new BoundedBuffer(8 * 1024);
    const err = new BoundedBuffer(8 * 1024);
    return lastValueFrom(
      this.launcher
        .run({
          command: executable,
          args,
          cwd,
          writable: [cwd],
          env: buildChildEnv(
            this.parentEnv,
            { DISABLE_AUTOUPDATER: '1' },
            this.config.CLAUDE_CLI_ENV_PASSTHROUGH,
          ),
          killGraceMs: 1000,
          isolation: this.isolation,
          cliHome: true,
        })
        .pipe(
          timeout({ first: VERSION_TIMEOUT_MS, each: VERSION_TIMEOUT_MS }),
          reduce<ProcessEvent, { code: number | null; signal: string | null }>(
            (acc, e) => {
              if (e.type === 'stdout') out.push(e.chunk);
              if (e.type === 'stderr') err.push(e.chunk);
              return e.type === 'exit' ? { code: e.code, signal: e.signal } : acc;
            },
            { code: null, signal: null },
          ),
          map((exit) => ({ ...exit, stdout: out.toString(), stderr: err.toString() })),
        ),
    );
  }
}
