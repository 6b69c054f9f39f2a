import { tmpdir } from 'node:os';
import { Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { lastValueFrom, reduce, timeout } from 'rxjs';
import { resolveCliCommand } from 'src/claude-cli/claude-argv';
import { CLAUDE_CLI_PARENT_ENV } from 'src/claude-cli/claude-cli-runner.service';
import { AppConfig } from 'src/config/app-config';
import { BoundedBuffer } from 'src/process/bounded-buffer';
import { buildChildEnv } from 'src/process/child-env';
import { ProcessEvent, runProcess, SpawnError } from 'src/process/process-group';

export interface CliStatus {
  command: string;
  available: boolean;
  /** e.g. "2.1.197" (or the whole first line when it holds no version number). */
  version: string | null;
  /** e.g. "not found at claude" (a relative command shown resolved); null when available. */
  error: string | null;
}

/** How long `<cli> --version` may take. */
export const VERSION_TIMEOUT_MS = 15_000;

/**
 * Whether the configured CLI can run: `<CLAUDE_CLI_COMMAND> --version` once at module init,
 * cached for `/health` and the orchestrator (which fails tasks fast with `error` when it is not
 * available). `check()` runs it again. A relative command (`node_modules/.bin/claude`) is resolved
 * against the server's working directory, like the turn runner does (resolveCliCommand).
 */
@Injectable()
export class CliAvailabilityService implements OnModuleInit {
  private readonly logger = new Logger(CliAvailabilityService.name);
  private readonly parentEnv: NodeJS.ProcessEnv;
  private current: CliStatus;

  constructor(
    private readonly config: AppConfig,
    @Optional() @Inject(CLAUDE_CLI_PARENT_ENV) parentEnv?: NodeJS.ProcessEnv,
  ) {
    this.parentEnv = parentEnv ?? process.env;
    this.current = {
      command: config.CLAUDE_CLI_COMMAND,
      available: false,
      version: null,
      error: 'not checked yet',
    };
  }

  async onModuleInit(): Promise<void> {
    const status = await this.check();
    if (status.available)
      this.logger.log(`Claude CLI ${status.command} version ${status.version ?? '?'}`);
    else this.logger.warn(`Claude CLI unavailable: ${status.error ?? ''}`);
  }

  status(): CliStatus {
    return { ...this.current };
  }

  async check(): Promise<CliStatus> {
    this.current = await this.probe();
    return this.status();
  }

  private async probe(): Promise<CliStatus> {
    const command = this.config.CLAUDE_CLI_COMMAND;
    const executable = resolveCliCommand(command);
    const out = new BoundedBuffer(8 * 1024);
    const err = new BoundedBuffer(8 * 1024);
    const fail = (error: string): CliStatus => ({
      command,
      available: false,
      version: null,
      error,
    });
    try {
      const exit = await lastValueFrom(
        runProcess({
          command: executable,
          args: ['--version'],
          cwd: tmpdir(),
          env: buildChildEnv(
            this.parentEnv,
            { DISABLE_AUTOUPDATER: '1' },
            this.config.CLAUDE_CLI_ENV_PASSTHROUGH,
          ),
          killGraceMs: 1000,
        }).pipe(
          timeout({ first: VERSION_TIMEOUT_MS, each: VERSION_TIMEOUT_MS }),
          reduce<ProcessEvent, { code: number | null; signal: string | null }>(
            (acc, e) => {
              if (e.type === 'stdout') out.push(e.chunk);
              if (e.type === 'stderr') err.push(e.chunk);
              return e.type === 'exit' ? { code: e.code, signal: e.signal } : acc;
            },
            { code: null, signal: null },
          ),
        ),
      );
      const firstLine = out.toString().trim().split('\n')[0] ?? '';
      if (exit.code !== 0) {
        const detail = err.toString().trim() || firstLine;
        return fail(
          `${command} --version failed (${exit.signal ?? `exit code ${String(exit.code)}`})${detail ? `: ${detail}` : ''}`,
        );
      }
      const version = /\d+\.\d+\.\d+\S*/.exec(firstLine)?.[0] ?? (firstLine || null);
      return { command, available: true, version, error: null };
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
  }
}
