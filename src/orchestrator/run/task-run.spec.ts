import {
  concat,
  defer,
  from,
  lastValueFrom,
  NEVER,
  Observable,
  of,
  Subject,
  throwError,
} from 'rxjs';
import { TurnEvent, TurnOutcome, TurnRequest } from 'src/claude-cli';
import { loadConfig } from 'src/config';
import { WorkingDirectoryGoneError } from 'src/process';
import { SimulatedHumanService } from 'src/simulated-human';
import {
  HumanMessage,
  LateMessageError,
  LeaseLostError,
  MessageGuard,
  NewInteraction,
  NewTestCase,
  StatusChange,
  Task,
  TaskPatch,
  TaskStatus,
  VerificationEvidence,
  VerificationRun,
  WaitingMessages,
} from 'src/tasks';
import {
  CommandEvent,
  CommandResult,
  DependencyChanges,
  DependencyMark,
  ProjectChanges,
  ProjectSnapshot,
  splitCommandLine,
  TestRunEvent,
  TestRunReport,
  TestSetup,
} from 'src/test-runner';
import {
  ChangedSinceTested,
  CommitResult,
  GitCommandError,
  GitConfigChangedError,
  GitConfigFingerprint,
  StrayBytecode,
  TestedTree,
  WorkspaceError,
} from 'src/workspaces';
import { OwnerKeyRefusal } from 'src/orchestrator/run/owner-key';
import { TaskRunControl } from 'src/orchestrator/run/run-control';
import {
  AgentPort,
  ClockPort,
  MessagePort,
  OnCommitRegression,
  ScratchRunEvent,
  RunLog,
  TestPort,
  VerificationPort,
  WorkspaceInfo,
  WorkspacePort,
} from 'src/orchestrator/run/run-ports';
import { RunContext } from 'src/orchestrator/run/run-state';
import { ScratchCheckoutError } from 'src/orchestrator/run/scratch-checkout-error';
import { TaskRun } from 'src/orchestrator/run/task-run';
import { TestFileChange } from 'src/orchestrator/run/test-weakening';

/**
 * THE LIFECYCLE RULES OF A RUN, proven against fakes of its ports: a scripted agent, a scripted
 * test runner, an in-memory event log, a clock that never waits and no processes. Each test is
 * milliseconds; the same rules are also proven end to end with real processes
 * (test/e2e/orchestrator-lifecycle.e2e-spec.ts).
 */

const SNAPSHOT: ProjectSnapshot = {
  mode: 'git',
  projectPath: '/p',
  takenAtMs: 0,
  prefix: '',
  head: 'abc',
  dirty: {},
};

function outcome(over: Partial<TurnOutcome> = {}): TurnOutcome {
  return {
    kind: 'success',
    text: 'Done the work.\nDONE',
    permissionDenials: [],
    conversationCostUsd: 0.01,
    turnCostUsd: 0.01,
    inputTokens: 100,
    outputTokens: 50,
    numTurns: 1,
    durationMs: 10,
    exitCode: 0,
    stderrTail: '',
    sessionId: null,
    ...over,
  };
}

/** A turn as the CLI runner emits it: spawned, init, the agent's text, turn_end. */
function turn(over: Partial<TurnOutcome> = {}): TurnEvent[] {
  const o = outcome(over);
  const events: TurnEvent[] = [{ type: 'spawned', pid: 4242 }];
  if (o.kind !== 'crash' && o.kind !== 'cli_not_found') {
    events.push({
      type: 'init',
      sessionId: null,
      model: 'm',
      tools: [],
      cliVersion: '2.1.197',
      permissionMode: 'acceptEdits',
      cwd: '/p',
    });
  }
  if (o.text !== null) {
    events.push({
      type: 'assistant_text',
      text: o.text,
      messageId: 'm1',
      synthetic: o.kind === 'api_error',
    });
  }
  events.push({ type: 'turn_end', outcome: o });
  return events;
}

class FakeAgent implements AgentPort {
  readonly requests: TurnRequest[] = [];
  /** Called as each turn starts. */
  onTurn: () => void = () => undefined;
  constructor(private readonly script: (TurnEvent[] | Observable<TurnEvent>)[]) {}

  runTurn(request: TurnRequest): Observable<TurnEvent> {
    this.requests.push(request);
    this.onTurn();
    const next = this.script.shift() ?? turn();
    return Array.isArray(next) ? of(...next) : next;
  }
}

function report(kind: 'generated' | 'regression', passed: boolean, cases = 2): TestRunReport {
  return {
    kind,
    command: kind === 'generated' ? ['node', '--test'] : ['npm', 'test'],
    exitCode: passed ? 0 : 1,
    timedOut: false,
    durationMs: 5,
    output: passed ? 'ok' : 'not ok 2',
    passed,
    cases: Array.from({ length: cases }, (_, i) => ({
      name: `case ${i + 1}`,
      filePath: kind === 'generated' ? 'test/a.test.js' : null,
      status: !passed && i === cases - 1 ? ('failed' as const) : ('passed' as const),
      durationMs: 1,
      output: !passed && i === cases - 1 ? 'AssertionError: 3 !== 4' : '',
    })),
    invocations: [],
  };
}

class FakeTests implements TestPort {
  /** The directories tests were looked for and run in. */
  readonly dirs: string[] = [];
  /** The test files `changes` answers, call by call (the last one repeats). */
  found: string[][] = [['test/a.test.js']];
  /** Whether each generated test round passes, round by round (the last one repeats). */
  rounds: boolean[] = [true];
  readonly generatedRuns: (readonly string[])[] = [];
  snapshots = 0;
  /** Called as a generated test round starts (to look at what was stored by then). */
  onRun: () => void = () => undefined;

  describeTestSetup(): TestSetup {
    return {
      framework: 'node:test',
      command: 'node --test',
      conventions: 'Name files *.test.js.',
      ecosystem: 'node',
    };
  }

  snapshot(dir: string): Promise<ProjectSnapshot> {
    this.snapshots += 1;
    this.dirs.push(dir);
    return Promise.resolve(SNAPSHOT);
  }

  /** What git ignores, look by look (the last one repeats; null: it cannot say). */
  ignored: (string[] | null)[] = [[]];
  /** Test configuration files changed (`conftest.py`). */
  configFiles: string[] = [];
  /** Fixtures and expected output changed in test directories. */
  supportFiles: string[] = [];
  /** Links created or changed that lead outside the repository (`path -> target`). */
  outsideLinks: string[] = [];
  /** Files that say which dependencies the project installs, changed. */
  dependencyManifests: string[] = [];
  /** What git ignores that changed since the snapshot (dependencies and caches left out). */
  ignoredChanged: string[] = [];
  /** What `git status` named in the whole work tree. */
  treePaths: string[] | null = ['app/math.js'];

  changes(dir: string): Promise<ProjectChanges> {
    this.dirs.push(dir);
    const testFiles = this.found.length > 1 ? this.found.shift()! : this.found[0];
    const ignored = this.ignored.length > 1 ? this.ignored.shift()! : this.ignored[0];
    return Promise.resolve({
      testFiles,
      ignored,
      configFiles: this.configFiles,
      supportFiles: this.supportFiles,
      dependencyManifests: this.dependencyManifests,
      outsideLinks: this.outsideLinks,
      ignoredChanged: this.ignoredChanged,
      treePaths: this.treePaths,
    });
  }

  runGenerated(dir: string, files: readonly string[]): Observable<TestRunEvent> {
    this.dirs.push(dir);
    this.onRun();
    this.generatedRuns.push(files);
    const passed = this.rounds.length > 1 ? this.rounds.shift()! : this.rounds[0];
    const events: TestRunEvent[] = [
      { type: 'spawned', pid: 777, command: ['node', '--test'] },
      { type: 'report', report: report('generated', passed) },
    ];
    return from(events);
  }

  /** What each regression run prints (TAP), run by run (the last one repeats); none: it passes. */
  regressionOutputs: string[] = [];
  regressionRuns = 0;
  readonly regressionCommands: string[] = [];

  runRegression(dir: string, command: string): Observable<TestRunEvent> {
    this.dirs.push(dir);
    this.regressionRuns += 1;
    this.regressionCommands.push(command);
    const output =
      this.regressionOutputs.length > 1
        ? this.regressionOutputs.shift()!
        : (this.regressionOutputs[0] ?? null);
    const passed = output === null || !/^not ok/m.test(output);
    const event: TestRunEvent = {
      type: 'report',
      report: {
        ...report('regression', passed, 1),
        command: splitCommandLine(command),
        output: output ?? 'ok',
      },
    };
    return of(event);
  }
}

/** TAP output of a regression run of the tests `names`, of which `failing` fail. */
function tap(names: string[], failing: string[] = []): string {
  const lines = names.map(
    (name, i) => `${failing.includes(name) ? 'not ok' : 'ok'} ${i + 1} - ${name}`,
  );
  return `TAP version 13\n${lines.join('\n')}\n# tests ${names.length}\n# pass ${names.length - failing.length}\n# fail ${failing.length}\n`;
}

/** Baselines, git against the base commit and the scratch checkout, in memory. */
class FakeVerification implements VerificationPort {
  readonly baselines = new Map<string, VerificationRun>();
  /** What the change did to the base commit's test files. */
  changes: TestFileChange[] = [];
  /** Whether the generated tests pass at the base commit, run by run (the last one repeats). */
  atBase: boolean[] = [false];
  readonly atBaseRuns: { dir: string; base: string; files: readonly string[] }[] = [];

  findBaseline(base: string, command: string): Promise<VerificationRun | null> {
    return Promise.resolve(this.baselines.get(`${base} ${command}`) ?? null);
  }

  saveBaseline(base: string, command: string, run: VerificationRun): Promise<void> {
    this.baselines.set(`${base} ${command}`, run);
    return Promise.resolve();
  }

  /** Helpers, fixtures or expected output of test directories the change modified. */
  support: { files: string[]; tests: string[] } = { files: [], tests: [] };

  testChanges(): Promise<{
    files: TestFileChange[];
    support: { files: string[]; tests: string[] };
  }> {
    return Promise.resolve({ files: this.changes, support: this.support });
  }

  /** Whether the existing tests, as they were, pass against the change and at the base. */
  existing = { change: true, base: true };
  /** What running them throws (a scratch checkout git could not make), if anything. */
  existingFault: Error | null = null;
  readonly existingRuns: {
    files: readonly string[];
    restore: readonly string[];
    on: 'change' | 'base';
    setup: string | null;
  }[] = [];
  /** How the setup command ends in their checkouts (it runs when the session has one). */
  existingSetup = { change: setupResult(), base: setupResult() };

  runBaseTests(
    _dir: string,
    _base: string,
    files: readonly string[],
    restore: readonly string[],
    _testCommand: string | null,
    on: 'change' | 'base',
    setupCommand: string | null,
  ): Observable<ScratchRunEvent> {
    this.existingRuns.push({ files, restore, on, setup: setupCommand });
    if (this.existingFault !== null) return throwError(() => this.existingFault);
    const passed = this.existing[on];
    const tests = of<ScratchRunEvent>({
      type: 'report',
      report: {
        ...report('generated', passed),
        output: passed ? `existing tests pass on the ${on}` : `expected 5, got 6 on the ${on}`,
      },
    });
    return setUpThen(setupCommand, this.existingSetup[on], tests);
  }

  /** Whether the generated tests pass in a clean checkout of the change. */
  onCommit = true;
  /** What running them there throws (a scratch checkout git could not make), if anything. */
  onCommitFault: Error | null = null;
  readonly onCommitRuns: (readonly string[])[] = [];
  /** The setup command each run there was given. */
  readonly onCommitSetups: (string | null)[] = [];
  /** How that setup command ends there (it runs when the session has one). */
  onCommitSetup: CommandResult = setupResult();

  /**
   * The regression suite's output there, run by run (the run, then the run again when asked);
   * null: it passes; `timeout`: it timed out.
   */
  regressionOnCommit: (string | null)[] = [];
  /** The regression suite there could not be run (the adapter gives no report then). */
  regressionOnCommitLost = false;
  /** The regression commands run there. */
  readonly regressionOnCommitRuns: string[] = [];

  runOnCommit(
    _dir: string,
    _base: string,
    files: readonly string[],
    _testCommand: string | null,
    setupCommand: string | null,
    _env: Record<string, string>,
    regression: OnCommitRegression | null,
  ): Observable<ScratchRunEvent> {
    this.onCommitRuns.push(files);
    this.onCommitSetups.push(setupCommand);
    if (this.onCommitFault !== null) return throwError(() => this.onCommitFault);
    const regressionReport = (command: string): TestRunReport => {
      this.regressionOnCommitRuns.push(command);
      const output = this.regressionOnCommit.shift() ?? null;
      const timedOut = output === 'timeout';
      const passed = output === null || (!timedOut && !/^not ok/m.test(output));
      return {
        ...report('regression', passed, 1),
        command: splitCommandLine(command),
        output: output ?? 'ok',
        timedOut,
        exitCode: timedOut ? null : passed ? 0 : 1,
      };
    };
    const regressionRuns = (): ScratchRunEvent[] => {
      if (regression === null || !this.onCommit || this.regressionOnCommitLost) return [];
      const first = regressionReport(regression.command);
      const again = regression.again(first);
      return [first, ...(again === null ? [] : [regressionReport(again)])].map((r) => ({
        type: 'report' as const,
        report: r,
      }));
    };
    const tests = concat(
      of<ScratchRunEvent>({
        type: 'report',
        report: {
          ...report('generated', this.onCommit),
          output: this.onCommit ? 'pass' : "Cannot find module '../build/helper.js'",
        },
      }),
      defer(() => from(regressionRuns())),
    );
    return setUpThen(setupCommand, this.onCommitSetup, tests);
  }

  /** The files git ignores, look by look (the last one repeats); null: git cannot say. */
  ignored: (string[] | null)[] = [[]];
  readonly ignoredAsked: { dir: string; files: readonly string[] }[] = [];

  ignoredFiles(dir: string, files: readonly string[]): Promise<string[] | null> {
    this.ignoredAsked.push({ dir, files });
    const ignored = this.ignored.length > 1 ? this.ignored.shift()! : this.ignored[0];
    return Promise.resolve(ignored === null ? null : files.filter((f) => ignored.includes(f)));
  }

  /** The test data copied with the generated tests, run by run. */
  readonly atBaseSupport: (readonly string[])[] = [];
  /** The setup command each run there was given. */
  readonly atBaseSetups: (string | null)[] = [];
  /** How that setup command ends there (it runs when the session has one). */
  atBaseSetup: CommandResult = setupResult();
  /** What the run there throws (its scratch checkout could not be made, say), if anything. */
  atBaseFault: Error | null = null;
  /** The command the run there reports (its plan's, before the file names). */
  atBaseCommand: string[] = ['node', '--test'];

  runAtBase(
    dir: string,
    base: string,
    files: readonly string[],
    _testCommand: string | null,
    support: readonly string[],
    setupCommand: string | null,
  ): Observable<ScratchRunEvent> {
    this.atBaseRuns.push({ dir, base, files });
    this.atBaseSupport.push(support);
    this.atBaseSetups.push(setupCommand);
    if (this.atBaseFault !== null) return throwError(() => this.atBaseFault);
    const passed = this.atBase.length > 1 ? this.atBase.shift()! : this.atBase[0];
    const events: TestRunEvent[] = [
      { type: 'spawned', pid: 778, command: ['node', '--test'] },
      {
        type: 'report',
        report: {
          ...report('generated', passed),
          command: this.atBaseCommand,
          output: passed ? 'all pass at base' : 'Cannot find module ../src/multiply',
        },
      },
    ];
    return setUpThen(setupCommand, this.atBaseSetup, from(events));
  }
}

/**
 * A scratch checkout's run: the setup command's events first when there is one, then `tests`
 * when it passed.
 */
function setUpThen(
  command: string | null,
  result: CommandResult,
  tests: Observable<ScratchRunEvent>,
): Observable<ScratchRunEvent> {
  if (command === null) return tests;
  const setup = of<ScratchRunEvent[]>(
    { type: 'setup', event: { type: 'spawned', pid: 556, argv: result.argv } },
    { type: 'setup', event: { type: 'finished', result } },
  );
  return result.exitCode === 0 ? concat(setup, tests) : setup;
}

function setupResult(over: Partial<CommandResult> = {}): CommandResult {
  return {
    argv: ['npm', 'ci'],
    exitCode: 0,
    signal: null,
    timedOut: false,
    durationMs: 7,
    output: 'added 12 packages\n',
    outputBytes: 18,
    spawnError: null,
    ...over,
  };
}

/** A workspace in memory: what was prepared, set up and committed, in which order. */
class FakeWorkspace implements WorkspacePort {
  info: WorkspaceInfo = {
    path: '/ws/t1',
    directory: '/ws/t1/app',
    branch: 'cta/t1-add-multiply',
    created: true,
    agentEnv: { CTA_TASK_BRANCH: 'refs/heads/cta/t1-add-multiply' },
    gitConfig: null,
  };
  prepared = 0;
  /** What `fingerprint` returns. */
  readonly taken: GitConfigFingerprint = {
    worktree: 'worktrees/t1',
    paths: { config: 'file:0' },
    copies: 't1',
  };
  /** The setups run and the agent turns started when each fingerprint was taken. */
  readonly fingerprintsAt: { setups: number; turns: number }[] = [];
  /** The agent's requests so far (to tell when a fingerprint was taken). */
  turns: () => number = () => 0;
  readonly setups: { directory: string; command: string }[] = [];
  /** What the setup command emits (a spawn and a passing result unless replaced). */
  setupEvents: () => Observable<CommandEvent> = () =>
    of<CommandEvent[]>(
      { type: 'spawned', pid: 555, argv: ['npm', 'ci'] },
      { type: 'finished', result: setupResult() },
    );
  readonly commits: string[] = [];
  /** Status changes logged when each commit was made. */
  readonly commitsAt: number[] = [];
  commitError: Error | null = null;
  /** Awaited as each commit starts (a commit that takes its time). */
  onCommit: () => Promise<void> = () => Promise.resolve();

  constructor(private readonly log: FakeLog) {}

  /** Awaited as the workspace is prepared (a `git worktree add` that takes its time). */
  onPrepare: () => Promise<void> = () => Promise.resolve();

  async prepare(): Promise<WorkspaceInfo> {
    this.prepared += 1;
    await this.onPrepare();
    return this.info;
  }

  setup(directory: string, command: string): Observable<CommandEvent> {
    this.setups.push({ directory, command });
    return this.setupEvents();
  }

  fingerprint(): Promise<GitConfigFingerprint> {
    this.fingerprintsAt.push({ setups: this.setups.length, turns: this.turns() });
    return Promise.resolve(this.taken);
  }

  /** The tree paths of each round's record, in order. */
  readonly recorded: (readonly string[])[] = [];
  /** Files each checked commit finds changed since its round started, commit by commit ([]: none). */
  changedSinceTested: string[][] = [];
  /** Commit messages refused for files changed since the round started. */
  readonly refused: string[] = [];

  restoreGitLink(): Promise<void> {
    return Promise.resolve();
  }

  /** What each look for stray bytecode answers (removed nothing, by default). */
  strayBytecode: StrayBytecode = { removed: [], failed: [], truncated: false };

  removeStrayBytecode(): Promise<StrayBytecode> {
    return Promise.resolve(this.strayBytecode);
  }

  /** What `markDependencies` returns. */
  readonly mark: DependencyMark = { ctimeMs: 1000, places: ['.', 'app'], dirs: ['node_modules'] };
  /** The agent turns started when each mark was taken. */
  readonly marksAt: number[] = [];
  /** What the look at the installed dependencies answers (nothing changed, by default). */
  dependencyChanges: DependencyChanges = { changed: [], truncated: false };
  /** The marks each look was asked about. */
  readonly dependencyLooks: DependencyMark[] = [];

  markDependencies(): Promise<DependencyMark> {
    this.marksAt.push(this.turns());
    return Promise.resolve(this.mark);
  }

  changedDependencies(_workspace: WorkspaceInfo, mark: DependencyMark): Promise<DependencyChanges> {
    this.dependencyLooks.push(mark);
    return Promise.resolve(this.dependencyChanges);
  }

  /** What the check of the repository's git configuration before a round throws (null: nothing). */
  gitConfigError: Error | null = null;

  checkGitConfig(): Promise<void> {
    return this.gitConfigError === null ? Promise.resolve() : Promise.reject(this.gitConfigError);
  }

  recordTested(_workspace: WorkspaceInfo, treePaths: readonly string[]): Promise<TestedTree> {
    this.recorded.push(treePaths);
    return Promise.resolve({ files: new Map(), stats: new Map(), unknown: [] });
  }

  async commitTested(
    workspace: WorkspaceInfo,
    message: string,
  ): Promise<CommitResult | ChangedSinceTested> {
    const changed = this.changedSinceTested.shift() ?? [];
    if (changed.length === 0) return this.commit(workspace, message);
    this.refused.push(message);
    return { changedSinceTested: changed };
  }

  async commit(_workspace: WorkspaceInfo, message: string): Promise<CommitResult> {
    await this.onCommit();
    if (this.commitError !== null) throw this.commitError;
    this.commits.push(message);
    this.commitsAt.push(this.log.changes.length);
    return { commit: `c${this.commits.length}`, changed: true };
  }
}

/** The event log in memory: what a run wrote, and the task row it leaves. */
class FakeLog implements RunLog {
  readonly records: NewInteraction[] = [];
  readonly changes: StatusChange[] = [];
  readonly testCases: NewTestCase[] = [];
  row: Record<string, unknown> = {};
  /** The records of each batched write (`write`), in order. */
  readonly batches: NewInteraction[][] = [];
  /** The task row change written with each test run's record (`appendTestRun`), in order. */
  readonly testRunPatches: TaskPatch[] = [];
  /** The row change of every write, in order (`{}` for records alone). */
  readonly patches: TaskPatch[] = [];
  /** Each status change's records (written before its `status` record) and row change. */
  readonly statusWrites: { records: NewInteraction[]; patch: TaskPatch }[] = [];
  /** Writes from this many on throw `LeaseLostError`. */
  lostAfter = Infinity;
  /** A task update for which the lease is found lost (and every write after it). */
  lostAt: (patch: TaskPatch) => boolean = () => false;
  /** Writes after this many fail as a database that stays away would ... */
  unavailableAfter = Infinity;
  /** ... this many of them ... */
  unavailableWrites = 0;
  /** ... with this error code. */
  unavailableCode = 'ECONNREFUSED';
  /** The guard of every guarded write (a turn's prompt), in order. */
  readonly guards: MessageGuard[] = [];
  /**
   * Called before each guarded write (a turn's prompt, or the release of the task): may store a
   * message meanwhile and throw `LateMessageError` (the write is then not made).
   */
  beforeGuarded: (guard: MessageGuard, write: 'prompt' | 'release') => void = () => undefined;
  private writes = 0;
  private releasing = false;

  private guarded(guard?: MessageGuard): void {
    if (guard === undefined) return;
    this.guards.push(guard);
    this.beforeGuarded(guard, this.releasing ? 'release' : 'prompt');
  }

  private countWrite(patch: TaskPatch = {}): void {
    this.writes += 1;
    this.patches.push(patch);
    if (this.lostAt(patch)) this.lostAfter = Math.min(this.lostAfter, this.writes - 1);
    if (this.writes > this.lostAfter) throw new LeaseLostError('t1');
    if (this.writes > this.unavailableAfter && this.unavailableWrites > 0) {
      this.unavailableWrites -= 1;
      throw Object.assign(new Error(`database: ${this.unavailableCode}`), {
        code: this.unavailableCode,
      });
    }
  }

  append(...records: NewInteraction[]): Promise<void> {
    this.countWrite();
    this.records.push(...records);
    return Promise.resolve();
  }

  write(records: readonly NewInteraction[], patch: TaskPatch, guard?: MessageGuard): Promise<void> {
    this.guarded(guard);
    this.countWrite(patch);
    this.batches.push([...records]);
    this.records.push(...records);
    Object.assign(this.row, patch);
    return Promise.resolve();
  }

  /** Whether each test run with cases asked to replace its round's stored cases. */
  readonly replacedRounds: boolean[] = [];

  appendTestRun(
    record: NewInteraction,
    cases: readonly NewTestCase[],
    patch: TaskPatch = {},
    { replaceRound = false }: { replaceRound?: boolean } = {},
  ): Promise<void> {
    this.countWrite(patch);
    this.records.push(record);
    if (cases.length > 0) this.replacedRounds.push(replaceRound);
    this.testCases.push(...cases);
    this.testRunPatches.push(patch);
    Object.assign(this.row, patch);
    return Promise.resolve();
  }

  update(patch: TaskPatch): Promise<void> {
    this.countWrite(patch);
    Object.assign(this.row, patch);
    return Promise.resolve();
  }

  changeStatus(
    change: StatusChange,
    patch: TaskPatch = {},
    records: readonly NewInteraction[] = [],
    guard?: MessageGuard,
  ): Promise<void> {
    this.guarded(guard);
    this.countWrite(patch);
    this.changes.push(change);
    this.statusWrites.push({ records: [...records], patch });
    this.records.push(...records, {
      kind: 'status',
      iteration: change.iteration,
      content: change.to,
    });
    Object.assign(this.row, patch, { status: change.to, statusReason: change.reason });
    return Promise.resolve();
  }

  /** Called after a release is written. */
  onRelease: () => void = () => undefined;

  async release(
    change: StatusChange,
    patch: TaskPatch = {},
    records: readonly NewInteraction[] = [],
    guard?: MessageGuard,
  ): Promise<void> {
    this.releasing = true;
    try {
      await this.changeStatus(change, patch, records, guard);
    } finally {
      this.releasing = false;
    }
    this.onRelease();
  }

  prompts(): string[] {
    return this.records
      .filter((r) => r.kind === 'prompt' || r.kind === 'simulated_human')
      .map((r) => r.content);
  }

  path(): string[] {
    return [TaskStatus.Running, ...this.changes.map((c) => `${c.to}(${c.reason})`)];
  }
}

class FakeClock implements ClockPort {
  readonly delays: number[] = [];
  /** Waits of more than 0 ms never end on their own. */
  hold = false;
  private now = 1_000_000;

  nowMs(): number {
    return (this.now += 10);
  }

  delay(ms: number): Observable<void> {
    if (ms > 0) this.delays.push(ms);
    return this.hold && ms > 0 ? NEVER : of(undefined);
  }
}

function task(over: Partial<Task> = {}): Task {
  return Object.assign(new Task(), {
    id: 't1',
    sessionId: 's1',
    projectPath: '/p',
    description: 'add multiply',
    status: TaskStatus.Running,
    iteration: 0,
    pauseCount: 0,
    maxIterations: 20,
    maxPauses: 5,
    claudeSessionId: null,
    lastAgentMessage: null,
    costUsd: 0,
    inputTokens: 0,
    outputTokens: 0,
    attempt: 1,
    runPhase: null,
    testFiles: null,
    testSnapshot: null,
    emptyTestTurns: 0,
    testChangeRefusals: 0,
    apiErrorStreak: 0,
    conversationCostUsd: 0,
    isolation: 'none',
    baseCommit: null,
    setupCompletedAt: null,
    autoRespond: true,
    humanTimeoutSeconds: null,
    humanWait: null,
    ...over,
  });
}

/**
 * A person's messages: item k is what waits until the k-th agent turn has been started (each look
 * before then finds the same ones, as the real port finds every message after the latest turn
 * prompt).
 */
class FakeMessages implements MessagePort {
  byTurn: HumanMessage[][] = [];
  /** The iterations at which the run ended a wait itself. */
  readonly endedWaits: number[] = [];

  undelivered(): Promise<HumanMessage[]> {
    return Promise.resolve(this.byTurn[0] ?? []);
  }

  /** What waits, read through its newest message (the latest prompt's id is not kept: 0). */
  waiting(): Promise<WaitingMessages> {
    const messages = [...(this.byTurn[0] ?? [])];
    return Promise.resolve({ messages, readThrough: Math.max(0, ...messages.map((m) => m.id)) });
  }

  /** A turn started: what waited was given to it. */
  delivered(): void {
    this.byTurn.shift();
  }

  endWait(iteration: number): Promise<boolean> {
    this.endedWaits.push(iteration);
    return Promise.resolve(true);
  }
}

/** Process groups: those the test says are alive, and those the run ended. */
class FakeProcesses {
  readonly alive = new Set<number>();
  readonly ended: number[] = [];

  isGroupAlive(pgid: number): boolean {
    return this.alive.has(pgid);
  }

  endGroup(pgid: number): Promise<void> {
    this.ended.push(pgid);
    this.alive.delete(pgid);
    return Promise.resolve();
  }

  /** The processes left running in each directory, ended at the next look. */
  readonly escaped = new Map<string, number[]>();
  /** The directories looked at for processes left running, in order. */
  readonly escapeLooks: string[] = [];

  endEscaped(dir: string): Promise<number[]> {
    this.escapeLooks.push(dir);
    const pids = this.escaped.get(dir) ?? [];
    this.escaped.delete(dir);
    return Promise.resolve(pids);
  }
}

interface Harness {
  agent: FakeAgent;
  messages: FakeMessages;
  processes: FakeProcesses;
  tests: FakeTests;
  log: FakeLog;
  workspace: FakeWorkspace;
  verification: FakeVerification;
  clock: FakeClock;
  control: TaskRunControl;
  run: () => Promise<void>;
}

const human = new SimulatedHumanService(loadConfig({}));

function harness(
  script: (TurnEvent[] | Observable<TurnEvent>)[],
  over: {
    task?: Partial<Task>;
    resumed?: boolean;
    regression?: string;
    /** The task works in a worktree (the fake workspace), with this setup command. */
    worktree?: { setup: string | null };
    /** Why the project_path rules refuse the task's directory now. */
    projectRefusal?: string;
    /** What the task's owner key answers each time it is asked (null: it may run). */
    ownerKey?: () => OwnerKeyRefusal | null;
  } = {},
): Harness {
  const agent = new FakeAgent(script);
  const tests = new FakeTests();
  const log = new FakeLog();
  const messages = new FakeMessages();
  agent.onTurn = () => messages.delivered();
  const workspace = new FakeWorkspace(log);
  workspace.turns = () => agent.requests.length;
  const verification = new FakeVerification();
  const clock = new FakeClock();
  const control = new TaskRunControl();
  const ctx: RunContext = {
    task: task(over.task),
    resumed: over.resumed ?? false,
    testCommand: null,
    regressionCommand: over.regression ?? null,
    setupCommand: over.worktree?.setup ?? null,
    settings: { apiErrorRetryDelaySeconds: 10, apiErrorRetryMaxDelaySeconds: 120, killGraceMs: 0 },
  };
  const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };
  const processes = new FakeProcesses();
  const make = (): TaskRun =>
    new TaskRun(
      ctx,
      {
        agent,
        tests,
        human,
        log,
        messages,
        processes,
        clock,
        verification,
        project: { refusal: () => over.projectRefusal ?? null },
        ownerKey: { refusal: () => Promise.resolve(over.ownerKey?.() ?? null) },
        workspace: over.worktree !== undefined ? workspace : null,
      },
      control,
      silent,
    );
  return {
    agent,
    messages,
    processes,
    tests,
    log,
    workspace,
    verification,
    clock,
    control,
    run: async () => {
      await lastValueFrom(make().pipeline(), { defaultValue: undefined });
    },
  };
}

describe('TaskRun', () => {
  it.each([
    ['COMPLETED', [turn(), turn()], TaskStatus.Completed],
    ['FAILED', [turn(), turn(), turn()], TaskStatus.Failed],
  ] as const)(
    "says in the task's history, before it ends %s, which messages no turn took",
    async (_end, turns, status) => {
      const h = harness([...turns]);
      if (status === TaskStatus.Failed) h.tests.found = [[]];
      // Each turn takes what waits for it; one more came after the last turn began.
      h.messages.byTurn = [
        ...turns.map(() => []),
        [{ id: 11, content: 'Also handle negatives.', interrupt: false }],
      ];
      let atRelease: unknown[] = [];
      h.log.onRelease = () => (atRelease = h.log.records.map((r) => r.data?.type));
      await h.run();
      expect(h.log.row.status).toBe(status);
      expect(atRelease).toContain('messages_undelivered');
      expect(h.log.records.find((r) => r.data?.type === 'messages_undelivered')).toMatchObject({
        kind: 'system',
        content: expect.stringContaining('1 message(s) from a person were not given to the agent'),
        data: { human_message_ids: [11] },
      });
    },
  );

  it.each([
    ['COMPLETED', [turn(), turn()], TaskStatus.Completed],
    ['FAILED', [turn(), turn(), turn()], TaskStatus.Failed],
  ] as const)(
    'reads the messages again when one is stored while the task ends %s: its end, written again, lists it',
    async (_end, turns, status) => {
      const h = harness([...turns]);
      if (status === TaskStatus.Failed) h.tests.found = [[]];
      // Each turn takes what waits for it (none); after the last one, what waits for the end.
      h.messages.byTurn = [...turns.map(() => []), []];
      const late = { id: 12, content: 'One more thing.', interrupt: false };
      h.log.beforeGuarded = (guard, write) => {
        const waiting = h.messages.byTurn[0];
        if (write !== 'release' || waiting.includes(late)) return;
        waiting.push(late);
        if (guard.noMessageAfter < late.id) throw new LateMessageError('t1');
      };
      await h.run();
      expect(h.log.row.status).toBe(status);
      expect(h.log.changes.filter((c) => c.to === status)).toHaveLength(1);
      expect(h.log.guards.slice(-2).map((g) => g.noMessageAfter)).toEqual([0, late.id]);
      const notes = h.log.records.filter((r) => r.data?.type === 'messages_undelivered');
      expect(notes).toHaveLength(1);
      expect(notes[0].data).toMatchObject({ human_message_ids: [late.id] });
      // Written with the end, just before its status record.
      expect(h.log.statusWrites.at(-1)!.records).toEqual([notes[0]]);
    },
  );

  it("reads the messages again when one is stored while a turn's prompt is written: that prompt carries it", async () => {
    const h = harness([turn(), turn()]);
    const first = { id: 5, content: 'Keep the old signature.', interrupt: false };
    const late = { id: 9, content: 'And add a docstring.', interrupt: false };
    h.messages.byTurn = [[], [first]];
    h.log.beforeGuarded = (guard) => {
      const waiting = h.messages.byTurn[0] ?? [];
      if (waiting.length !== 1) return;
      waiting.push(late);
      if (guard.noMessageAfter < late.id) throw new LateMessageError('t1');
    };
    await h.run();
    // The turns' prompts, then the task's end (nothing waits: read through nothing, 0 here).
    expect(h.log.guards.map((g) => g.noMessageAfter)).toEqual([0, 5, 9, 0]);
    const second = h.log.records.filter((r) => r.iteration === 2 && r.kind === 'simulated_human');
    expect(second).toHaveLength(1);
    expect(second[0].data).toMatchObject({ human_message_ids: [5, 9] });
    expect(h.agent.requests[1].prompt).toContain('Keep the old signature.');
    expect(h.agent.requests[1].prompt).toContain('And add a docstring.');
    expect(h.log.row.status).toBe(TaskStatus.Completed);
    expect(h.log.records.some((r) => r.data?.type === 'messages_undelivered')).toBe(false);
  });

  describe('a message sent with interrupt', () => {
    const stop = { id: 7, content: 'Stop: use the helper.', interrupt: true };
    const init: TurnEvent = {
      type: 'init',
      sessionId: null,
      model: 'm',
      tools: [],
      cliVersion: '2.1.197',
      permissionMode: 'acceptEdits',
      cwd: '/p',
    };
    const interrupted = outcome({ kind: 'execution_error', text: '[Request interrupted by user]' });
    const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const until = async (what: () => boolean): Promise<void> => {
      while (!what()) await settle();
    };
    const prompts = (h: Harness): unknown[][] =>
      h.log.records
        .filter((r) => r.kind === 'simulated_human')
        .map((r) => [r.iteration, r.data?.reason, r.data?.human_message_ids]);

    it('ends the turn under way (its group), and the next turn carries it on in the conversation, not as a pause', async () => {
      const first = new Subject<TurnEvent>();
      const h = harness([first, turn(), turn()]);
      h.messages.byTurn = [[], [stop]];
      const done = h.run();
      await until(() => first.observed);
      h.processes.alive.add(41);
      first.next({ type: 'spawned', pid: 41 });
      first.next(init);
      h.control.interrupt();
      await until(() => h.processes.ended.length > 0);
      h.control.interrupt();
      first.next({ type: 'turn_end', outcome: interrupted });
      first.complete();
      await done;
      expect(h.processes.ended).toEqual([41]);
      expect(prompts(h)[0]).toEqual([2, 'person_interrupted', [7]]);
      const firstTurn = h.log.records.filter((r) => r.iteration === 1);
      expect(firstTurn.filter((r) => r.kind === 'error')).toEqual([]);
      expect(firstTurn.filter((r) => r.data?.type === 'turn_interrupted')).toHaveLength(1);
      expect(h.agent.requests[1]).toMatchObject({ resume: true });
      expect(h.agent.requests[1].prompt).toContain('Stop: use the helper.');
      expect(
        h.log.records.find((r) => r.data?.reason === 'person_interrupted')?.data,
      ).toMatchObject({ intervention: false });
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    it('a turn cut before the CLI started its conversation starts a new one with the message and the task: a turn, not a pause', async () => {
      const first = new Subject<TurnEvent>();
      const h = harness([first, turn(), turn()], { task: { maxPauses: 0 } });
      h.messages.byTurn = [[], [stop]];
      const done = h.run();
      await until(() => first.observed);
      h.processes.alive.add(41);
      first.next({ type: 'spawned', pid: 41 });
      h.control.interrupt();
      await until(() => h.processes.ended.length > 0);
      first.next({ type: 'turn_end', outcome: outcome({ kind: 'crash', text: null }) });
      first.complete();
      await done;
      expect(prompts(h)[0]).toEqual([2, 'person_interrupted', [7]]);
      const second = h.agent.requests[1];
      expect(second.resume).toBe(false);
      expect(second.conversationId).not.toBe(h.agent.requests[0].conversationId);
      expect(second.prompt).toContain('Stop: use the helper.');
      expect(second.prompt).toContain('Your task:\n\nadd multiply');
      expect(second.prompt).not.toContain('An earlier attempt');
      expect(h.log.path()).not.toContain('PAUSED(agent_error)');
      expect(h.log.row.pauseCount ?? 0).toBe(0);
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    it('ends no turn that started after it: the next turn took it while the messages were read', async () => {
      const first = new Subject<TurnEvent>();
      const second = new Subject<TurnEvent>();
      const h = harness([first, second, turn(), turn()]);
      h.messages.byTurn = [[], [stop]];
      let release!: () => void;
      const slow = new Promise<void>((resolve) => (release = resolve));
      const read = h.messages.undelivered.bind(h.messages);
      h.messages.undelivered = async () => {
        const answer = await read();
        if (h.agent.requests.length === 1 && first.observed) await slow;
        return answer;
      };
      const done = h.run();
      await until(() => first.observed);
      h.processes.alive.add(41);
      first.next({ type: 'spawned', pid: 41 });
      first.next(init);
      h.control.interrupt();
      await settle();
      // Turn 1 ends on its own meanwhile (a question); turn 2 starts with the message.
      h.messages.undelivered = read;
      h.processes.alive.delete(41);
      first.next({ type: 'turn_end', outcome: outcome({ text: 'Which helper?' }) });
      first.complete();
      await until(() => second.observed);
      h.processes.alive.add(42);
      second.next({ type: 'spawned', pid: 42 });
      second.next(init);
      release();
      await settle();
      h.processes.alive.delete(42);
      second.next({ type: 'turn_end', outcome: outcome() });
      second.complete();
      await done;
      expect(h.processes.ended).toEqual([]);
      // The message answers the question (no simulated answer), and turn 3 is asked for tests.
      const secondPrompt = h.log.records.find((r) => r.iteration === 2 && r.kind === 'prompt');
      expect(secondPrompt?.data).toMatchObject({ human_message_ids: [7] });
      expect(prompts(h)[0]).toEqual([3, 'write_tests', undefined]);
    });

    it('ends the wait after an API error: the next turn starts at once, with the message', async () => {
      const h = harness([
        turn({ kind: 'api_error', apiError: 'overloaded', text: 'API Error: 529 Overloaded' }),
        turn(),
        turn(),
      ]);
      h.clock.hold = true;
      const done = h.run();
      await until(() => h.clock.delays.length === 1);
      // Nothing waits with interrupt yet: the wait goes on.
      h.control.interrupt();
      await settle();
      expect(h.agent.requests).toHaveLength(1);
      h.messages.byTurn = [[stop]];
      h.control.interrupt();
      await done;
      expect(h.clock.delays).toEqual([10_000]);
      expect(h.processes.ended).toEqual([]);
      expect(h.agent.requests[1].prompt).toContain('Stop: use the helper.');
      const second = h.log.records.find((r) => r.iteration === 2 && r.kind === 'simulated_human');
      expect(second?.data).toMatchObject({ human_message_ids: [7], wait_cut_short: true });
      expect(second?.data?.waited_ms).toBeLessThan(10_000);
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    it('ends nothing while no agent turn runs, and a test round that passes does not complete before the agent heard it', async () => {
      const h = harness([turn(), turn(), turn(), turn()]);
      // It came while the tests ran: the round passes, the agent is told before anything completes.
      h.messages.byTurn = [[], [], [stop]];
      h.tests.onRun = () => h.control.interrupt();
      await h.run();
      expect(h.processes.ended).toEqual([]);
      expect(prompts(h)).toContainEqual([3, 'person_interrupted', [7]]);
      expect(h.tests.generatedRuns.length).toBe(2);
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    it('a test round that passes with no turn left completes the task: the message is listed undelivered', async () => {
      const h = harness([turn(), turn()], { task: { maxIterations: 2 } });
      h.messages.byTurn = [[], [], [stop]];
      h.tests.onRun = () => h.control.interrupt();
      await h.run();
      expect(h.agent.requests).toHaveLength(2);
      expect(h.log.path()).toEqual([
        'RUNNING',
        'TESTING(tests_requested)',
        'COMPLETED(verified_without_base)',
      ]);
      expect(h.log.records.find((r) => r.data?.type === 'messages_undelivered')?.data).toEqual(
        expect.objectContaining({ human_message_ids: [7] }),
      );
    });

    it('interrupting the last allowed turn ends the task FAILED max_iterations_reached, saying the interrupt took that turn', async () => {
      const last = new Subject<TurnEvent>();
      const h = harness([last], { task: { maxIterations: 1 } });
      h.messages.byTurn = [[], [stop]];
      const done = h.run();
      await until(() => last.observed);
      h.processes.alive.add(41);
      last.next({ type: 'spawned', pid: 41 });
      last.next(init);
      h.control.interrupt();
      await until(() => h.processes.ended.length > 0);
      last.next({ type: 'turn_end', outcome: interrupted });
      last.complete();
      await done;
      expect(h.log.path().at(-1)).toBe('FAILED(max_iterations_reached)');
      expect(h.log.row.errorMessage).toBe(
        "Reached the limit of 1 agent turns and the last one was interrupted for a person's message: no turn is left to give it to the agent.",
      );
      expect(h.log.records.find((r) => r.data?.type === 'messages_undelivered')?.data).toEqual(
        expect.objectContaining({ human_message_ids: [7] }),
      );
    });
  });

  it('says nothing of messages when every one was given to a turn', async () => {
    const h = harness([turn(), turn()]);
    h.messages.byTurn = [[{ id: 3, content: 'Go on.', interrupt: false }]];
    await h.run();
    expect(h.log.records.some((r) => r.data?.type === 'messages_undelivered')).toBe(false);
  });

  it("gives the next turn a person's messages, in order, ahead of the simulated human", async () => {
    const h = harness([
      turn({ text: 'I changed half of it.' }),
      turn(),
      turn({ text: 'Wrote test/a.test.js.\nDONE' }),
    ]);
    h.messages.byTurn = [
      [],
      [
        { id: 7, content: 'Keep the old signature.', interrupt: false },
        { id: 9, content: 'And add a docstring.', interrupt: false },
      ],
    ];
    await h.run();
    const second = h.agent.requests[1].prompt;
    expect(second.indexOf('Keep the old signature.')).toBeGreaterThanOrEqual(0);
    expect(second.indexOf('Keep the old signature.')).toBeLessThan(
      second.indexOf('And add a docstring.'),
    );
    const prompts = h.log.records.filter(
      (r) => r.kind === 'simulated_human' || r.kind === 'prompt',
    );
    expect(prompts[1]).toMatchObject({ content: second, data: { human_message_ids: [7, 9] } });
    expect(prompts[0].data).not.toHaveProperty('human_message_ids');
    expect(h.agent.requests[0].prompt).not.toContain('A person following this task');
  });

  it('works, asks for tests, runs them and completes: the happy path', async () => {
    const h = harness([turn(), turn({ text: 'Wrote test/a.test.js.\nDONE' })], {
      regression: 'npm test',
    });
    let storedAtRound: Record<string, unknown> = {};
    h.tests.onRun = () => (storedAtRound = { ...h.log.row });
    const storedAtTurn: Record<string, unknown>[] = [];
    h.agent.onTurn = () => storedAtTurn.push({ ...h.log.row });
    await h.run();
    // The snapshot is stored before the first turn runs, in one write with its prompt, and in no
    // other; the write-tests turn's prompt goes with the move to TESTING.
    expect(storedAtTurn[0].testSnapshot).toBe(JSON.stringify(SNAPSHOT));
    expect(storedAtTurn[1]).toMatchObject({ testFiles: [], status: TaskStatus.Testing });
    expect(h.log.patches.filter((patch) => 'testSnapshot' in patch)).toHaveLength(1);
    const toTesting = h.log.statusWrites[0];
    expect(toTesting.records.map((r) => r.kind)).toEqual(['simulated_human']);
    expect(toTesting.patch).not.toHaveProperty('testSnapshot');
    expect(h.log.changes[0].to).toBe(TaskStatus.Testing);
    // What a resume needs is stored before the round runs.
    expect(storedAtRound).toMatchObject({
      runPhase: 'running_tests',
      testFiles: ['test/a.test.js'],
      phase: 'running_tests',
    });
    expect(h.log.path()).toEqual([
      'RUNNING',
      'TESTING(tests_requested)',
      'COMPLETED(verified_without_base)',
    ]);
    expect(h.tests.snapshots).toBe(1);
    expect(h.tests.generatedRuns).toEqual([['test/a.test.js']]);
    expect(h.log.row).toMatchObject({
      testsPassed: 3,
      testsFailed: 0,
      testsTotal: 3,
      costUsd: 0.02,
      testFiles: ['test/a.test.js'],
    });
    expect(h.log.testCases).toHaveLength(3);
    // Each test run's process group is forgotten in the write of the run's record.
    const testRuns = h.log.records.filter((r) => r.kind === 'test');
    expect(testRuns.length).toBeGreaterThan(1);
    expect(h.log.testRunPatches).toEqual(testRuns.map(() => ({ processGroupId: null })));
    expect(h.agent.requests.map((r) => r.resume)).toEqual([false, true]);
    expect(h.log.row.resultSummary).toContain('generated tests passed: 2 case(s)');
    // The regression run is one stored case; its output counts no tests here.
    expect(h.log.row.resultSummary).toContain(
      'regression tests passed: the command passed (`npm test`',
    );
  });

  it('"not DONE yet" gets a continuation, never the tests', async () => {
    const h = harness([turn({ text: 'The change is not DONE yet.' }), turn(), turn()]);
    await h.run();
    expect(h.log.path().slice(0, 3)).toEqual([
      'RUNNING',
      'PAUSED(needs_input)',
      'RUNNING(agent_turn)',
    ]);
    expect(h.log.prompts()[1]).toContain('did not end with DONE');
    expect(h.log.row.status).toBe(TaskStatus.Completed);
  });

  it('a reply that neither says DONE nor asks is continued', async () => {
    const h = harness([turn({ text: 'The tool failed, I could not finish.' }), turn(), turn()]);
    await h.run();
    expect(h.log.prompts()[1]).toContain('did not end with DONE');
    expect(h.tests.snapshots).toBe(1);
  });

  it('a test-writing turn without a test file is told so; the second in a row fails the task', async () => {
    const h = harness([turn(), turn(), turn()]);
    h.tests.found = [[]];
    await h.run();
    expect(h.log.prompts()[2]).toContain('left no test file');
    expect(h.log.row).toMatchObject({
      status: TaskStatus.Failed,
      statusReason: 'no_tests_written',
    });
    expect(h.tests.generatedRuns).toEqual([]);
    expect(h.log.testCases).toEqual([]);
    expect(h.agent.requests).toHaveLength(3);
  });

  it('tests the agent wrote while working count: a test-writing turn that adds none runs them', async () => {
    const h = harness([turn(), turn({ text: 'The tests were already written.\nDONE' })]);
    const snapshotsAtTurn: number[] = [];
    h.agent.onTurn = () => snapshotsAtTurn.push(h.tests.snapshots);
    h.tests.found = [['test/early.test.js']];
    await h.run();
    // One snapshot, taken before the agent's first turn: the files found are compared with it.
    expect(snapshotsAtTurn).toEqual([1, 1]);
    expect(h.tests.generatedRuns).toEqual([['test/early.test.js']]);
    expect(h.log.row.status).toBe(TaskStatus.Completed);
  });

  it('a new conversation and a second request for tests keep the first snapshot', async () => {
    const lost = turn({
      kind: 'execution_error',
      text: 'No conversation found with session ID: 3f1c2a9e',
    });
    const h = harness([turn(), lost, turn(), turn()]);
    await h.run();
    expect(h.log.prompts().filter((p) => p.includes('Now write automated tests'))).toHaveLength(2);
    expect(h.tests.snapshots).toBe(1);
    expect(h.log.patches.filter((patch) => 'testSnapshot' in patch)).toHaveLength(1);
    expect(h.log.row.status).toBe(TaskStatus.Completed);
  });

  it('resumed in its work without a stored snapshot (an older row), takes one then', async () => {
    const h = harness([turn(), turn()], {
      resumed: true,
      task: {
        claudeSessionId: '3f1c2a9e-0000-4000-8000-000000000001',
        iteration: 1,
        runPhase: 'work',
      },
    });
    await h.run();
    expect(h.tests.snapshots).toBe(1);
    expect(h.log.patches[0]).toHaveProperty('testSnapshot', JSON.stringify(SNAPSHOT));
    expect(h.log.row.status).toBe(TaskStatus.Completed);
  });

  it('a test file written on the second request goes on to the test round', async () => {
    const h = harness([turn(), turn(), turn()]);
    h.tests.found = [[], ['test/late.test.js']];
    await h.run();
    expect(h.tests.generatedRuns).toEqual([['test/late.test.js']]);
    expect(h.log.row.status).toBe(TaskStatus.Completed);
  });

  it('failing tests go back to the agent, which fixes them (test feedback is no intervention)', async () => {
    const h = harness([turn(), turn(), turn({ text: 'Fixed it.\nDONE' })]);
    h.tests.rounds = [false, true];
    await h.run();
    expect(h.log.path()).toEqual([
      'RUNNING',
      'TESTING(tests_requested)',
      'RUNNING(tests_failed)',
      'TESTING(tests_running)',
      'COMPLETED(verified_without_base)',
    ]);
    expect(h.log.prompts()[2]).toContain('AssertionError: 3 !== 4');
    expect(h.log.row.pauseCount).toBeUndefined();
  });

  it('waits after API errors, doubling, and ends api_unavailable when only the API failed', async () => {
    const overloaded = (): TurnEvent[] =>
      turn({ kind: 'api_error', apiError: 'overloaded', text: 'API Error: 529 Overloaded' });
    const h = harness(Array.from({ length: 10 }, overloaded), { task: { maxPauses: 3 } });
    await h.run();
    expect(h.clock.delays).toEqual([10_000, 20_000, 40_000]);
    expect(h.log.row).toMatchObject({ status: TaskStatus.Failed, statusReason: 'api_unavailable' });
    expect(String(h.log.row.errorMessage)).toContain('529 Overloaded');
    expect(h.agent.requests).toHaveLength(4);
  });

  it("stores an API error's text once (as the error), not also as agent text and result", async () => {
    const h = harness([
      turn({ kind: 'api_error', apiError: 'overloaded', text: 'API Error: 529 Overloaded' }),
      turn(),
      turn(),
    ]);
    await h.run();
    const fromTheTurn = h.log.records.filter(
      (r) => r.iteration === 1 && r.content.includes('API Error: 529 Overloaded'),
    );
    expect(fromTheTurn.map((r) => r.kind)).toEqual(['error']);
    expect(h.log.records.filter((r) => r.iteration === 1 && r.kind === 'result')).toEqual([
      expect.objectContaining({ content: 'API error (overloaded)' }),
    ]);
  });

  it('fails cli_not_logged_in at once, telling the operator what to do', async () => {
    const h = harness([
      turn({
        kind: 'api_error',
        apiError: 'not_logged_in',
        text: 'Not logged in · Please run /login',
      }),
    ]);
    await h.run();
    expect(h.log.row).toMatchObject({
      status: TaskStatus.Failed,
      statusReason: 'cli_not_logged_in',
    });
    expect(String(h.log.row.errorMessage)).toMatch(/ANTHROPIC_API_KEY/);
    expect(h.agent.requests).toHaveLength(1);
  });

  it('resumed in the middle of a test round, runs the round again without asking for tests', async () => {
    const h = harness([], {
      resumed: true,
      task: {
        claudeSessionId: '3f1c2a9e-0000-4000-8000-000000000001',
        iteration: 2,
        runPhase: 'running_tests',
        testFiles: ['test/a.test.js'],
        testSnapshot: JSON.stringify(SNAPSHOT),
      },
    });
    await h.run();
    expect(h.agent.requests).toEqual([]);
    expect(h.tests.snapshots).toBe(0);
    expect(h.tests.generatedRuns).toEqual([['test/a.test.js']]);
    expect(h.log.row.status).toBe(TaskStatus.Completed);
    // Its cases replace those the cut-off round stored; a fresh run's rounds replace nothing.
    expect(h.log.replacedRounds).toEqual([true]);
    const fresh = harness([turn(), turn()]);
    await fresh.run();
    expect(fresh.log.replacedRounds).toEqual([false]);
  });

  it('resumed while writing tests, continues that (the prompt speaks of the tests)', async () => {
    const h = harness([turn()], {
      resumed: true,
      task: {
        claudeSessionId: '3f1c2a9e-0000-4000-8000-000000000001',
        iteration: 2,
        runPhase: 'writing_tests',
        testSnapshot: JSON.stringify(SNAPSHOT),
      },
    });
    await h.run();
    expect(h.log.prompts()).toHaveLength(1);
    expect(h.log.prompts()[0]).toContain('writing the automated tests');
    expect(h.tests.snapshots).toBe(0);
    expect(h.log.row.status).toBe(TaskStatus.Completed);
  });

  it('resumed after API errors, keeps the backoff and the conversation cost', async () => {
    const h = harness(
      [turn({ kind: 'api_error', apiError: 'overloaded', text: 'API Error: 529' }), turn(), turn()],
      {
        resumed: true,
        task: {
          claudeSessionId: '3f1c2a9e-0000-4000-8000-000000000001',
          iteration: 3,
          apiErrorStreak: 2,
          costUsd: 0.7,
          conversationCostUsd: 0.5,
        },
      },
    );
    await h.run();
    expect(h.agent.requests[0].priorConversationCostUsd).toBe(0.5);
    expect(h.clock.delays[0]).toBe(40_000);
    expect(h.log.row.apiErrorStreak).toBe(0);
  });

  it('stops a task FAILED budget_exceeded after the turn whose cost reached max_cost_usd', async () => {
    const costly = (): TurnEvent[] =>
      turn({ text: 'Still working on it.', turnCostUsd: 0.4, conversationCostUsd: 0.4 });
    const h = harness([costly(), costly(), costly(), costly(), costly()], {
      task: { maxCostUsd: 1 },
    });
    await h.run();
    expect(h.agent.requests).toHaveLength(3);
    expect(h.log.row).toMatchObject({ status: TaskStatus.Failed, statusReason: 'budget_exceeded' });
    expect(h.log.row.costUsd).toBeCloseTo(1.2);
    expect(String(h.log.row.errorMessage)).toMatch(/\$1\.2000.*budget of \$1 \(max_cost_usd\)/);
    expect(h.log.prompts()).toHaveLength(3);
  });

  it('a task under its budget runs to its end', async () => {
    const h = harness([turn(), turn({ text: 'Wrote test/a.test.js.\nDONE' })], {
      task: { maxCostUsd: 1 },
    });
    await h.run();
    expect(h.log.row).toMatchObject({ status: TaskStatus.Completed, costUsd: 0.02 });
  });

  it('a resumed task that already reached its budget fails before another turn', async () => {
    const h = harness([turn()], {
      resumed: true,
      task: {
        claudeSessionId: '3f1c2a9e-0000-4000-8000-000000000001',
        iteration: 4,
        costUsd: 2.5,
        maxCostUsd: 2.5,
      },
    });
    await h.run();
    expect(h.agent.requests).toEqual([]);
    expect(h.log.row).toMatchObject({ status: TaskStatus.Failed, statusReason: 'budget_exceeded' });
  });

  /** A turn that spawns, then hangs; `started` emits once it runs. */
  const hangingTurn = (started: Subject<void>): Observable<TurnEvent> =>
    concat(
      of<TurnEvent[]>({ type: 'spawned', pid: 99 }),
      new Observable<TurnEvent>(() => started.next()),
      NEVER,
    );

  it('a cancel during a turn ends the task CANCELLED, saying the turn was stopped', async () => {
    const started = new Subject<void>();
    const h = harness([hangingTurn(started)]);
    started.subscribe(() => h.control.stop('cancel'));
    await h.run();
    expect(h.log.row).toMatchObject({ status: TaskStatus.Cancelled, statusReason: 'cancelled' });
    expect(h.log.records.some((r) => r.data?.type === 'interrupted')).toBe(true);
  });

  describe('the owner key (revoked or expired: nothing more of the task runs)', () => {
    const keyRecords = (h: Harness) =>
      h.log.records.filter((r) => r.data?.type === 'owner_key_refused').map((r) => r.data);

    it.each([
      ['revoked', 'owner_key_revoked'],
      ['expired', 'owner_key_expired'],
    ] as const)(
      'a key %s when the task is claimed: CANCELLED %s, nothing started, no workspace made',
      async (refusal, reason) => {
        const h = harness([turn(), turn()], {
          worktree: { setup: 'npm ci' },
          regression: 'npm test',
          ownerKey: () => refusal,
        });
        await h.run();
        expect(h.log.row).toMatchObject({
          status: TaskStatus.Cancelled,
          statusReason: reason,
          errorMessage: `The API key that owns this task was ${refusal}: the task was not started.`,
        });
        expect(h.log.path()).toEqual([TaskStatus.Running, `CANCELLED(${reason})`]);
        expect(keyRecords(h)).toEqual([{ type: 'owner_key_refused', refusal, moment: 'start' }]);
        expect(h.agent.requests).toEqual([]);
        expect(h.workspace.prepared).toBe(0);
        expect(h.workspace.setups).toEqual([]);
        expect(h.tests.dirs).toEqual([]);
      },
    );

    it('a key revoked after the first agent turn: no further turn starts', async () => {
      const h = harness([turn({ text: 'Still working.' }), turn(), turn()], {
        ownerKey: () => (h.agent.requests.length >= 1 ? 'revoked' : null),
      });
      await h.run();
      expect(h.agent.requests).toHaveLength(1);
      expect(h.log.row).toMatchObject({
        status: TaskStatus.Cancelled,
        statusReason: 'owner_key_revoked',
        errorMessage: expect.stringContaining('stopped before its next step'),
      });
      expect(keyRecords(h)).toEqual([
        { type: 'owner_key_refused', refusal: 'revoked', moment: 'step' },
      ]);
    });

    it('a key that expires before the test round: the tests never run', async () => {
      // Turn 1 is done, turn 2 writes the tests; the round would come next.
      const h = harness([turn(), turn()], {
        ownerKey: () => (h.agent.requests.length >= 2 ? 'expired' : null),
      });
      await h.run();
      expect(h.agent.requests).toHaveLength(2);
      expect(h.tests.generatedRuns).toEqual([]);
      expect(h.log.row).toMatchObject({
        status: TaskStatus.Cancelled,
        statusReason: 'owner_key_expired',
      });
    });

    it('a key revoked before the setup command: it never runs', async () => {
      let asked = 0;
      const h = harness([turn(), turn()], {
        worktree: { setup: 'npm ci' },
        ownerKey: () => (++asked > 1 ? 'revoked' : null),
      });
      await h.run();
      expect(h.workspace.prepared).toBe(1);
      expect(h.workspace.setups).toEqual([]);
      expect(h.agent.requests).toEqual([]);
      expect(h.log.row).toMatchObject({ statusReason: 'owner_key_revoked' });
    });

    it("a cancel that stops a running turn while its key is revoked (the key's revocation) ends it owner_key_revoked", async () => {
      const started = new Subject<void>();
      let revoked = false;
      const h = harness([hangingTurn(started)], { ownerKey: () => (revoked ? 'revoked' : null) });
      started.subscribe(() => {
        revoked = true;
        h.control.stop('cancel');
      });
      await h.run();
      expect(h.log.row).toMatchObject({
        status: TaskStatus.Cancelled,
        statusReason: 'owner_key_revoked',
        errorMessage: expect.stringContaining('was revoked: the task was stopped at once'),
      });
      expect(h.log.records.find((r) => r.data?.type === 'interrupted')?.content).toContain(
        'the API key that owns the task was revoked',
      );
      expect(keyRecords(h)).toEqual([
        { type: 'owner_key_refused', refusal: 'revoked', moment: 'stopped' },
      ]);
    });

    it('a key that still may run the task (or none owns it) changes nothing', async () => {
      const h = harness([turn(), turn()], { ownerKey: () => null });
      await h.run();
      expect(h.log.row).toMatchObject({ status: TaskStatus.Completed });
      expect(keyRecords(h)).toEqual([]);
    });
  });

  it('a shutdown puts the task back in the queue with its checkpoint', async () => {
    const started = new Subject<void>();
    const h = harness([turn(), hangingTurn(started)]);
    started.subscribe(() => h.control.stop('shutdown'));
    await h.run();
    expect(h.log.row).toMatchObject({
      status: TaskStatus.Pending,
      statusReason: 'shutdown',
      phase: 'queued',
      runPhase: 'writing_tests',
      costUsd: 0.01,
    });
  });

  it("stores a burst of the agent's events in one write, in order, before the turn's result", async () => {
    const [spawned, init, text, end] = turn();
    const burst: TurnEvent[] = [
      spawned,
      init,
      { type: 'tool_use', id: 'u1', name: 'Write', input: { file_path: 'a.js' }, messageId: 'm1' },
      { type: 'tool_result', toolUseId: 'u1', content: 'ok', isError: false },
      text,
      end,
    ];
    const h = harness([burst, turn()], { task: { maxIterations: 2 } });
    await h.run();
    // The first write holds the prompt (with the task's move to the turn), the next the burst.
    expect(h.log.batches.map((batch) => batch.map((r) => r.kind)).slice(0, 2)).toEqual([
      ['prompt'],
      ['system', 'tool_use', 'tool_result', 'assistant'],
    ]);
    const firstTurn = h.log.records.filter((r) => r.iteration === 1).map((r) => r.kind);
    expect(firstTurn.slice(firstTurn.indexOf('system'))).toEqual([
      'system',
      'tool_use',
      'tool_result',
      'assistant',
      'result',
    ]);
    expect(h.log.row.lastAgentMessage).toBeDefined();
  });

  it('a lost lease stops the run without writing anything more', async () => {
    const h = harness([turn(), turn()]);
    h.log.lostAfter = 3;
    await h.run();
    expect(h.log.row.status).toBeUndefined();
    expect(h.log.records.filter((r) => r.kind === 'error')).toEqual([]);
  });

  /** A run whose writes after the third fail, `failedWrites` of them, as a database away would. */
  const runWithDatabaseAway = async (failedWrites: number, code = 'ECONNREFUSED') => {
    const h = harness([turn(), turn()]);
    h.log.unavailableAfter = 3;
    h.log.unavailableWrites = failedWrites;
    h.log.unavailableCode = code;
    await h.run();
    return h;
  };

  it('a database that stays unavailable stops the run, which puts the task back in the queue once the database takes writes again', async () => {
    const h = await runWithDatabaseAway(1);
    expect(h.log.path().slice(-1)).toEqual([`${TaskStatus.Pending}(database_unavailable)`]);
    expect(h.log.row).toMatchObject({ status: TaskStatus.Pending, phase: 'queued' });
    // No checkpoint with it: what is in memory may be ahead of what the failed write stored.
    expect(h.log.patches[h.log.patches.length - 1]).toEqual({ phase: 'queued' });
    expect(h.log.records.filter((r) => r.kind === 'error')).toEqual([]);
  });

  it('a full database stops the run without a quick re-queue: the lease sweep takes the task back', async () => {
    const h = await runWithDatabaseAway(1, 'SQLITE_FULL');
    expect(h.log.patches.some((patch) => patch.phase === 'queued')).toBe(false);
    expect(h.log.row.status).toBeUndefined();
    expect(h.log.records.filter((r) => r.kind === 'error')).toEqual([]);
  });

  it('a database still unavailable for the re-queue leaves the task to the lease sweep, unchanged', async () => {
    const h = await runWithDatabaseAway(2);
    // The re-queue was tried, and failed as well.
    expect(h.log.patches[h.log.patches.length - 1]).toMatchObject({ phase: 'queued' });
    expect(h.log.row.status).toBeUndefined();
    expect(h.log.records.filter((r) => r.kind === 'error')).toEqual([]);
  });

  it('a project directory the project_path rules refuse now fails the task project_path_refused before anything runs', async () => {
    const h = harness([turn()], {
      worktree: { setup: 'npm ci' },
      regression: 'npm test',
      projectRefusal: "The session's project_path is a bare git repository",
    });
    await h.run();
    expect(h.log.row).toMatchObject({
      status: TaskStatus.Failed,
      statusReason: 'project_path_refused',
      errorMessage: "The session's project_path is a bare git repository. The task was not run.",
    });
    expect(h.agent.requests).toEqual([]);
    expect(h.workspace.prepared).toBe(0);
    expect(h.workspace.setups).toEqual([]);
    expect(h.tests.dirs).toEqual([]);
  });

  it('a project directory that is gone fails the task project_unavailable', async () => {
    const h = harness([throwError(() => new WorkingDirectoryGoneError('directory /p is gone'))]);
    await h.run();
    expect(h.log.row).toMatchObject({
      status: TaskStatus.Failed,
      statusReason: 'project_unavailable',
      errorMessage: 'directory /p is gone',
    });
  });

  it('counts only the stored test cases: a round that failed without cases adds no test', async () => {
    const h = harness([turn(), turn(), turn()], { task: { maxIterations: 3 } });
    h.tests.runGenerated = (_p: string, files: readonly string[]) => {
      h.tests.generatedRuns.push(files);
      const event: TestRunEvent = {
        type: 'report',
        report: { ...report('generated', false, 0), timedOut: true },
      };
      return of(event);
    };
    await h.run();
    expect(h.log.row).toMatchObject({
      status: TaskStatus.Failed,
      statusReason: 'max_iterations_reached',
      testsPassed: 0,
      testsFailed: 0,
      testsTotal: 0,
    });
    expect(h.log.testCases).toEqual([]);
  });

  describe('in a workspace (isolation worktree)', () => {
    const worktree = { task: { isolation: 'worktree' as const, baseCommit: 'b0' } };

    it('prepares the workspace first; the agent, the tests and the regression suite run in it', async () => {
      const h = harness([turn(), turn()], {
        ...worktree,
        regression: 'npm test',
        worktree: { setup: null },
      });
      await h.run();
      expect(h.workspace.prepared).toBe(1);
      expect(h.agent.requests.map((r) => r.cwd)).toEqual(['/ws/t1/app', '/ws/t1/app']);
      // Every turn's agent gets the workspace's guard of the repository's refs.
      expect(h.agent.requests.map((r) => r.env)).toEqual([
        h.workspace.info.agentEnv,
        h.workspace.info.agentEnv,
      ]);
      expect(h.log.prompts()[0]).toContain('/ws/t1/app');
      expect(new Set(h.tests.dirs)).toEqual(new Set(['/ws/t1/app']));
      expect(h.log.row).toMatchObject({
        workspacePath: '/ws/t1',
        branch: 'cta/t1-add-multiply',
        gitConfigFingerprint: h.workspace.taken,
      });
      expect(h.log.records[0]).toMatchObject({
        kind: 'system',
        data: expect.objectContaining({ type: 'workspace_created', branch: 'cta/t1-add-multiply' }),
      });
      // The record and the row's workspace columns: one write.
      expect(h.log.batches[0].map((r) => r.kind)).toEqual(['system']);
      expect(h.workspace.setups).toEqual([]);
    });

    it('commits the change before it goes COMPLETED, and records head_commit', async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      await h.run();
      expect(h.log.path()).toEqual([
        'RUNNING',
        'TESTING(tests_requested)',
        'COMPLETED(verified_without_regression)',
      ]);
      expect(h.workspace.commits).toHaveLength(1);
      expect(h.workspace.commits[0]).toMatch(/^add multiply\n\nTask t1: COMPLETED/);
      // Committed while the task was still TESTING: the commit is part of completing it.
      expect(h.workspace.commitsAt).toEqual([1]);
      expect(h.log.row).toMatchObject({ status: TaskStatus.Completed, headCommit: 'c1' });
    });

    it('a cancel while the change is being committed ends the task CANCELLED: the cut-off step does not complete it, and its work is kept after that commit', async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      let completingCommitDone = false;
      const keptAfterIt: boolean[] = [];
      h.workspace.onCommit = () => {
        h.workspace.onCommit = () => {
          keptAfterIt.push(completingCommitDone);
          return Promise.resolve();
        };
        h.control.stop('cancel');
        // The completing commit takes its time: the cancel is acted on meanwhile.
        return new Promise<void>((resolve) =>
          setTimeout(() => {
            completingCommitDone = true;
            resolve();
          }, 20),
        );
      };
      await h.run();
      await new Promise((resolve) => setImmediate(resolve));
      expect(h.log.path()).toEqual(['RUNNING', 'TESTING(tests_requested)', 'CANCELLED(cancelled)']);
      expect(h.workspace.commits).toHaveLength(2);
      expect(h.workspace.commits[1]).toMatch(/^WIP: add multiply/);
      // The commit keeping the work waited for the completing one (one index, one branch).
      expect(keptAfterIt).toEqual([true]);
      expect(h.log.row).toMatchObject({ status: TaskStatus.Cancelled, headCommit: 'c2' });
    });

    it('a cancel while the workspace is being prepared records it on the task before CANCELLED, so deleting or the sweep removes it', async () => {
      const h = harness([turn()], { ...worktree, worktree: { setup: null } });
      h.workspace.onPrepare = () => {
        h.control.stop('cancel');
        // `git worktree add` takes its time: the cancel is acted on meanwhile.
        return new Promise<void>((resolve) => setTimeout(resolve, 20));
      };
      // What the row holds when the run lets the task go: a write after that is fenced off.
      let released: Record<string, unknown> = {};
      h.log.onRelease = () => (released = { ...h.log.row });
      await h.run();
      await new Promise((resolve) => setTimeout(resolve, 40));
      expect(h.agent.requests).toEqual([]);
      expect(released).toMatchObject({
        status: TaskStatus.Cancelled,
        statusReason: 'cancelled',
        workspacePath: '/ws/t1',
        branch: 'cta/t1-add-multiply',
      });
      expect(h.log.path()).toEqual(['RUNNING', 'CANCELLED(cancelled)']);
    });

    it('runs the setup command in a new workspace before the first turn and stores its output', async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: 'npm ci' } });
      let turnsAtSetup = -1;
      h.workspace.setupEvents = () => {
        turnsAtSetup = h.agent.requests.length;
        return of<CommandEvent[]>(
          { type: 'spawned', pid: 555, argv: ['npm', 'ci'] },
          { type: 'finished', result: setupResult() },
        );
      };
      await h.run();
      expect(turnsAtSetup).toBe(0);
      expect(h.workspace.setups).toEqual([{ directory: '/ws/t1/app', command: 'npm ci' }]);
      // The workspace's, then the one in the scratch checkout of the base commit.
      const setup = h.log.records.filter((r) => r.kind === 'setup');
      expect(setup.map((r) => r.data?.stage)).toEqual([undefined, 'generated_at_base']);
      expect(setup[0].content).toContain('$ npm ci');
      expect(setup[0].content).toContain('added 12 packages');
      expect(setup[0].data).toMatchObject({ passed: true, exit_code: 0 });
      expect(h.log.row.setupCompletedAt).toBeInstanceOf(Date);
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    it("takes the fingerprint of the repository's git configuration once the setup command passed, before the first turn, and records it with setup_completed_at", async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: 'npm ci' } });
      await h.run();
      expect(h.workspace.fingerprintsAt).toEqual([{ setups: 1, turns: 0 }]);
      const prepared = h.log.patches.find((p) => 'workspacePath' in p);
      expect(prepared?.gitConfigFingerprint).toBeNull();
      const setUp = h.log.patches.find((p) => p.setupCompletedAt instanceof Date);
      expect(setUp?.gitConfigFingerprint).toEqual(h.workspace.taken);
      expect(h.log.row.gitConfigFingerprint).toEqual(h.workspace.taken);
    });

    it('takes the fingerprint again after the regression baseline, before the first turn, and records it: what the suite wrote is part of the starting point', async () => {
      const h = harness([turn(), turn()], {
        ...worktree,
        worktree: { setup: null },
        regression: 'npm test',
      });
      const regressionRunsAt: number[] = [];
      const take = h.workspace.fingerprint.bind(h.workspace);
      h.workspace.fingerprint = () => {
        regressionRunsAt.push(h.tests.regressionRuns);
        return take();
      };
      await h.run();
      expect(regressionRunsAt).toEqual([0, 1]);
      expect(h.workspace.fingerprintsAt.map((at) => at.turns)).toEqual([0, 0]);
      const recorded = h.log.patches.filter((p) => p.gitConfigFingerprint !== undefined);
      expect(recorded.map((p) => p.gitConfigFingerprint)).toEqual([
        h.workspace.taken,
        h.workspace.taken,
      ]);
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    it('takes no fingerprint when the setup command fails: nothing of the agent ran', async () => {
      const h = harness([turn()], { ...worktree, worktree: { setup: 'npm ci' } });
      h.workspace.setupEvents = () =>
        of<CommandEvent>({ type: 'finished', result: setupResult({ exitCode: 1 }) });
      await h.run();
      expect(h.workspace.fingerprintsAt).toEqual([]);
      expect(h.log.row).toMatchObject({ statusReason: 'setup_failed', gitConfigFingerprint: null });
    });

    it('a failing setup command fails the task setup_failed with its output; the agent never runs', async () => {
      const h = harness([turn()], { ...worktree, worktree: { setup: 'npm ci' } });
      h.workspace.setupEvents = () =>
        of<CommandEvent[]>(
          { type: 'spawned', pid: 555, argv: ['npm', 'ci'] },
          {
            type: 'finished',
            result: setupResult({ exitCode: 1, output: 'npm ERR! missing package-lock.json\n' }),
          },
        );
      await h.run();
      expect(h.agent.requests).toEqual([]);
      expect(h.log.row).toMatchObject({ status: TaskStatus.Failed, statusReason: 'setup_failed' });
      expect(String(h.log.row.errorMessage)).toMatch(/`npm ci` exited with code 1/);
      expect(String(h.log.row.errorMessage)).toContain('missing package-lock.json');
      expect(h.log.records.filter((r) => r.kind === 'setup')[0].data).toMatchObject({
        passed: false,
        exit_code: 1,
      });
      expect(h.log.row.setupCompletedAt).toBeNull();
    });

    it('a setup command that times out fails the task setup_failed', async () => {
      const h = harness([turn()], { ...worktree, worktree: { setup: 'npm ci' } });
      h.workspace.setupEvents = () =>
        of<CommandEvent>({
          type: 'finished',
          result: setupResult({ exitCode: null, timedOut: true, durationMs: 900_000 }),
        });
      await h.run();
      expect(h.log.row).toMatchObject({ status: TaskStatus.Failed, statusReason: 'setup_failed' });
      expect(String(h.log.row.errorMessage)).toMatch(/timed out after 900000 ms/);
    });

    it('a cancel during the setup command stops it and keeps what it changed on the branch', async () => {
      const started = new Subject<void>();
      const h = harness([turn()], { ...worktree, worktree: { setup: 'npm ci' } });
      let stopped = false;
      h.workspace.setupEvents = () =>
        concat(
          of<CommandEvent>({ type: 'spawned', pid: 555, argv: ['npm', 'ci'] }),
          new Observable<CommandEvent>(() => {
            started.next();
            return () => (stopped = true);
          }),
        );
      started.subscribe(() => h.control.stop('cancel'));
      await h.run();
      expect(stopped).toBe(true);
      expect(h.agent.requests).toEqual([]);
      expect(h.log.row).toMatchObject({ status: TaskStatus.Cancelled, headCommit: 'c1' });
      expect(h.workspace.commits[0]).toMatch(/^WIP: add multiply/);
      expect(h.workspace.commits[0]).toContain('CANCELLED (cancelled)');
    });

    /** A task that was writing its tests in its workspace (set up) when its server stopped. */
    const resumedInWorkspace: Partial<Task> = {
      ...worktree.task,
      claudeSessionId: '3f1c2a9e-0000-4000-8000-000000000001',
      iteration: 2,
      runPhase: 'writing_tests',
      testSnapshot: JSON.stringify(SNAPSHOT),
      setupCompletedAt: new Date(0),
    };

    it('a resumed task re-attaches to its workspace: no second setup, the same directory', async () => {
      const h = harness([turn()], {
        resumed: true,
        worktree: { setup: 'npm ci' },
        task: { ...resumedInWorkspace, workspacePath: '/ws/t1', branch: 'cta/t1-add-multiply' },
      });
      h.workspace.info = { ...h.workspace.info, created: false };
      await h.run();
      expect(h.workspace.setups).toEqual([]);
      expect(h.agent.requests.map((r) => [r.cwd, r.resume])).toEqual([['/ws/t1/app', true]]);
      expect(h.log.records[0].data).toMatchObject({ type: 'workspace_attached' });
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    it('a resumed task whose workspace had to be checked out again runs the setup again', async () => {
      const h = harness([turn()], {
        resumed: true,
        worktree: { setup: 'npm ci' },
        task: resumedInWorkspace,
      });
      await h.run();
      expect(h.workspace.setups).toHaveLength(1);
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    /** A fingerprint the task recorded before it stopped. */
    const stored: GitConfigFingerprint = { worktree: 'worktrees/t1', paths: {}, copies: 't1' };

    it('a resumed task keeps the fingerprint it recorded: re-attached, or checked out again and set up again', async () => {
      for (const created of [false, true]) {
        const h = harness([turn()], {
          resumed: true,
          worktree: { setup: 'npm ci' },
          task: { ...resumedInWorkspace, workspacePath: '/ws/t1', branch: 'cta/t1-add-multiply' },
        });
        h.workspace.info = { ...h.workspace.info, created, gitConfig: stored };
        await h.run();
        expect(h.workspace.setups).toHaveLength(created ? 1 : 0);
        expect(h.workspace.fingerprintsAt).toEqual([]);
        expect(h.log.row).toMatchObject({
          status: TaskStatus.Completed,
          gitConfigFingerprint: stored,
        });
      }
    });

    it('a task stopped during its setup command, its workspace re-attached, takes the fingerprint after the setup it runs again', async () => {
      const h = harness([turn()], {
        resumed: true,
        worktree: { setup: 'npm ci' },
        task: { ...worktree.task, workspacePath: '/ws/t1', branch: 'cta/t1-add-multiply' },
      });
      h.workspace.info = { ...h.workspace.info, created: false };
      await h.run();
      expect(h.workspace.setups).toHaveLength(1);
      expect(h.workspace.fingerprintsAt).toEqual([{ setups: 1, turns: 0 }]);
      expect(h.log.row.gitConfigFingerprint).toEqual(h.workspace.taken);
    });

    it('a FAILED task keeps its uncommitted work as a commit on its branch', async () => {
      const h = harness([turn(), turn(), turn()], { ...worktree, worktree: { setup: null } });
      h.tests.found = [[]];
      await h.run();
      expect(h.log.row).toMatchObject({
        status: TaskStatus.Failed,
        statusReason: 'no_tests_written',
        headCommit: 'c1',
      });
      expect(h.workspace.commits).toHaveLength(1);
      expect(h.workspace.commits[0]).toContain('kept when it ended FAILED (no_tests_written)');
    });

    it('a task that cannot keep its work still ends FAILED (the work stays in the workspace)', async () => {
      const h = harness(
        [turn({ kind: 'api_error', apiError: 'not_logged_in', text: 'Not logged in' })],
        {
          ...worktree,
          worktree: { setup: null },
        },
      );
      h.workspace.commitError = new Error('disk full');
      await h.run();
      expect(h.log.row).toMatchObject({
        status: TaskStatus.Failed,
        statusReason: 'cli_not_logged_in',
      });
      expect(h.log.row.headCommit).toBeUndefined();
    });

    it('a commit that fails at completion fails the task workspace_error', async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      h.workspace.commitError = new WorkspaceError('the workspace is not on its branch');
      await h.run();
      expect(h.log.row).toMatchObject({
        status: TaskStatus.Failed,
        statusReason: 'workspace_error',
      });
      expect(String(h.log.row.errorMessage)).toContain('not on its branch');
    });

    it("a commit refused for the repository's changed git configuration fails the task git_config_changed, naming the files", async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      h.workspace.commitError = new GitConfigChangedError('/repo/.git', [
        'config',
        'hooks/post-merge',
      ]);
      await h.run();
      expect(h.log.row).toMatchObject({
        status: TaskStatus.Failed,
        statusReason: 'git_config_changed',
      });
      expect(String(h.log.row.errorMessage)).toContain('/repo/.git: config, hooks/post-merge');
      expect(h.log.row.headCommit).toBeUndefined();
      expect(h.log.records.find((r) => r.kind === 'error')).toMatchObject({
        data: { reason: 'git_config_changed', files: ['config', 'hooks/post-merge'] },
      });
    });

    it("a git configuration changed before the test round fails the task git_config_changed before the round's tests run", async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      h.workspace.gitConfigError = new GitConfigChangedError('/repo/.git', ['info/attributes']);
      await h.run();
      expect(h.log.row).toMatchObject({
        status: TaskStatus.Failed,
        statusReason: 'git_config_changed',
      });
      expect(h.tests.generatedRuns).toHaveLength(0);
      expect(h.log.records.find((r) => r.kind === 'error')?.data).toMatchObject({
        files: ['info/attributes'],
      });
    });

    it('a shutdown leaves the workspace uncommitted, for the task to resume in', async () => {
      const started = new Subject<void>();
      const h = harness([turn(), hangingTurn(started)], { ...worktree, worktree: { setup: null } });
      started.subscribe(() => h.control.stop('shutdown'));
      await h.run();
      expect(h.log.row.status).toBe(TaskStatus.Pending);
      expect(h.workspace.commits).toEqual([]);
    });

    it('a run that lost its lease commits nothing (the new owner has the workspace)', async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      h.log.lostAt = (patch) => patch.phase === 'committing';
      await h.run();
      expect(h.tests.generatedRuns).toHaveLength(1);
      expect(h.workspace.commits).toEqual([]);
      expect(h.log.row.status).toBe(TaskStatus.Testing);
    });

    it('a cancelled run that lost its lease commits nothing either', async () => {
      const started = new Subject<void>();
      const h = harness([hangingTurn(started)], { ...worktree, worktree: { setup: null } });
      h.log.lostAt = (patch) => patch.phase === 'committing';
      started.subscribe(() => h.control.stop('cancel'));
      await h.run();
      expect(h.workspace.commits).toEqual([]);
      expect(h.log.changes).toEqual([]);
    });
  });

  describe("a person's message waiting when the agent asks (auto_respond true)", () => {
    const asks = (): TurnEvent[] => turn({ text: 'Should I delete the production database?' });
    const no = { id: 5, content: 'No! Do not touch the production database.', interrupt: false };

    it("is the reply: the next prompt is the person's words, not the simulated human's answer, and no pause", async () => {
      const h = harness([asks(), turn(), turn({ text: 'Wrote test/a.test.js.\nDONE' })], {
        task: { maxPauses: 1 },
      });
      h.messages.byTurn = [[], [no]];
      await h.run();
      const second = h.agent.requests[1].prompt;
      expect(second).toContain('No! Do not touch the production database.');
      expect(second).toContain('taking into account what the person wrote above');
      expect(second).not.toContain('nobody available to answer');
      expect(h.log.path()).not.toContain('PAUSED(needs_input)');
      expect(h.log.records.find((r) => r.iteration === 2 && r.kind === 'prompt')?.data).toEqual(
        expect.objectContaining({ intervention: false, human_message_ids: [5] }),
      );
      expect(h.log.row.pauseCount ?? 0).toBe(0);
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    it('is not held to max_pauses: with none allowed the task goes on and completes', async () => {
      const h = harness([asks(), turn(), turn({ text: 'Wrote test/a.test.js.\nDONE' })], {
        task: { maxPauses: 0 },
      });
      h.messages.byTurn = [[], [no]];
      await h.run();
      expect(h.agent.requests).toHaveLength(3);
      expect(h.agent.requests[1].prompt).toContain('No! Do not touch the production database.');
      expect(h.log.records.some((r) => r.data?.type === 'messages_undelivered')).toBe(false);
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    it('without one, the simulated human answers, an intervention held to max_pauses', async () => {
      const h = harness([asks()], { task: { maxPauses: 0 } });
      await h.run();
      expect(h.log.path().at(-1)).toBe('FAILED(max_pauses_reached)');
    });
  });

  describe('auto_respond false: waiting for a person', () => {
    const asks = (): TurnEvent[] => turn({ text: 'Should divide() throw on zero?' });
    const QUESTION_WAIT = {
      question: 'Should divide() throw on zero?',
      reason: 'answer_question',
      phase: 'work',
      until: null,
    };

    /** A run claimed after a wait for a person ended, its question and held reply on the row. */
    const resumedAfterWait = (task: Partial<Task> = {}): Harness =>
      harness([turn(), turn({ text: 'Wrote test/a.test.js.\nDONE' })], {
        resumed: true,
        task: {
          ...task,
          autoRespond: false,
          iteration: 1,
          claudeSessionId: 'c1',
          humanWait: {
            ...QUESTION_WAIT,
            reason: 'answer_question',
            reply: 'SIMULATED REPLY',
            since: '2026-12-02T00:00:00.000Z',
          },
        },
      });

    it('a question ends the run PAUSED waiting_for_human, ownerless, with the question kept', async () => {
      const h = harness([asks(), turn()], { task: { autoRespond: false } });
      await h.run();
      expect(h.log.path()).toEqual(['RUNNING', 'PAUSED(waiting_for_human)']);
      expect(h.agent.requests).toHaveLength(1);
      expect(h.log.row).toMatchObject({
        phase: 'waiting_for_human',
        humanWait: QUESTION_WAIT,
        humanWaitUntil: null,
      });
      // A person's answer is no intervention of the simulated human's: not counted.
      expect(h.log.row.pauseCount).toBeUndefined();
      const wait = h.log.row.humanWait as { reply: string; since: string };
      expect(wait.reply).toContain('Should divide() throw on zero?');
      expect(Date.parse(wait.since)).toBeGreaterThan(0);
      expect(h.messages.endedWaits).toEqual([]);
    });

    it('waits for a person even with no intervention left: max_pauses bounds the simulated human only', async () => {
      const h = harness([asks()], { task: { autoRespond: false, maxPauses: 0 } });
      await h.run();
      expect(h.log.path()).toEqual(['RUNNING', 'PAUSED(waiting_for_human)']);
      expect(h.log.row.statusReason).toBe('waiting_for_human');
    });

    it('stopping short waits too; human_timeout_seconds sets when the simulated human answers', async () => {
      const h = harness([turn({ text: 'Half of it is done.' })], {
        task: { autoRespond: false, humanTimeoutSeconds: 90 },
      });
      await h.run();
      expect(h.log.path()).toEqual(['RUNNING', 'PAUSED(waiting_for_human)']);
      const wait = h.log.row.humanWait as { reason: string; since: string; until: string };
      expect(wait.reason).toBe('continue_stop_short');
      expect(Date.parse(wait.until) - Date.parse(wait.since)).toBe(90_000);
      expect((h.log.row.humanWaitUntil as Date).toISOString()).toBe(wait.until);
    });

    it('the simulated human still asks for the tests and feeds back failures: no wait for those', async () => {
      const h = harness([turn(), turn({ text: 'Wrote test/a.test.js.\nDONE' })], {
        task: { autoRespond: false },
      });
      await h.run();
      expect(h.log.row.status).toBe(TaskStatus.Completed);
      expect(h.log.path()).not.toContain('PAUSED(waiting_for_human)');
    });

    it('a message already there is the answer: no wait, the next turn gives it to the agent', async () => {
      const h = harness([asks(), turn(), turn({ text: 'Wrote test/a.test.js.\nDONE' })], {
        task: { autoRespond: false },
      });
      h.messages.byTurn = [[], [{ id: 5, content: 'Throw a RangeError.', interrupt: false }]];
      await h.run();
      expect(h.log.path()).not.toContain('PAUSED(waiting_for_human)');
      const second = h.agent.requests[1].prompt;
      expect(second).toContain('Throw a RangeError.');
      expect(second).toContain('taking into account what the person wrote above');
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    it('waiting again after a turn that said nothing shows no question, not the one already answered', async () => {
      const h = harness([asks(), turn({ text: '' })], { task: { autoRespond: false } });
      h.messages.byTurn = [[], [{ id: 5, content: 'Throw a RangeError.', interrupt: false }]];
      await h.run();
      expect(h.agent.requests).toHaveLength(2);
      expect(h.log.path().at(-1)).toBe('PAUSED(waiting_for_human)');
      expect(h.log.row.humanWait).toMatchObject({ question: null, reason: 'continue_stop_short' });
    });

    it('a message stored after those read, before the wait is written: no wait, it is the answer', async () => {
      const h = harness([asks(), turn(), turn({ text: 'Wrote test/a.test.js.\nDONE' })], {
        task: { autoRespond: false },
      });
      const late = { id: 7, content: 'Throw a RangeError.', interrupt: false };
      h.log.beforeGuarded = (guard, write) => {
        if (write !== 'release' || h.messages.byTurn.length > 0) return;
        h.messages.byTurn = [[late]];
        if (guard.noMessageAfter < late.id) throw new LateMessageError('t1');
      };
      await h.run();
      // The wait's write was guarded by the messages read (none), and refused for the late one.
      expect(h.log.guards[1]).toEqual({ noMessageAfter: 0 });
      expect(h.log.path()).not.toContain('PAUSED(waiting_for_human)');
      expect(h.agent.requests[1].prompt).toContain('Throw a RangeError.');
      expect(h.messages.endedWaits).toEqual([]);
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    it('a message stored while the wait is written: the run ends the wait itself', async () => {
      const h = harness([asks()], { task: { autoRespond: false } });
      h.log.onRelease = () =>
        (h.messages.byTurn = [[{ id: 5, content: 'Throw.', interrupt: false }]]);
      await h.run();
      expect(h.log.path()).toEqual(['RUNNING', 'PAUSED(waiting_for_human)']);
      expect(h.messages.endedWaits).toEqual([1]);
    });

    it('resumed after a person answered: the first turn is their words, and the wait is cleared', async () => {
      const h = resumedAfterWait();
      h.messages.byTurn = [[{ id: 8, content: 'Throw a RangeError.', interrupt: false }]];
      await h.run();
      const first = h.agent.requests[0];
      expect(first.prompt).toContain('Throw a RangeError.');
      expect(first.prompt).not.toContain('SIMULATED REPLY');
      expect(first.resume).toBe(true);
      expect(h.log.row.humanWait).toBeNull();
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    it('resumed after nobody answered in time: the first turn is the held simulated reply, an intervention', async () => {
      const h = resumedAfterWait({ pauseCount: 1, maxPauses: 2 });
      await h.run();
      expect(h.agent.requests[0].prompt).toBe('SIMULATED REPLY');
      expect(h.log.row.pauseCount).toBe(2);
      const first = h.log.records.find((r) => r.kind === 'simulated_human' || r.kind === 'prompt');
      expect(first).toMatchObject({ kind: 'simulated_human', content: 'SIMULATED REPLY' });
      expect(h.log.row.humanWait).toBeNull();
      expect(h.log.row.status).toBe(TaskStatus.Completed);
    });

    it('resumed after nobody answered in time with no intervention left: fails max_pauses_reached', async () => {
      const h = resumedAfterWait({ pauseCount: 2, maxPauses: 2 });
      await h.run();
      expect(h.agent.requests).toHaveLength(0);
      expect(h.log.path().at(-1)).toBe('FAILED(max_pauses_reached)');
      expect(h.log.row.errorMessage).toContain('beyond the 2 allowed');
      expect(h.log.row.humanWait).toBeNull();
    });
  });

  it('a task in place (isolation none) has no workspace: it runs in the project directory', async () => {
    const h = harness([turn(), turn()]);
    await h.run();
    expect(h.workspace.prepared).toBe(0);
    expect(h.agent.requests.map((r) => r.cwd)).toEqual(['/p', '/p']);
    expect(new Set(h.tests.dirs)).toEqual(new Set(['/p']));
    expect(h.workspace.commits).toEqual([]);
    expect(h.log.row.headCommit).toBeUndefined();
  });

  describe('verified completion', () => {
    const worktree = { task: { isolation: 'worktree' as const, baseCommit: 'b0' } };
    /**
     * A worktree task resumed in its test round (its second iteration, its workspace there from
     * before, its snapshot stored), with one turn to give.
     */
    const resumedInTestRound = () => {
      const h = harness([turn()], {
        resumed: true,
        worktree: { setup: null },
        task: {
          ...worktree.task,
          claudeSessionId: '3f1c2a9e-0000-4000-8000-000000000001',
          iteration: 2,
          maxIterations: 3,
          runPhase: 'running_tests',
          testFiles: ['test/a.test.js'],
          testSnapshot: JSON.stringify(SNAPSHOT),
          setupCompletedAt: new Date(0),
          workspacePath: '/ws/t1',
          branch: 'cta/t1-add-multiply',
        },
      });
      h.workspace.info = { ...h.workspace.info, created: false };
      return h;
    };
    const evidence = (h: Harness): VerificationEvidence =>
      JSON.parse(h.log.row.verification as string) as VerificationEvidence;
    /** What a session without a regression command cannot show. */
    const noRegression: unknown = expect.stringContaining('no regression_command');

    it('runs the generated tests at the base commit: failing there, the task is verified', async () => {
      const h = harness([turn(), turn()], {
        ...worktree,
        regression: 'node --test',
        worktree: { setup: null },
      });
      h.tests.regressionOutputs = [tap(['a', 'b'])];
      await h.run();
      expect(h.verification.atBaseRuns).toEqual([
        { dir: '/ws/t1/app', base: 'b0', files: ['test/a.test.js'] },
      ]);
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified)');
      const e = evidence(h);
      expect(e).toMatchObject({
        verdict: 'verified',
        reason: 'verified',
        base_commit: 'b0',
        head_commit: 'c1',
        not_checked: [],
      });
      expect(e.generated_at_base).toMatchObject({ commit: 'b0', exit_code: 1 });
      expect(e.generated_at_base?.output_excerpt).toContain('Cannot find module');
      const stages = h.log.records.filter((r) => r.kind === 'test').map((r) => r.data?.stage);
      expect(stages).toEqual(['baseline', undefined, undefined, 'generated_at_base']);
    });

    it("the session's setup command runs first in the scratch checkout of the base commit, stored as a setup record of that stage", async () => {
      const h = harness([turn(), turn()], {
        ...worktree,
        regression: 'node --test',
        worktree: { setup: 'npm ci' },
      });
      h.tests.regressionOutputs = [tap(['a', 'b'])];
      await h.run();
      expect(h.verification.atBaseSetups).toEqual(['npm ci']);
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified)');
      const setups = h.log.records.filter((r) => r.kind === 'setup');
      expect(setups[1]).toMatchObject({
        content: expect.stringContaining('added 12 packages') as unknown,
        data: { stage: 'generated_at_base', command: ['npm', 'ci'], passed: true },
      });
      expect(evidence(h)).toMatchObject({ verdict: 'verified', not_checked: [] });
    });

    it('the setup command failing at the base commit proves nothing: no tests run there, verified_without_failing_tests, and said', async () => {
      const h = harness([turn(), turn()], {
        ...worktree,
        regression: 'node --test',
        worktree: { setup: 'npm ci' },
      });
      h.tests.regressionOutputs = [tap(['a', 'b'])];
      h.verification.atBaseSetup = setupResult({
        exitCode: 1,
        output: 'npm ERR! 404 left-pad@0.0.1 is gone\n',
      });
      await h.run();
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_failing_tests)');
      const e = evidence(h);
      expect(e).toMatchObject({ verdict: 'verified', generated_at_base: null });
      expect(e.not_checked).toEqual([
        expect.stringContaining(
          "failing tests: the session's setup command `npm ci` exited with code 1 in a scratch checkout of the base commit",
        ),
      ]);
      expect(e.reason).toMatch(/^verified, except: failing tests: /);
      const stages = h.log.records.filter((r) => r.kind === 'test').map((r) => r.data?.stage);
      expect(stages).not.toContain('generated_at_base');
      const atBase = h.log.records.filter(
        (r) => r.kind === 'setup' && r.data?.stage === 'generated_at_base',
      );
      expect(atBase).toEqual([
        expect.objectContaining({
          content: expect.stringContaining('npm ERR! 404 left-pad@0.0.1 is gone') as unknown,
          data: expect.objectContaining({ passed: false, exit_code: 1 }) as unknown,
        }),
      ]);
    });

    it('a scratch checkout of the base commit that cannot be made proves nothing: verified_without_failing_tests, and said why', async () => {
      const h = harness([turn(), turn()], {
        ...worktree,
        regression: 'node --test',
        worktree: { setup: null },
      });
      h.tests.regressionOutputs = [tap(['a', 'b'])];
      h.verification.atBaseFault = new ScratchCheckoutError(
        new GitCommandError(
          ['worktree', 'add'],
          `git worktree add failed (exit 128): fatal: unable to read tree b0\n${'x'.repeat(1000)}`,
        ),
      );
      await h.run();
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_failing_tests)');
      const e = evidence(h);
      expect(e).toMatchObject({ verdict: 'verified', generated_at_base: null });
      expect(e.not_checked).toEqual([
        'failing tests: the scratch checkout of the base commit could not be made (git worktree add failed (exit 128): fatal: unable to read tree b0), so the generated tests were not run there and whether they fail without the change could not be told',
      ]);
      expect(e.reason).toMatch(/^verified, except: failing tests: the scratch checkout/);
      expect(h.log.records.filter((r) => r.kind === 'error')).toEqual([]);
    });

    it('a failure at the base commit that is not its scratch checkout still fails the task', async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      h.verification.atBaseFault = new Error('the test records could not be stored');
      await h.run();
      expect(h.log.path().at(-1)).toBe('FAILED(internal_error)');
      expect(h.log.records.filter((r) => r.kind === 'error')).toEqual([
        expect.objectContaining({ content: 'the test records could not be stored' }),
      ]);
    });

    it('without a regression command: verified_without_regression, and said', async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      await h.run();
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
      expect(evidence(h)).toMatchObject({ verdict: 'verified', not_checked: [noRegression] });
    });

    it('a regression command failing at its baseline whose output names no tests cannot tell new failures: verified_without_regression, and said', async () => {
      const h = harness([turn(), turn()], {
        ...worktree,
        regression: 'make check',
        worktree: { setup: null },
      });
      h.tests.regressionOutputs = ['not ok: 1 check failed (the known bug)'];
      await h.run();
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
      const e = evidence(h);
      expect(e.pre_existing_failures).toEqual(['make check']);
      expect(e.not_checked).toEqual([expect.stringContaining('failed at its baseline too')]);
    });

    it('the test data the change added in test directories goes with the generated tests to the base commit', async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      h.tests.supportFiles = ['test/fixtures/cases.json', 'test/a.test.js'];
      await h.run();
      expect(h.verification.atBaseSupport).toEqual([['test/fixtures/cases.json']]);
    });

    it('so does every conftest.py the change created or changed, at the top of the project too', async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      h.tests.supportFiles = ['tests/conftest.py'];
      h.tests.configFiles = ['conftest.py', 'tests/conftest.py', 'pytest.ini'];
      await h.run();
      expect(h.verification.atBaseSupport).toEqual([['tests/conftest.py', 'conftest.py']]);
    });

    it('tests that pass without the change are refused: the agent is told, with the output, and asked again', async () => {
      const h = harness([turn(), turn(), turn()], { ...worktree, worktree: { setup: null } });
      h.verification.atBase = [true, false];
      await h.run();
      const feedback = h.log.prompts()[2];
      expect(feedback).toContain('Your tests pass without your change');
      expect(feedback).toContain('all pass at base');
      expect(h.verification.atBaseRuns).toHaveLength(2);
      expect(h.log.path()).toEqual([
        'RUNNING',
        'TESTING(tests_requested)',
        'RUNNING(tests_failed)',
        'TESTING(tests_running)',
        'COMPLETED(verified_without_regression)',
      ]);
    });

    /** A turn whose agent ran a shell command (it may have left a process running). */
    const shellTurn = (): TurnEvent[] => {
      const [spawned, ...rest] = turn();
      const bash: TurnEvent = {
        type: 'tool_use',
        id: 'b1',
        name: 'Bash',
        input: { command: 'setsid nohup ./watch.sh &' },
        messageId: 'm1',
      };
      return [spawned, bash, ...rest];
    };

    it('looks for processes left running before a round only when something that can start one ran since the last look', async () => {
      // Turn 1 edits with file tools only; its round fails; turn 2 runs a shell command.
      const h = harness([turn(), turn(), shellTurn(), turn(), turn()], {
        ...worktree,
        worktree: { setup: null },
      });
      h.tests.rounds = [false, true];
      await h.run();
      // None before the first round (nothing ran yet); one before the second, after the first
      // round's tests and turn 2's shell.
      expect(h.processes.escapeLooks).toEqual(['/ws/t1']);
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
    });

    it("ends what the agent left running in the workspace, restores its .git link and records the tree before each round's tests", async () => {
      const h = harness([shellTurn(), turn()], { ...worktree, worktree: { setup: null } });
      h.processes.escaped.set('/ws/t1', [4242]);
      h.tests.treePaths = ['app/math.js', 'app/test/math.test.js'];
      const order: string[] = [];
      const endEscaped = h.processes.endEscaped.bind(h.processes);
      h.processes.endEscaped = (dir) => {
        order.push('endEscaped');
        return endEscaped(dir);
      };
      h.workspace.checkGitConfig = () => {
        order.push('checkGitConfig');
        return Promise.resolve();
      };
      h.workspace.restoreGitLink = () => {
        order.push('restoreGitLink');
        return Promise.resolve();
      };
      h.workspace.removeStrayBytecode = () => {
        order.push('removeStrayBytecode');
        return Promise.resolve({ removed: ['__pycache__'], failed: [], truncated: false });
      };
      const recordTested = h.workspace.recordTested.bind(h.workspace);
      h.workspace.recordTested = (info, paths) => {
        order.push('recordTested');
        return recordTested(info, paths);
      };
      h.tests.onRun = () => order.push('tests');
      await h.run();
      expect(h.processes.escapeLooks).toEqual(['/ws/t1']);
      expect(h.workspace.recorded).toEqual([['app/math.js', 'app/test/math.test.js']]);
      // Processes ended first, then the .git link restored and the tree recorded, then the tests run.
      expect(order).toEqual([
        'endEscaped',
        'checkGitConfig',
        'restoreGitLink',
        'removeStrayBytecode',
        'recordTested',
        'tests',
      ]);
      // Bytecode removed is no news: only what could not be is recorded.
      expect(h.log.records).not.toContainEqual(
        expect.objectContaining({ data: expect.objectContaining({ type: 'stray_bytecode_left' }) }),
      );
      expect(h.log.records).toContainEqual(
        expect.objectContaining({
          kind: 'system',
          data: { type: 'processes_ended', pids: [4242] },
        }),
      );
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
    });

    it('bytecode that could not be removed before a round is recorded, and the round runs', async () => {
      const h = harness([turn()], { ...worktree, worktree: { setup: null } });
      h.workspace.strayBytecode = {
        removed: [],
        failed: ['app/__pycache__'],
        truncated: false,
      };
      await h.run();
      expect(h.log.records).toContainEqual(
        expect.objectContaining({
          kind: 'system',
          content: expect.stringContaining('could not be removed before the test round'),
          data: { type: 'stray_bytecode_left', paths: ['app/__pycache__'], truncated: false },
        }),
      );
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
      const evidence = JSON.parse(h.log.row.verification as string) as VerificationEvidence;
      expect(evidence.not_checked).toContainEqual(
        expect.stringMatching(/^Python bytecode: .* \(app\/__pycache__\)$/),
      );
    });

    it('installed dependencies changed while the agent worked: completed verified_with_changed_dependencies, naming them and the manifests changed', async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: 'npm ci' } });
      h.workspace.dependencyChanges = {
        changed: Array.from(
          { length: 25 },
          (_, i) => `node_modules/p${String(i).padStart(2, '0')}`,
        ),
        truncated: false,
      };
      h.tests.dependencyManifests = ['package.json', 'package-lock.json'];
      await h.run();
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_with_changed_dependencies)');
      // Marked once, after the setup command and before the agent's first turn, kept with the
      // snapshot; looked at once, with that mark, before the verdict.
      expect(h.workspace.marksAt).toEqual([0]);
      expect(h.workspace.fingerprintsAt).toEqual([{ setups: 1, turns: 0 }]);
      expect(JSON.parse(h.log.row.testSnapshot as string)).toEqual({
        ...SNAPSHOT,
        dependencies: h.workspace.mark,
      });
      expect(h.workspace.dependencyLooks).toEqual([h.workspace.mark]);
      const e = evidence(h);
      expect(e.verdict).toBe('verified');
      expect(e.changed_dependencies).toHaveLength(20);
      expect(e.changed_dependencies?.[0]).toBe('node_modules/p00');
      expect(e.reason).toMatch(
        /^verified, except: installed dependencies changed while the agent worked: node_modules\/p00, .*node_modules\/p19 \(and 5 more\); .*; the change also edits package\.json, package-lock\.json, /,
      );
    });

    it('a look at the installed dependencies stopped at its bound, a mark that could not be taken, or a run resumed without one: a check unmade', async () => {
      const bounded = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      bounded.workspace.dependencyChanges = { changed: [], truncated: true };
      await bounded.run();
      expect(bounded.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
      expect(evidence(bounded).not_checked).toContainEqual(
        expect.stringMatching(
          /^installed dependencies: the look at them stopped after 300000 entries/,
        ),
      );
      const unmarked = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      unmarked.workspace.markDependencies = () => Promise.reject(new Error('EACCES'));
      await unmarked.run();
      expect(unmarked.workspace.dependencyLooks).toEqual([]);
      expect(evidence(unmarked).not_checked).toContainEqual(
        expect.stringMatching(/^installed dependencies: no mark of them was taken/),
      );
      const resumed = resumedInTestRound();
      await resumed.run();
      expect(resumed.workspace.marksAt).toEqual([]);
      expect(resumed.workspace.dependencyLooks).toEqual([]);
      expect(evidence(resumed).not_checked).toContainEqual(
        'installed dependencies: no mark of them was taken before the agent worked, so whether it changed them could not be told',
      );
    });

    it('a change whose files changed after its tests started is not committed: sent back naming them, then completed', async () => {
      const h = harness([turn(), turn(), turn()], { ...worktree, worktree: { setup: null } });
      h.workspace.changedSinceTested = [['src/math.js']];
      await h.run();
      expect(h.workspace.refused).toHaveLength(1);
      expect(h.workspace.commits).toHaveLength(1);
      expect(h.log.path()).toEqual([
        'RUNNING',
        'TESTING(tests_requested)',
        'RUNNING(tests_failed)',
        'TESTING(tests_running)',
        'COMPLETED(verified_without_regression)',
      ]);
      expect(h.log.prompts()[2]).toContain('Files changed after the tests started');
      expect(h.log.prompts()[2]).toContain('src/math.js');
      // Each round records its tree again.
      expect(h.workspace.recorded).toHaveLength(2);
      expect(evidence(h)).toMatchObject({ verdict: 'verified', changed_after_tests: [] });
    });

    it('files that keep changing after the tests started fail the task once the iterations run out, the evidence naming them', async () => {
      const h = harness([turn(), turn(), turn()], {
        task: { ...worktree.task, maxIterations: 3 },
        worktree: { setup: null },
      });
      h.workspace.changedSinceTested = [['src/math.js'], ['src/math.js']];
      await h.run();
      expect(h.workspace.commits.filter((m) => m.startsWith('add multiply'))).toEqual([]);
      expect(h.log.row.status).toBe(TaskStatus.Failed);
      expect(h.log.row.statusReason).toBe('max_iterations_reached');
      expect(evidence(h)).toMatchObject({
        verdict: 'changed_after_tests',
        changed_after_tests: ['src/math.js'],
        head_commit: null,
      });
    });

    it('a round whose tree could not be recorded (git could not say what changed) commits unchecked and says so', async () => {
      const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      h.tests.treePaths = null;
      await h.run();
      expect(h.workspace.recorded).toEqual([]);
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
      expect(evidence(h).not_checked).toContainEqual(expect.stringContaining('tested tree'));
    });

    it('tests that keep passing without the change never complete: the iterations run out', async () => {
      const h = harness([turn(), turn(), turn()], {
        task: { ...worktree.task, maxIterations: 3 },
        worktree: { setup: null },
      });
      h.verification.atBase = [true];
      await h.run();
      expect(h.log.row.status).toBe(TaskStatus.Failed);
      expect(h.log.row.statusReason).toBe('max_iterations_reached');
      expect(evidence(h)).toMatchObject({ verdict: 'tests_pass_without_change' });
      expect(evidence(h).reason).not.toContain("the project's test script");
    });

    it("tests run through the project's test script (npm test -- <file>) that pass at the base commit say the script may not run the file alone", async () => {
      const h = harness([turn(), turn()], {
        task: { ...worktree.task, maxIterations: 2 },
        worktree: { setup: null },
      });
      h.verification.atBase = [true];
      h.verification.atBaseCommand = ['npm', 'test', '--'];
      await h.run();
      expect(h.log.row.statusReason).toBe('max_iterations_reached');
      expect(evidence(h)).toMatchObject({ verdict: 'tests_pass_without_change' });
      expect(evidence(h).reason).toContain(
        "they ran through the project's test script, `npm test -- <test file>`, which may not run a file given alone",
      );
      expect(evidence(h).reason).toContain("set the session's test_command");
    });

    it('require_failing_tests false skips the run at the base commit and says so', async () => {
      const h = harness([turn(), turn()], {
        task: { ...worktree.task, requireFailingTests: false },
        worktree: { setup: null },
      });
      await h.run();
      expect(h.verification.atBaseRuns).toEqual([]);
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_failing_tests)');
      expect(evidence(h).not_checked).toEqual([
        noRegression,
        expect.stringContaining('require_failing_tests is false'),
      ]);
    });

    it('without a base commit (not git) completes saying what was not checked', async () => {
      const h = harness([turn(), turn()]);
      await h.run();
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_base)');
      const e = evidence(h);
      expect(e.not_checked).toEqual([
        noRegression,
        expect.stringContaining('test changes'),
        expect.stringContaining('failing tests'),
      ]);
      expect(e.reason).toMatch(/^verified, except: /);
    });

    it.each<[string, TestFileChange]>([
      ['deleted', { status: 'deleted', path: 'test/old.test.js' }],
      [
        'skipped',
        {
          status: 'modified',
          path: 'test/old.test.js',
          before: "test('x', f);",
          after: "test.skip('x', f);",
        },
      ],
    ])('a %s existing test is sent back naming it; it cannot complete', async (_what, change) => {
      const h = harness([turn(), turn(), turn()], {
        task: { ...worktree.task, maxIterations: 3 },
        worktree: { setup: null },
      });
      h.verification.changes = [change];
      await h.run();
      expect(h.log.prompts()[2]).toContain('Existing tests were weakened');
      expect(h.log.prompts()[2]).toContain('test/old.test.js');
      expect(h.log.row.status).toBe(TaskStatus.Failed);
      expect(evidence(h)).toMatchObject({
        verdict: 'tests_weakened',
        weakening: [expect.objectContaining({ file: 'test/old.test.js' })],
      });
    });

    it('a test skipped or xfailed in a file the change created is sent back; once it runs, the task is verified', async () => {
      const h = harness([turn(), turn(), turn()], {
        ...worktree,
        regression: 'node --test',
        worktree: { setup: null },
      });
      h.tests.regressionOutputs = [tap(['a', 'b'])];
      let round = 0;
      h.tests.runGenerated = (_p: string, files: readonly string[]) => {
        h.tests.generatedRuns.push(files);
        round += 1;
        const passing = report('generated', true);
        const cases = passing.cases.map((c, i) =>
          round === 1 && i === 1 ? { ...c, status: 'skipped' as const } : c,
        );
        return of<TestRunEvent>({ type: 'report', report: { ...passing, cases } });
      };
      await h.run();
      expect(h.tests.generatedRuns).toHaveLength(2);
      const feedback = h.log.prompts()[2];
      expect(feedback).toContain('New tests did not run');
      expect(feedback).toContain('case 2 in test/a.test.js');
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified)');
    });

    it('a skipped test in an existing test file the change modified is left to the weakening check', async () => {
      const h = harness([turn(), turn()], {
        ...worktree,
        regression: 'node --test',
        worktree: { setup: null },
      });
      h.tests.regressionOutputs = [tap(['a', 'b'])];
      h.verification.changes = [
        {
          status: 'modified',
          path: 'test/a.test.js',
          before: "test('old', f);",
          after: "test('old', f);\ntest('new', g);",
        },
      ];
      h.tests.runGenerated = (_p: string, files: readonly string[]) => {
        h.tests.generatedRuns.push(files);
        const passing = report('generated', true);
        const cases = [
          ...passing.cases,
          { ...passing.cases[0], name: 'old skipped', status: 'skipped' as const },
        ];
        return of<TestRunEvent>({ type: 'report', report: { ...passing, cases } });
      };
      await h.run();
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified)');
    });

    it('with turns left, the second round refused for changing existing tests fails test_changes_needed; the count is stored', async () => {
      const h = harness([turn(), turn(), turn()], {
        task: { ...worktree.task, maxIterations: 10 },
        worktree: { setup: null },
      });
      h.verification.changes = [{ status: 'deleted', path: 'test/old.test.js' }];
      await h.run();
      expect(h.log.path().at(-1)).toBe('FAILED(test_changes_needed)');
      expect(h.log.row).toMatchObject({ iteration: 3, testChangeRefusals: 2 });
      expect(h.log.row.errorMessage).toContain('retry it with allow_test_changes: true');
    });

    it('a run resumed after one refused round fails at the next', async () => {
      const h = harness([turn(), turn()], {
        task: { ...worktree.task, maxIterations: 10, testChangeRefusals: 1 },
        worktree: { setup: null },
      });
      h.verification.changes = [{ status: 'deleted', path: 'test/old.test.js' }];
      await h.run();
      expect(h.log.path().at(-1)).toBe('FAILED(test_changes_needed)');
      expect(h.log.row).toMatchObject({ iteration: 2, testChangeRefusals: 2 });
    });

    describe('existing tests rewritten', () => {
      const rewrite: TestFileChange = {
        status: 'modified',
        path: 'test/math.test.js',
        before: 'expect(add(2, 3)).toBe(5);',
        after: 'expect(add(2, 3)).toBe(6);',
      };

      it('as they were they fail against the change and pass at the base: sent back naming them; it cannot complete', async () => {
        const h = harness([turn(), turn(), turn()], {
          task: { ...worktree.task, maxIterations: 3 },
          worktree: { setup: null },
        });
        h.verification.changes = [rewrite];
        h.verification.existing = { change: false, base: true };
        await h.run();
        expect(h.verification.existingRuns.slice(0, 2)).toEqual([
          { files: ['test/math.test.js'], restore: [], on: 'change', setup: null },
          { files: ['test/math.test.js'], restore: [], on: 'base', setup: null },
        ]);
        const feedback = h.log.prompts()[2];
        expect(feedback).toContain('Existing tests were rewritten');
        expect(feedback).toContain('test/math.test.js');
        expect(feedback).toContain('expected 5, got 6 on the change');
        expect(h.log.row.status).toBe(TaskStatus.Failed);
        const e = evidence(h);
        expect(e).toMatchObject({
          verdict: 'tests_weakened',
          weakening: [expect.objectContaining({ kind: 'rewritten', file: 'test/math.test.js' })],
        });
        expect(e.existing_tests_on_change).toMatchObject({ commit: null, exit_code: 1 });
        expect(e.existing_tests_at_base).toMatchObject({ commit: 'b0', exit_code: 0 });
        expect(h.verification.atBaseRuns).toEqual([]);
      });

      it('as they were they pass against the change (tests added beside them): verified, the run kept', async () => {
        const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
        h.verification.changes = [rewrite];
        await h.run();
        expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
        expect(h.verification.existingRuns.map((r) => r.on)).toEqual(['change']);
        const e = evidence(h);
        expect(e.existing_tests_on_change).toMatchObject({ exit_code: 0 });
        expect(e.existing_tests_at_base).toBeNull();
        const stages = h.log.records.filter((r) => r.kind === 'test').map((r) => r.data?.stage);
        expect(stages).toEqual([undefined, 'existing_tests_on_change', 'generated_at_base']);
      });

      it('failing at the base too, as they were: not blamed on the change, and said', async () => {
        const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
        h.verification.changes = [rewrite];
        h.verification.existing = { change: false, base: false };
        await h.run();
        expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
        expect(evidence(h).not_checked).toEqual([
          noRegression,
          expect.stringContaining('no test of them that passes at the base commit failed by name'),
        ]);
      });

      it('a run of them that ended with the lease lost ends the run: nothing said not made, nothing completed', async () => {
        const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
        h.verification.changes = [rewrite];
        h.verification.existingFault = new LeaseLostError('t1');
        await h.run();
        expect(h.log.path().some((step) => step.startsWith(TaskStatus.Completed))).toBe(false);
        expect(h.log.row.verification).toBeUndefined();
      });

      it('a run of them that cannot be made, or too many of them: not blamed on the change, and said', async () => {
        const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
        h.verification.changes = [rewrite];
        h.verification.existingFault = new Error('git worktree add failed');
        await h.run();
        expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
        expect(evidence(h).not_checked).toEqual([
          noRegression,
          expect.stringContaining('could not be run as they were (git worktree add failed)'),
        ]);
        const many = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
        many.verification.support = {
          files: ['tests/fixtures/x.json'],
          tests: Array.from({ length: 51 }, (_, i) => `tests/test_${i}.py`),
        };
        await many.run();
        expect(many.verification.existingRuns).toEqual([]);
        expect(evidence(many).not_checked).toEqual([
          noRegression,
          expect.stringContaining('51 files, more than the 50'),
        ]);
      });

      it("both checkouts are set up by the session's setup command; one failing there is not blamed on the change, and said", async () => {
        const h = harness([turn(), turn()], { ...worktree, worktree: { setup: 'npm ci' } });
        h.verification.changes = [rewrite];
        h.verification.existing = { change: false, base: true };
        h.verification.existingSetup.base = setupResult({ exitCode: 2 });
        await h.run();
        expect(h.verification.existingRuns.map((r) => [r.on, r.setup])).toEqual([
          ['change', 'npm ci'],
          ['base', 'npm ci'],
        ]);
        expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
        const e = evidence(h);
        expect(e.weakening).toEqual([]);
        expect(e.existing_tests_at_base).toBeNull();
        expect(e.not_checked).toEqual([
          noRegression,
          expect.stringContaining(
            "could not be run as they were (the session's setup command `npm ci` exited with code 2 in a scratch checkout of the base commit)",
          ),
        ]);
        const setups = h.log.records.filter((r) => r.kind === 'setup');
        expect(setups.map((r) => [r.data?.stage, r.data?.passed])).toEqual([
          [undefined, true],
          ['existing_tests_on_change', true],
          ['existing_tests_at_base', false],
          ['generated_at_base', true],
        ]);
      });

      it('allow_test_changes: recorded, not blocking', async () => {
        const h = harness([turn(), turn()], {
          task: { ...worktree.task, allowTestChanges: true },
          worktree: { setup: null },
        });
        h.verification.changes = [rewrite];
        h.verification.existing = { change: false, base: true };
        await h.run();
        expect(h.log.path().at(-1)).toBe('COMPLETED(verified_with_test_changes)');
        expect(evidence(h).weakening).toEqual([expect.objectContaining({ kind: 'rewritten' })]);
      });

      it('expected output edited in a test directory: the tests there run with it as it was', async () => {
        const h = harness([turn(), turn(), turn()], {
          task: { ...worktree.task, maxIterations: 3 },
          worktree: { setup: null },
        });
        h.verification.support = { files: ['test/golden/sum.txt'], tests: ['test/format.test.js'] };
        h.verification.existing = { change: false, base: true };
        await h.run();
        expect(h.verification.existingRuns[0]).toEqual({
          files: ['test/format.test.js'],
          restore: ['test/golden/sum.txt'],
          on: 'change',
          setup: null,
        });
        expect(h.log.prompts()[2]).toContain('with test/golden/sum.txt as they were');
        expect(evidence(h).verdict).toBe('tests_weakened');
      });

      it('nothing existing edited: nothing more runs', async () => {
        const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
        h.verification.changes = [
          { status: 'modified', path: 'conftest.py', before: '', after: 'import pytest' },
        ];
        await h.run();
        expect(h.verification.existingRuns).toEqual([]);
        expect(evidence(h).existing_tests_on_change).toBeNull();
      });
    });

    /** A turn whose agent writes `paths` with its file tools, then says DONE. */
    const writing = (...paths: string[]): TurnEvent[] => {
      const [spawned, ...rest] = turn();
      const writes = paths.flatMap((path, i): TurnEvent[] => [
        {
          type: 'tool_use',
          id: `toolu_${i}`,
          name: i % 2 === 0 ? 'Write' : 'Edit',
          input: { file_path: path, content: 'x' },
          messageId: 'm0',
        },
        { type: 'tool_result', toolUseId: `toolu_${i}`, content: 'ok', isError: false },
      ]);
      return [spawned, ...writes, ...rest];
    };

    it('a file the agent wrote that git ignores is sent back: the commit would not hold it', async () => {
      const h = harness(
        [
          writing(
            '/ws/t1/app/src/impl.local.js',
            'src/math.js',
            '/tmp/scratch.txt',
            'src/gen/out.js',
          ),
          turn(),
          turn(),
        ],
        { ...worktree, worktree: { setup: null } },
      );
      // The look for test files after each turn says what git ignores: an ignored directory
      // counts for what is in it; git is not asked again.
      h.tests.ignored = [['node_modules/', 'src/gen/', 'src/impl.local.js'], ['node_modules/']];
      await h.run();
      expect(h.verification.ignoredAsked).toEqual([]);
      const feedback = h.log.prompts()[2];
      expect(feedback).toContain('Files git ignores hold part of your change');
      expect(feedback).toContain('You wrote src/gen/out.js, src/impl.local.js, which git ignores');
      // Refused before the generated tests ran at the base commit; verified once it is gone.
      expect(h.verification.atBaseRuns).toHaveLength(1);
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
      expect(evidence(h)).toMatchObject({ verdict: 'verified', ignored_files: [] });
    });

    it('an ignored file that stays keeps the task from completing, and its evidence names it', async () => {
      const h = harness([writing('src/impl.local.js'), turn(), turn()], {
        task: { ...worktree.task, maxIterations: 3 },
        worktree: { setup: null },
      });
      // Without a look for test files to go by (none in this run, or outside git), git is asked.
      h.tests.ignored = [null];
      h.verification.ignored = [['src/impl.local.js']];
      await h.run();
      // Only the files inside the workspace's project directory, relative to it.
      expect(h.verification.ignoredAsked[0]).toEqual({
        dir: '/ws/t1/app',
        files: ['src/impl.local.js'],
      });
      expect(h.log.row).toMatchObject({
        status: TaskStatus.Failed,
        statusReason: 'max_iterations_reached',
      });
      expect(String(h.log.row.errorMessage)).toContain(
        'Files git ignores hold part of your change',
      );
      expect(evidence(h)).toMatchObject({
        verdict: 'files_ignored',
        ignored_files: ['src/impl.local.js'],
      });
    });

    it('a symbolic link of the change leading outside the repository is sent back: the commit holds a link to nothing', async () => {
      const h = harness([turn(), turn(), turn()], {
        task: { ...worktree.task, maxIterations: 3 },
        worktree: { setup: null },
      });
      h.tests.outsideLinks = ['src/config.js -> /home/me/config.js'];
      await h.run();
      expect(h.log.prompts()[2]).toContain('Symbolic links lead outside the repository');
      expect(h.log.prompts()[2]).toContain('src/config.js -> /home/me/config.js');
      expect(h.log.row).toMatchObject({
        status: TaskStatus.Failed,
        statusReason: 'max_iterations_reached',
      });
      // Refused before the generated tests ran at the base commit.
      expect(h.verification.atBaseRuns).toHaveLength(0);
      expect(evidence(h)).toMatchObject({
        verdict: 'links_outside',
        outside_links: ['src/config.js -> /home/me/config.js'],
      });
    });

    it('a run resumed in its test round looks at the project before judging: a link leading outside is caught, the stored test files kept', async () => {
      const h = resumedInTestRound();
      h.tests.found = [['test/other.test.js']];
      h.tests.outsideLinks = ['src/config.js -> /home/me/config.js'];
      await h.run();
      expect(h.tests.generatedRuns[0]).toEqual(['test/a.test.js']);
      expect(h.log.prompts()[0]).toContain('Symbolic links lead outside the repository');
      expect(h.log.row).toMatchObject({
        status: TaskStatus.Failed,
        statusReason: 'max_iterations_reached',
      });
      expect(evidence(h)).toMatchObject({
        verdict: 'links_outside',
        outside_links: ['src/config.js -> /home/me/config.js'],
      });
    });

    describe('files git ignores created or changed while the agent worked (from the shell, say)', () => {
      it('the generated tests failing in a clean checkout of the change: sent back naming them; it cannot complete', async () => {
        const h = harness([turn(), turn(), turn()], {
          task: { ...worktree.task, maxIterations: 3 },
          worktree: { setup: null },
        });
        h.tests.ignoredChanged = ['build/'];
        h.verification.onCommit = false;
        await h.run();
        expect(h.verification.onCommitRuns[0]).toEqual(['test/a.test.js']);
        const feedback = h.log.prompts()[2];
        expect(feedback).toContain('Files git ignores hold part of your change');
        expect(feedback).toContain('fail in a clean checkout of your change');
        expect(feedback).toContain('build/');
        expect(h.log.row).toMatchObject({
          status: TaskStatus.Failed,
          statusReason: 'max_iterations_reached',
        });
        // Refused before the generated tests ran at the base commit.
        expect(h.verification.atBaseRuns).toHaveLength(0);
        expect(evidence(h)).toMatchObject({
          verdict: 'files_ignored',
          ignored_files: ['build/'],
          generated_on_commit: expect.objectContaining({ commit: null }),
        });
        const stages = h.log.records.filter((r) => r.kind === 'test').map((r) => r.data?.stage);
        expect(stages).toContain('generated_on_commit');
      });

      it('passing there too: verified, the run kept in the evidence', async () => {
        const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
        h.tests.ignoredChanged = ['dist/'];
        await h.run();
        expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
        expect(h.verification.onCommitRuns).toEqual([['test/a.test.js']]);
        expect(evidence(h)).toMatchObject({
          verdict: 'verified',
          ignored_files: [],
          generated_on_commit: expect.objectContaining({ exit_code: 0 }),
        });
      });

      describe('the regression suite there too, where the round ran it', () => {
        const withSuite = (turns: number) =>
          harness(
            Array.from({ length: turns }, () => turn()),
            {
              task: { ...worktree.task, maxIterations: turns },
              regression: 'node --test',
              worktree: { setup: null },
            },
          );
        const stages = (h: ReturnType<typeof withSuite>) =>
          h.log.records.filter((r) => r.kind === 'test').map((r) => r.data?.stage);

        it('a test failing there, and again, that passed in the workspace: sent back naming it and the files; it cannot complete', async () => {
          const h = withSuite(3);
          h.tests.ignoredChanged = ['build/'];
          h.tests.regressionOutputs = [tap(['a', 'b'])];
          h.verification.regressionOnCommit = [
            tap(['a', 'b'], ['b']),
            tap(['b'], ['b']),
            tap(['a', 'b'], ['b']),
            tap(['b'], ['b']),
          ];
          await h.run();
          expect(h.verification.regressionOnCommitRuns).toHaveLength(4);
          expect(h.verification.regressionOnCommitRuns[0]).toBe('node --test');
          // Run again narrowed to the new failure, as the workspace's rerun would be.
          expect(h.verification.regressionOnCommitRuns[1]).toContain('--test-name-pattern');
          const feedback = h.log.prompts()[2];
          expect(feedback).toContain('Files git ignores hold part of your change');
          expect(feedback).toContain(
            'The regression suite passes here, but fails in a clean checkout of your change',
          );
          expect(feedback).toContain('build/');
          expect(feedback).toContain('again when run a second time: b.');
          expect(h.log.row).toMatchObject({
            status: TaskStatus.Failed,
            statusReason: 'max_iterations_reached',
          });
          expect(h.verification.atBaseRuns).toHaveLength(0);
          expect(evidence(h)).toMatchObject({
            verdict: 'files_ignored',
            ignored_files: ['build/'],
            reason: expect.stringContaining(
              'the regression suite fails in a clean checkout',
            ) as unknown,
            regression_on_commit: expect.objectContaining({ exit_code: 1, failing: ['b'] }),
          });
          expect(stages(h)).toEqual(
            expect.arrayContaining(['regression_on_commit', 'regression_rerun_on_commit']),
          );
        });

        it('failing there once and passing when run again (flaky) is not blamed: verified, the test named flaky', async () => {
          const h = withSuite(2);
          h.tests.ignoredChanged = ['build/'];
          h.tests.regressionOutputs = [tap(['a', 'b'])];
          h.verification.regressionOnCommit = [tap(['a', 'b'], ['b']), tap(['b'])];
          await h.run();
          expect(h.verification.regressionOnCommitRuns).toHaveLength(2);
          expect(h.log.path().at(-1)).toBe('COMPLETED(verified_with_flaky_tests)');
          expect(evidence(h)).toMatchObject({
            verdict: 'verified',
            ignored_files: [],
            flaky_tests: ['b'],
            regression_on_commit: expect.objectContaining({ failing: ['b'] }),
          });
        });

        it('a test that failed in the workspace too (at the baseline too) is not run again nor blamed', async () => {
          const h = withSuite(2);
          h.tests.ignoredChanged = ['build/'];
          h.tests.regressionOutputs = [tap(['a', 'b'], ['b'])];
          h.verification.regressionOnCommit = [tap(['a', 'b'], ['b'])];
          await h.run();
          expect(h.verification.regressionOnCommitRuns).toEqual(['node --test']);
          expect(h.log.path().at(-1)).toBe('COMPLETED(verified)');
          expect(evidence(h)).toMatchObject({ verdict: 'verified', pre_existing_failures: ['b'] });
        });

        it('a test that failed at the baseline and passed in the workspace is forgiven there too: not run again nor blamed', async () => {
          const h = withSuite(2);
          h.tests.ignoredChanged = ['build/'];
          h.tests.regressionOutputs = [tap(['a', 'b'], ['b']), tap(['a', 'b'])];
          h.verification.regressionOnCommit = [tap(['a', 'b'], ['b'])];
          await h.run();
          expect(h.verification.regressionOnCommitRuns).toEqual(['node --test']);
          expect(h.log.path().at(-1)).toBe('COMPLETED(verified)');
          expect(evidence(h)).toMatchObject({ verdict: 'verified', ignored_files: [] });
        });

        it('timing out there is said, not blamed: no run again, the task completes, not plain verified', async () => {
          const h = withSuite(2);
          h.tests.ignoredChanged = ['build/'];
          h.tests.regressionOutputs = [tap(['a', 'b'])];
          h.verification.regressionOnCommit = ['timeout'];
          await h.run();
          expect(h.verification.regressionOnCommitRuns).toEqual(['node --test']);
          expect(h.log.path().at(-1)).toBe('COMPLETED(verified_with_checks_unmade)');
          expect(evidence(h).not_checked).toContainEqual(
            expect.stringContaining('the regression suite timed out in the clean checkout'),
          );
        });

        it('a suite that could not be run there is said, not blamed, and the task not plain verified', async () => {
          const h = withSuite(2);
          h.tests.ignoredChanged = ['build/'];
          h.tests.regressionOutputs = [tap(['a', 'b'])];
          h.verification.regressionOnCommitLost = true;
          await h.run();
          expect(h.log.path().at(-1)).toBe('COMPLETED(verified_with_checks_unmade)');
          expect(evidence(h).not_checked).toContainEqual(
            expect.stringContaining('the regression suite could not be run in the clean checkout'),
          );
        });

        it('passing there: verified, its run kept in the evidence and stored with its stage', async () => {
          const h = withSuite(2);
          h.tests.ignoredChanged = ['build/'];
          h.tests.regressionOutputs = [tap(['a', 'b'])];
          h.verification.regressionOnCommit = [tap(['a', 'b'])];
          await h.run();
          expect(h.verification.regressionOnCommitRuns).toEqual(['node --test']);
          expect(h.log.path().at(-1)).toBe('COMPLETED(verified)');
          expect(evidence(h)).toMatchObject({
            verdict: 'verified',
            regression_on_commit: expect.objectContaining({ exit_code: 0, total: 2 }),
          });
          expect(stages(h)).toContain('regression_on_commit');
          expect(stages(h)).not.toContain('regression_rerun_on_commit');
        });
      });

      it('none changed: nothing more runs', async () => {
        const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
        await h.run();
        expect(h.verification.onCommitRuns).toEqual([]);
        expect(evidence(h)).toMatchObject({ generated_on_commit: null });
      });

      it("the session's setup command runs there first, its output stored as a setup record of that stage", async () => {
        const h = harness([turn(), turn()], { ...worktree, worktree: { setup: 'npm ci' } });
        h.tests.ignoredChanged = ['build/'];
        await h.run();
        expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
        expect(h.verification.onCommitSetups).toEqual(['npm ci']);
        const setups = h.log.records.filter((r) => r.kind === 'setup');
        expect(setups.map((r) => r.data?.stage)).toEqual([
          undefined,
          'generated_on_commit',
          'generated_at_base',
        ]);
        expect(setups[1]).toMatchObject({
          content: expect.stringContaining('added 12 packages') as unknown,
          data: { command: ['npm', 'ci'], passed: true, exit_code: 0 },
        });
        expect(evidence(h)).toMatchObject({
          verdict: 'verified',
          generated_on_commit: expect.objectContaining({ exit_code: 0 }),
        });
      });

      it('the setup command failing there is sent back as that, not as files_ignored', async () => {
        const h = harness([turn(), turn(), turn()], {
          task: { ...worktree.task, maxIterations: 3 },
          worktree: { setup: 'npm ci' },
        });
        h.tests.ignoredChanged = ['build/'];
        h.verification.onCommitSetup = setupResult({
          exitCode: 1,
          output: 'npm ERR! missing: left-pad@1.3.0\n',
        });
        await h.run();
        const feedback = h.log.prompts()[2];
        expect(feedback).toContain("The project's setup command fails on your change");
        expect(feedback).toContain('npm ERR! missing: left-pad@1.3.0');
        expect(feedback).not.toContain('Files git ignores hold part of your change');
        expect(h.log.row).toMatchObject({
          status: TaskStatus.Failed,
          statusReason: 'max_iterations_reached',
        });
        expect(h.verification.atBaseRuns).toHaveLength(0);
        expect(evidence(h)).toMatchObject({
          verdict: 'setup_failed_on_commit',
          reason: expect.stringContaining('`npm ci` exited with code 1') as unknown,
          generated_on_commit: null,
          ignored_files: [],
        });
        const stages = h.log.records.filter((r) => r.kind === 'test').map((r) => r.data?.stage);
        expect(stages).not.toContain('generated_on_commit');
      });

      it('a clean checkout that cannot be made is said, not blamed', async () => {
        const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
        h.tests.ignoredChanged = ['build/'];
        h.verification.onCommitFault = new Error('git worktree add failed');
        await h.run();
        expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
        expect(evidence(h).not_checked).toContainEqual(
          expect.stringContaining('could not be run in a clean checkout of the change'),
        );
      });

      it.each([
        // Stopped where it was: the run that holds the lease now makes the checks.
        ['its lease lost', new LeaseLostError('t1'), `${TaskStatus.Testing}(tests_requested)`],
        [
          'the database away',
          Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
          `${TaskStatus.Pending}(database_unavailable)`,
        ],
      ])(
        'a run there that ended with %s ends the run: no check said not made, nothing completed',
        async (_what, fault, last) => {
          const h = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
          h.tests.ignoredChanged = ['build/'];
          h.verification.onCommitFault = fault;
          await h.run();
          expect(h.log.path().at(-1)).toBe(last);
          expect(h.log.path().some((step) => step.startsWith(TaskStatus.Completed))).toBe(false);
          expect(h.log.row.verification).toBeUndefined();
        },
      );
    });

    it('no file written, nothing asked; git unable to say is named, not a refusal', async () => {
      const quiet = harness([turn(), turn()], { ...worktree, worktree: { setup: null } });
      await quiet.run();
      expect(quiet.verification.ignoredAsked).toEqual([]);
      const h = harness([writing('src/a.js'), turn()], { ...worktree, worktree: { setup: null } });
      h.tests.ignored = [null];
      h.verification.ignored = [null];
      await h.run();
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_without_regression)');
      expect(evidence(h).not_checked).toEqual([
        noRegression,
        expect.stringContaining('git could not say which of the files written it ignores'),
      ]);
    });

    it('allow_test_changes: the weakening is recorded and does not block', async () => {
      const h = harness([turn(), turn()], {
        task: { ...worktree.task, allowTestChanges: true },
        worktree: { setup: null },
      });
      h.verification.changes = [{ status: 'deleted', path: 'test/old.test.js' }];
      await h.run();
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_with_test_changes)');
      expect(evidence(h)).toMatchObject({
        test_changes_allowed: true,
        weakening: [expect.objectContaining({ kind: 'deleted' })],
      });
    });

    it('takes the regression baseline before the first turn and stores it for the base commit', async () => {
      const h = harness([turn(), turn()], {
        ...worktree,
        regression: 'node --test',
        worktree: { setup: null },
      });
      let turnsAtBaseline = -1;
      const runRegression = h.tests.runRegression.bind(h.tests);
      h.tests.runRegression = (dir: string, command: string) => {
        if (turnsAtBaseline < 0) turnsAtBaseline = h.agent.requests.length;
        return runRegression(dir, command);
      };
      h.tests.regressionOutputs = [tap(['a', 'b', 'c'])];
      await h.run();
      expect(turnsAtBaseline).toBe(0);
      expect(h.verification.baselines.get('b0 node --test')).toMatchObject({ total: 3 });
      expect(evidence(h)).toMatchObject({
        baseline: { commit: 'b0', total: 3 },
        baseline_reused: false,
        regression_granularity: 'test',
      });
      // The summary counts the suite's tests, not the one case its run is stored as.
      expect(h.log.row.resultSummary).toContain('regression tests passed: 3 test(s)');
    });

    it('a stored baseline with failures is not reused, nor is one stored: the task takes its own', async () => {
      const h = harness([turn(), turn()], {
        ...worktree,
        regression: 'node --test',
        worktree: { setup: null },
      });
      const failing: VerificationRun = {
        command: ['node', '--test'],
        commit: 'b0',
        exit_code: 1,
        timed_out: false,
        duration_ms: 1,
        counts: { passed: 2, failed: 1, errored: 0, skipped: 0 },
        total: 3,
        failing: ['c'],
        tests: null,
        output_excerpt: '',
      };
      h.verification.baselines.set('b0 node --test', failing);
      h.tests.regressionOutputs = [tap(['a', 'b', 'c'], ['b']), tap(['a', 'b', 'c'], ['b'])];
      await h.run();
      expect(h.tests.regressionRuns).toBe(2);
      expect(evidence(h)).toMatchObject({
        baseline_reused: false,
        baseline: { failing: ['b'] },
        pre_existing_failures: ['b'],
      });
      expect(h.verification.baselines.get('b0 node --test')).toBe(failing);
    });

    it('reuses a stored baseline of the same base commit and command', async () => {
      const h = harness([turn(), turn()], {
        ...worktree,
        regression: 'node --test',
        worktree: { setup: null },
      });
      h.verification.baselines.set('b0 node --test', {
        command: ['node', '--test'],
        commit: 'b0',
        exit_code: 0,
        timed_out: false,
        duration_ms: 1,
        counts: { passed: 0, failed: 0, errored: 0, skipped: 0 },
        total: 3,
        failing: [],
        tests: null,
        output_excerpt: '',
      });
      h.tests.regressionOutputs = [tap(['a', 'b', 'c'])];
      await h.run();
      expect(h.tests.regressionRuns).toBe(1);
      expect(evidence(h)).toMatchObject({ baseline_reused: true });
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified)');
    });

    it('a regression test failing at the baseline too is pre-existing and does not block', async () => {
      const h = harness([turn(), turn()], {
        ...worktree,
        regression: 'node --test',
        worktree: { setup: null },
      });
      h.tests.regressionOutputs = [tap(['a', 'b', 'old bug'], ['old bug'])];
      await h.run();
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified)');
      expect(evidence(h)).toMatchObject({
        regression_granularity: 'test',
        pre_existing_failures: ['old bug'],
        new_failures: [],
      });
      expect(h.tests.regressionRuns).toBe(2);
    });

    it('new breakage is run again once and, failing again, sent back; it cannot complete', async () => {
      const h = harness([turn(), turn(), turn()], {
        task: { ...worktree.task, maxIterations: 3 },
        regression: 'node --test',
        worktree: { setup: null },
      });
      h.tests.regressionOutputs = [
        tap(['adds', 'b', 'old bug'], ['old bug']),
        tap(['adds', 'b', 'old bug'], ['old bug', 'adds']),
      ];
      await h.run();
      expect(h.log.prompts()[2]).toContain('broke regression tests');
      expect(h.log.prompts()[2]).toContain('adds');
      expect(h.log.row.status).toBe(TaskStatus.Failed);
      // baseline, round, rerun; round 2, rerun
      expect(h.tests.regressionRuns).toBe(5);
      expect(evidence(h)).toMatchObject({
        verdict: 'regression_broken',
        pre_existing_failures: ['old bug'],
        new_failures: ['adds'],
        regression_rerun: expect.objectContaining({ failing: ['adds', 'old bug'] }),
      });
    });

    it('a regression test that fails once and passes when run again is flaky: named, not blocking, and the task not plain verified', async () => {
      const h = harness([turn(), turn()], {
        ...worktree,
        regression: 'node --test',
        worktree: { setup: null },
      });
      h.tests.regressionOutputs = [
        tap(['a', 'b', 'timing']),
        tap(['a', 'b', 'timing'], ['timing']),
        tap(['a', 'b', 'timing']),
      ];
      await h.run();
      expect(h.log.path().at(-1)).toBe('COMPLETED(verified_with_flaky_tests)');
      expect(evidence(h)).toMatchObject({
        verdict: 'verified',
        reason:
          'verified, except: flaky regression tests (failed on the change, passed when run again): timing',
        flaky_tests: ['timing'],
        new_failures: [],
        rerun_scope: 'tests',
      });
      // Run again alone: the regression command narrowed to the new failure.
      expect(h.tests.regressionCommands).toEqual([
        'node --test',
        'node --test',
        "node --test '--test-name-pattern=^(timing)$'",
      ]);
      const stages = h.log.records.filter((r) => r.kind === 'test').map((r) => r.data?.stage);
      expect(stages).toEqual([
        'baseline',
        undefined,
        undefined,
        'regression_rerun',
        'generated_at_base',
      ]);
    });

    it('fewer regression tests than at the baseline is weakening', async () => {
      const h = harness([turn(), turn(), turn()], {
        task: { ...worktree.task, maxIterations: 3 },
        regression: 'node --test',
        worktree: { setup: null },
      });
      h.tests.regressionOutputs = [tap(['a', 'b', 'c']), tap(['a', 'b'])];
      await h.run();
      expect(h.log.prompts()[2]).toContain('no longer runs 1 test(s) it ran at the base commit: c');
      expect(evidence(h)).toMatchObject({
        verdict: 'tests_weakened',
        weakening: [expect.objectContaining({ kind: 'fewer_tests' })],
      });
    });

    it('an existing pytest test deselected, a new one in its place, is weakening: the totals alone are equal', async () => {
      const h = harness([turn(), turn(), turn()], {
        task: { ...worktree.task, maxIterations: 3 },
        regression: 'python3 -m pytest',
        worktree: { setup: null },
      });
      h.tests.regressionOutputs = [
        '.. \n============ 2 passed in 0.01s ============\n',
        '.. \n============ 2 passed, 1 deselected in 0.01s ============\n',
      ];
      await h.run();
      expect(h.log.prompts()[2]).toContain(
        'the regression suite deselects 1 more of its tests than at the base commit (0 deselected before, 1 after)',
      );
      expect(evidence(h)).toMatchObject({
        verdict: 'tests_weakened',
        baseline: { total: 2, counts: { deselected: 0 } },
        regression: { total: 2, counts: { deselected: 1 } },
        weakening: [expect.objectContaining({ kind: 'fewer_tests', file: null })],
      });
    });
  });
});
