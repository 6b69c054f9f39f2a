import { Inject, Injectable, Logger, LoggerService, Optional } from '@nestjs/common';
import {
  EMPTY,
  merge,
  Observable,
  Subject,
  Subscription,
  switchMap,
  take,
  takeUntil,
  timer,
} from 'rxjs';
import { map, startWith } from 'rxjs/operators';
import {
  buildClaudeArgv,
  preparePrompt,
  removePromptFile,
  resolveCliCommand,
} from 'src/claude-cli/claude-argv';
import {
  ClaudeEvent,
  PermissionDenial,
  ResultEvent,
} from 'src/claude-cli/stream-json/claude-events';
import { parseClaudeLine } from 'src/claude-cli/stream-json/claude-events';
import { NdjsonLineSplitter, SplitLine } from 'src/claude-cli/stream-json/ndjson-line-splitter';
import { classifyTurn, TimeoutKind, TurnOutcome } from 'src/claude-cli/turn-outcome';
import { ExactSecrets } from 'src/common';
import { AppConfig, serverName } from 'src/config';
import {
  BoundedBuffer,
  buildChildEnv,
  CHILD_ISOLATION,
  cliCredentials,
  ChildIsolation,
  checkWorkingDirectory,
  isProcessGroupAlive,
  killProcessGroup,
  ProcessEvent,
  ProcessLauncher,
  SpawnError,
} from 'src/process';

/**
 * WHERE THE AGENT IS SPAWNED. `ClaudeCliRunner.runTurn` runs one agent turn: one `claude -p`
 * process in the project directory, as a cold Observable of typed events.
 *
 * - Subscribing re-checks the project's real path, builds the argv (claude-argv.ts) and has the
 *   process host start it (`ProcessLauncher`: no shell, stdin closed, own process group,
 *   allowlisted environment plus DISABLE_AUTOUPDATER=1 and CLAUDE_CODE_MAX_RETRIES=3, CLAUDECODE
 *   removed).
 * - It emits `{type:'spawned', pid}` (pid = process group id), every parsed `ClaudeEvent`, and
 *   last `{type:'turn_end', outcome}`, then completes. By then the CLI has exited and every other
 *   process of its group (background jobs it left) has been stopped.
 * - Watchdogs, as RxJS timers: no init line within CLI_INIT_TIMEOUT_SECONDS, the whole turn over
 *   CLI_TIMEOUT_SECONDS, no output for CLI_IDLE_TIMEOUT_SECONDS (0 = off), and after the result line
 *   CLI_RESULT_GRACE_SECONDS to exit. Each stops the process group (SIGINT, SIGTERM, SIGKILL,
 *   KILL_GRACE_SECONDS apart) and the turn still ends with `turn_end`.
 * - Unsubscribing early (cancel, shutdown) kills the process group; no `turn_end` is emitted then.
 * - A prompt too large for argv goes to a file in `<project>/.claude-task/` (claude-argv.ts); it is
 *   removed, with the folder when that leaves it empty, when the turn ends, is unsubscribed or
 *   errors (before `turn_end` is emitted).
 * - The CLI's own credentials (`cliCredentials` of its environment) are redacted from every line
 *   it prints and from its stderr tail before anything is parsed, stored or shown.
 * - Memory is bounded: in a line over CLI_MAX_LINE_BYTES the string values are shortened (with a
 *   `[... N bytes cut]` marker; the line stays JSON and is read, after a `warning`); a line still too
 *   long is skipped (a `warning`). Past CLI_MAX_OUTPUT_BYTES of stdout only the result line is still
 *   read, whatever its key order (one `warning` marks the cut).
 * - The Observable errors only for a request it refuses before spawning: a project directory that
 *   is gone or whose real path changed (`WorkingDirectoryGoneError`) or a conversation id that is
 *   not a UUID (a TypeError: a bug). A missing CLI is an outcome (`cli_not_found`), not an error.
 *
 * The child's environment comes from the server's environment (or the one injected under
 * CLAUDE_CLI_PARENT_ENV, which tests use), filtered by `buildChildEnv` with
 * CLAUDE_CLI_ENV_PASSTHROUGH as extra allowed names (e.g. `FAKE_CLAUDE_*` for the fake CLI).
 */

export interface TurnRequest {
  /** The session's canonical project path; re-checked with realpath just before spawning. */
  cwd: string;
  /** Set in the CLI's environment besides `childEnv()` (the task workspace's ref guard). */
  env?: Record<string, string>;
  prompt: string;
  /** UUID we generate: `--session-id` on the first turn, `--resume` afterwards. */
  conversationId: string;
  resume: boolean;
  /** What the earlier turns of this conversation cost, for the per-turn figure. */
  priorConversationCostUsd: number;
  /** Where the turn's lines go (a task's run binds its `task_id`); the runner's own logger if unset. */
  log?: Pick<LoggerService, 'log' | 'warn'>;
}

export type TurnEvent =
  | ClaudeEvent
  | { type: 'spawned'; pid: number }
  | { type: 'turn_end'; outcome: TurnOutcome };

/** Injection token for the environment the CLI's environment is filtered from (default process.env). */
export const CLAUDE_CLI_PARENT_ENV = Symbol('CLAUDE_CLI_PARENT_ENV');

const STDERR_KEEP_BYTES = 64 * 1024;
const STDERR_TAIL_BYTES = 4 * 1024;
/** Cheap pre-test for a result line past the output cap, wherever `type` is; parsing decides. */
const MAYBE_RESULT_LINE = /"type"\s*:\s*"result"/;

type StopReason = TimeoutKind | 'after_result';

/**
 * A line's events (`parseClaudeLine`); a line it cannot read (valid JSON of a shape that
 * exhausts the stack) is a warning, as a line that is not JSON is: never the turn's end.
 */
function readLine(line: SplitLine): ClaudeEvent[] {
  try {
    return parseClaudeLine(line);
  } catch (error) {
    return [
      {
        type: 'warning',
        message: `line could not be read: ${error instanceof Error ? error.message : String(error)}`,
        line: line.text.slice(0, 200),
      },
    ];
  }
}

/** Everything one turn accumulates while its output streams in. */
class TurnState {
  readonly splitter: NdjsonLineSplitter;
  readonly stderr = new BoundedBuffer(STDERR_KEEP_BYTES);
  readonly initSeen$ = new Subject<void>();
  readonly resultSeen$ = new Subject<void>();
  readonly activity$ = new Subject<void>();
  stdoutBytes = 0;
  capWarned = false;
  result: ResultEvent | null = null;
  cliVersion: string | null = null;
  lastAssistantText: string | null = null;
  deniedEvents: PermissionDenial[] = [];
  timedOut: TimeoutKind | null = null;
  pid: number | null = null;
  killing: Promise<void> | null = null;

  constructor(
    maxLineBytes: number,
    private readonly maxOutputBytes: number,
    private readonly credentials: ExactSecrets,
  ) {
    this.splitter = new NdjsonLineSplitter(maxLineBytes);
  }

  /**
   * The last of stderr, without the CLI's credentials: redacted in all that was kept before the
   * tail is cut, so that a key across the cut does not leave its end.
   */
  stderrTail(): string {
    const kept = this.credentials.redact(this.stderr.tailString(STDERR_KEEP_BYTES));
    const tail = Buffer.from(kept, 'utf8');
    return tail.length <= STDERR_TAIL_BYTES
      ? kept
      : tail.subarray(tail.length - STDERR_TAIL_BYTES).toString('utf8');
  }

  onStdout(chunk: Buffer): ClaudeEvent[] {
    const before = this.stdoutBytes;
    this.stdoutBytes += chunk.length;
    const events: ClaudeEvent[] = [];
    // One at a time: a line can hold more events than a call's arguments may (a spread).
    for (const line of this.splitter.push(chunk)) {
      for (const event of this.onLine(line)) events.push(event);
    }
    if (
      before <= this.maxOutputBytes &&
      this.stdoutBytes > this.maxOutputBytes &&
      !this.capWarned
    ) {
      this.capWarned = true;
      events.push({
        type: 'warning',
        message: `[... output cut: the turn printed more than ${this.maxOutputBytes} bytes; only its result line is still read ...]`,
        line: '',
      });
    }
    return events;
  }

  onEnd(): ClaudeEvent[] {
    return this.splitter.end().flatMap((line) => this.onLine(line));
  }

  private onLine(read: SplitLine): ClaudeEvent[] {
    // The agent may print the CLI's own credentials (a tool running `env`): never stored or shown.
    const text = this.credentials.redact(read.text);
    const line = text === read.text ? read : { ...read, text };
    let events: ClaudeEvent[];
    if (!this.capWarned) {
      events = readLine(line);
    } else {
      // Past the output cap only a line that parses as a top-level result counts (with its
      // warnings); a skipped over-long line that may have been the result still gets its warning.
      if (!MAYBE_RESULT_LINE.test(line.text)) return [];
      events = readLine(line);
      if (!line.truncated && !events.some((e) => e.type === 'result')) return [];
      events = events.filter((e) => e.type === 'result' || e.type === 'warning');
    }
    for (const e of events) this.note(e);
    return events;
  }

  private note(e: ClaudeEvent): void {
    if (e.type === 'init') {
      this.cliVersion = e.cliVersion;
      this.initSeen$.next();
    } else if (e.type === 'assistant_text' && !e.synthetic) {
      this.lastAssistantText = e.text;
    } else if (e.type === 'permission_denied') {
      this.deniedEvents.push({
        toolName: e.toolName,
        toolUseId: e.toolUseId,
        toolInput: e.toolInput,
      });
    } else if (e.type === 'result' && this.result === null) {
      this.result = e;
      this.resultSeen$.next();
    }
  }
}

@Injectable()
export class ClaudeCliRunner {
  private readonly logger = new Logger(ClaudeCliRunner.name);
  private readonly parentEnv: NodeJS.ProcessEnv;
  /** The CLI's credentials, redacted from what its turns print. */
  private readonly credentials: ExactSecrets;

  constructor(
    private readonly config: AppConfig,
    private readonly launcher: ProcessLauncher,
    @Inject(CHILD_ISOLATION) private readonly isolation: ChildIsolation,
    @Optional() @Inject(CLAUDE_CLI_PARENT_ENV) parentEnv?: NodeJS.ProcessEnv,
  ) {
    this.parentEnv = parentEnv ?? process.env;
    this.credentials = new ExactSecrets(cliCredentials(this.childEnv()));
  }

  /** The environment the CLI gets. */
  childEnv(): NodeJS.ProcessEnv {
    return buildChildEnv(
      this.parentEnv,
      { DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_MAX_RETRIES: '3' },
      this.config.CLAUDE_CLI_ENV_PASSTHROUGH,
    );
  }

  runTurn(req: TurnRequest): Observable<TurnEvent> {
    return new Observable<TurnEvent>((subscriber) => {
      const cfg = this.config;
      const logger = req.log ?? this.logger;
      // Spawned with cwd = the project: a relative command must not be looked up there.
      const command = resolveCliCommand(cfg.CLAUDE_CLI_COMMAND);
      let args: string[];
      let promptFile: string | null = null;
      /** A prompt written to a file lives as long as the turn: removed on every way out. */
      const removePrompt = (): void => {
        if (promptFile === null) return;
        removePromptFile(req.cwd, promptFile);
        promptFile = null;
      };
      try {
        checkWorkingDirectory(req.cwd, serverName(cfg), true);
        const prompt = preparePrompt(req.cwd, req.prompt, req.conversationId);
        promptFile = prompt.promptFile;
        if (prompt.promptFile)
          logger.log(
            `prompt of ${Buffer.byteLength(req.prompt)} bytes written to ${prompt.promptFile}`,
          );
        args = buildClaudeArgv({
          prompt: prompt.argvPrompt,
          conversationId: req.conversationId,
          resume: req.resume,
          model: cfg.CLAUDE_MODEL,
          permissionMode: cfg.CLAUDE_PERMISSION_MODE,
          allowedTools: cfg.CLAUDE_ALLOWED_TOOLS,
          disallowedTools: cfg.CLAUDE_DISALLOWED_TOOLS,
          maxTurns: cfg.CLAUDE_MAX_TURNS,
          appendSystemPrompt: cfg.CLAUDE_APPEND_SYSTEM_PROMPT,
        });
      } catch (err) {
        removePrompt();
        subscriber.error(err);
        return undefined;
      }

      const killGraceMs = cfg.KILL_GRACE_SECONDS * 1000;
      const state = new TurnState(
        cfg.CLI_MAX_LINE_BYTES,
        cfg.CLI_MAX_OUTPUT_BYTES,
        this.credentials,
      );
      const finished$ = new Subject<void>();
      const subscription = new Subscription();

      const stop = (reason: StopReason): void => {
        if (reason !== 'after_result' && state.result === null) state.timedOut ??= reason;
        if (state.pid === null || state.killing) return;
        logger.warn(`stopping claude (pid ${state.pid}): ${reason}`);
        state.killing = killProcessGroup(state.pid, killGraceMs);
      };

      const idleMs = cfg.CLI_IDLE_TIMEOUT_SECONDS * 1000;
      const watchdog$: Observable<StopReason> = merge(
        timer(cfg.CLI_INIT_TIMEOUT_SECONDS * 1000).pipe(
          takeUntil(merge(state.initSeen$, state.resultSeen$)),
          map((): StopReason => 'init'),
        ),
        timer(cfg.CLI_TIMEOUT_SECONDS * 1000).pipe(map((): StopReason => 'overall')),
        idleMs > 0
          ? state.activity$.pipe(
              startWith(undefined),
              switchMap(() => timer(idleMs)),
              map((): StopReason => 'idle'),
            )
          : EMPTY,
        state.resultSeen$.pipe(
          take(1),
          switchMap(() => timer(cfg.CLI_RESULT_GRACE_SECONDS * 1000)),
          map((): StopReason => 'after_result'),
        ),
      ).pipe(take(1), takeUntil(finished$));

      /** Whatever is left of the group (background jobs) is stopped before the turn ends. */
      const reapGroup = async (): Promise<void> => {
        if (state.pid !== null && isProcessGroupAlive(state.pid)) {
          state.killing ??= killProcessGroup(state.pid, killGraceMs);
        }
        if (state.killing) await state.killing;
      };

      const end = (
        exitCode: number | null,
        signal: NodeJS.Signals | null,
        spawnError: SpawnError | null,
      ): void => {
        finished$.next();
        removePrompt();
        const outcome = classifyTurn({
          result: state.result,
          deniedEvents: state.deniedEvents,
          lastAssistantText: state.lastAssistantText,
          exitCode,
          signal,
          stderrTail: state.stderrTail(),
          timedOut: state.timedOut,
          spawnError: spawnError ? { code: spawnError.code, message: spawnError.message } : null,
          command,
          cliVersion: state.cliVersion,
          resumed: req.resume,
          priorConversationCostUsd: req.priorConversationCostUsd,
          costReporting: cfg.CLAUDE_COST_REPORTING,
        });
        if (subscriber.closed) return;
        subscriber.next({ type: 'turn_end', outcome });
        subscriber.complete();
      };

      const onProcessEvent = (e: ProcessEvent): void => {
        switch (e.type) {
          case 'spawned':
            state.pid = e.pid;
            subscriber.next({ type: 'spawned', pid: e.pid });
            // A time limit that ran out before the process was even started (a slow start on a
            // loaded machine) stops it now: the watchdog fires once.
            if (state.timedOut !== null) stop(state.timedOut);
            break;
          case 'stdout':
            state.activity$.next();
            for (const event of state.onStdout(e.chunk)) subscriber.next(event);
            break;
          case 'stderr':
            state.activity$.next();
            state.stderr.push(e.chunk);
            break;
          case 'exit':
            for (const event of state.onEnd()) subscriber.next(event);
            void reapGroup().then(() => end(e.code, e.signal, null));
            break;
        }
      };

      subscription.add(watchdog$.subscribe(stop));
      subscription.add(
        this.launcher
          .run({
            command,
            args,
            cwd: req.cwd,
            env: { ...this.childEnv(), ...req.env },
            killGraceMs,
            isolation: this.isolation,
            writable: [req.cwd],
            cliHome: true,
          })
          .subscribe({
            next: onProcessEvent,
            error: (err: unknown) => {
              if (err instanceof SpawnError) end(null, null, err);
              else subscriber.error(err);
            },
          }),
      );
      return () => {
        finished$.next();
        subscription.unsubscribe();
        removePrompt();
      };
    });
  }
}
