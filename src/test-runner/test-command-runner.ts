import { Inject, Injectable } from '@nestjs/common';
import { Observable, Subscription } from 'rxjs';
import { AppConfig } from 'src/config';
import {
  BoundedBuffer,
  buildChildEnv,
  CHILD_ISOLATION,
  ChildIsolation,
  killProcessGroup,
  ProcessLauncher,
  SpawnError,
  withoutCliSettings,
} from 'src/process';

/** One command to run in a project directory. */
export interface CommandSpec {
  argv: readonly string[];
  cwd: string;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Directories the command may write besides `cwd` in a sandbox (a JUnit report's). */
  writable?: readonly string[];
  /** Directories the command may read in a sandbox besides the system (dependencies linked in). */
  readable?: readonly string[];
  /** Variables added to the test command's environment (`testCommandEnv`). */
  env?: Record<string, string>;
}

export interface CommandResult {
  argv: string[];
  /** Exit code, or null when killed by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
  /** stdout and stderr interleaved as they arrived, capped (head and tail kept, cut marked). */
  output: string;
  outputBytes: number;
  /** errno code (ENOENT, EACCES) when the command could not be started. */
  spawnError: string | null;
}

export type CommandEvent =
  | { type: 'spawned'; pid: number; argv: string[] }
  | { type: 'finished'; result: CommandResult };

/**
 * Environment of a test command: the server's allowlisted environment (`buildChildEnv`) minus the
 * Claude CLI's own credentials and settings, plus settings that keep test tools non-interactive
 * and out of the project (no watch mode, no colours, no `.pyc` files).
 */
export function testCommandEnv(parent: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = buildChildEnv(parent, {
    CI: '1',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONUNBUFFERED: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_NO_REPLACE_OBJECTS: '1',
  });
  return withoutCliSettings(env);
}

/**
 * Runs test commands (and the `git` queries of the file finder) as child processes started by the
 * process host (`ProcessLauncher`): no shell, stdin closed, own process group, allowlisted
 * environment, bounded output.
 * On timeout the whole process group is stopped (SIGINT, SIGTERM, SIGKILL, `KILL_GRACE_SECONDS`
 * apart) before the result is emitted; unsubscribing stops it the same way.
 */
@Injectable()
export class TestCommandRunner {
  /** Built once: the server's environment does not change while it runs. */
  private readonly baseEnv = testCommandEnv(process.env);

  constructor(
    private readonly config: AppConfig,
    private readonly launcher: ProcessLauncher,
    @Inject(CHILD_ISOLATION) private readonly isolation: ChildIsolation,
  ) {}

  run(spec: CommandSpec): Observable<CommandEvent> {
    const graceMs = this.config.KILL_GRACE_SECONDS * 1000;
    const argv = [...spec.argv];
    return new Observable<CommandEvent>((subscriber) => {
      const started = Date.now();
      const buffer = new BoundedBuffer(Math.max(2, spec.maxOutputBytes));
      let pid: number | null = null;
      let timedOut = false;
      let killing: Promise<void> | null = null;
      let exit: { code: number | null; signal: NodeJS.Signals | null } = {
        code: null,
        signal: null,
      };

      const finish = (spawnError: string | null): void => {
        const result: CommandResult = {
          argv,
          exitCode: exit.code,
          signal: exit.signal,
          timedOut,
          durationMs: Date.now() - started,
          output: buffer.toString(),
          outputBytes: buffer.totalBytes,
          spawnError,
        };
        subscriber.next({ type: 'finished', result });
        subscriber.complete();
      };

      const timer = setTimeout(() => {
        timedOut = true;
        buffer.push(
          Buffer.from(`\n[timed out after ${spec.timeoutMs} ms; process group stopped]\n`),
        );
        if (pid !== null) killing = killProcessGroup(pid, graceMs);
      }, spec.timeoutMs);

      const inner: Subscription = this.launcher
        .run({
          command: argv[0],
          args: argv.slice(1),
          cwd: spec.cwd,
          env: spec.env === undefined ? this.baseEnv : { ...this.baseEnv, ...spec.env },
          killGraceMs: graceMs,
          isolation: this.isolation,
          writable: [spec.cwd, ...(spec.writable ?? [])],
          readable: spec.readable,
        })
        .subscribe({
          next: (event) => {
            switch (event.type) {
              case 'spawned':
                pid = event.pid;
                if (timedOut) killing = killProcessGroup(event.pid, graceMs);
                subscriber.next({ type: 'spawned', pid: event.pid, argv });
                break;
              case 'stdout':
              case 'stderr':
                buffer.push(event.chunk);
                break;
              case 'exit':
                exit = { code: event.code, signal: event.signal };
                break;
            }
          },
          error: (err: unknown) => {
            clearTimeout(timer);
            const code = err instanceof SpawnError ? err.code : 'ESPAWN';
            const message = err instanceof Error ? err.message : String(err);
            buffer.push(Buffer.from(`could not start ${argv[0]}: ${message}\n`));
            finish(code);
          },
          complete: () => {
            clearTimeout(timer);
            const pending = killing ?? Promise.resolve();
            void pending.then(() => finish(null));
          },
        });

      return () => {
        clearTimeout(timer);
        inner.unsubscribe();
      };
    });
  }
}
