import { Observable } from 'rxjs';
import { TurnEvent, TurnRequest } from 'src/claude-cli';
import { Decision, PolicyInput, TestReportSummary, TestRunLike } from 'src/simulated-human';
import {
  HumanMessage,
  MessageGuard,
  NewInteraction,
  NewTestCase,
  StatusChange,
  TaskPatch,
  VerificationRun,
  WaitingMessages,
} from 'src/tasks';
import {
  CommandEvent,
  DependencyChanges,
  DependencyMark,
  ProjectChanges,
  ProjectSnapshot,
  TestRunEvent,
  TestRunReport,
  TestSetup,
} from 'src/test-runner';
import {
  ChangedSinceTested,
  CommitResult,
  GitConfigFingerprint,
  StrayBytecode,
  TestedTree,
} from 'src/workspaces';
import { OwnerKeyRefusal } from 'src/orchestrator/run/owner-key';
import { TestFileChange } from 'src/orchestrator/run/test-weakening';

/**
 * THE RUN'S VIEW OF THE OUTSIDE WORLD. A task run (`task-run.ts`) talks only to these ports; the
 * orchestrator (`task-runner.service.ts`) plugs in the real adapters (the Claude CLI runner, the
 * test runner, the event log bound to the run's lease, process groups, the clock, the task's
 * workspace), and the run's unit spec plugs in fakes.
 */

/** Runs one agent turn (one CLI process) as a cold Observable; unsubscribing ends it. */
export interface AgentPort {
  runTurn(request: TurnRequest): Observable<TurnEvent>;
}

/** Finds and runs tests in the project; the run commands are cold Observables like turns. */
export interface TestPort {
  describeTestSetup(projectPath: string, testCommand: string | null): TestSetup;
  snapshot(projectPath: string): Promise<ProjectSnapshot>;
  /** The test files created or changed since `before`, and what git ignores in the project now. */
  changes(projectPath: string, before: ProjectSnapshot): Promise<ProjectChanges>;
  /** `env` is added to the test commands' environment (`WorkspaceInfo.agentEnv`). */
  runGenerated(
    projectPath: string,
    files: readonly string[],
    testCommand: string | null,
    readable: readonly string[],
    env: Record<string, string>,
  ): Observable<TestRunEvent>;
  runRegression(
    projectPath: string,
    regressionCommand: string,
    env?: Record<string, string>,
  ): Observable<TestRunEvent>;
}

/** What the simulated human is asked; pure, so the real policy serves in unit specs too. */
export interface HumanPort {
  firstTurnPrompt(taskDescription: string, projectPath: string): string;
  resumePrompt(taskDescription: string, input: Pick<PolicyInput, 'phase'>): string;
  personRepliedPrompt(taskDescription: string, input: Pick<PolicyInput, 'phase'>): string;
  decide(input: PolicyInput): Decision;
  encouragementSeed(taskId: string, encouragementsSoFar: number): number;
  summarizeTests(runs: readonly TestRunLike[]): TestReportSummary;
}

/**
 * The event log bound to the run's lease: every write is fenced and throws `LeaseLostError` once
 * the lease is gone.
 */
export interface RunLog {
  append(...records: NewInteraction[]): Promise<void>;
  /**
   * Appends `records` and applies `patch` to the task row, in one write; with `guard`, only while
   * no message was stored after its record (`LateMessageError`).
   */
  write(records: readonly NewInteraction[], patch: TaskPatch, guard?: MessageGuard): Promise<void>;
  /**
   * Appends a test run's record and cases and applies `patch` to the task row, in one write;
   * `replaceRound`: its cases replace those stored for the same iteration and kind (a round run
   * again after a restart).
   */
  appendTestRun(
    record: NewInteraction,
    cases: readonly NewTestCase[],
    patch?: TaskPatch,
    options?: { replaceRound?: boolean },
  ): Promise<void>;
  update(patch: TaskPatch): Promise<void>;
  /**
   * A status change; `records` are appended before its `status` record, in the same write (with
   * `guard`, as `write`).
   */
  changeStatus(
    change: StatusChange,
    patch?: TaskPatch,
    records?: readonly NewInteraction[],
    guard?: MessageGuard,
  ): Promise<void>;
  /**
   * To PENDING, PAUSED or a terminal status; lets go of the lease. `records` and `guard` as in
   * `changeStatus`.
   */
  release(
    change: StatusChange,
    patch?: TaskPatch,
    records?: readonly NewInteraction[],
    guard?: MessageGuard,
  ): Promise<void>;
}

/** Process groups the run started (to wait for, or end, what a turn or test left behind). */
export interface ProcessPort {
  isGroupAlive(pgid: number): boolean;
  /** SIGINT, SIGTERM, SIGKILL `graceMs` apart; resolves when the group is gone. */
  endGroup(pgid: number, graceMs: number): Promise<void>;
  /**
   * Ends the processes the task's children left running in `dir` out of the server's running
   * children (started with `setsid`, their parent gone); resolves with their pids once gone.
   */
  endEscaped(dir: string, graceMs: number): Promise<number[]>;
}

/** The task's workspace as the run uses it. */
export interface WorkspaceInfo {
  /** The worktree. */
  path: string;
  /** Where the agent, the tests and the setup command run (the project's place in the worktree). */
  directory: string;
  branch: string;
  /** Checked out just now (new, or made again from its branch): the setup command runs in it. */
  created: boolean;
  /**
   * What the environment of the agent, and of the tests run in the workspace (the agent wrote
   * them), gets to keep their git off the repository's other refs (`RefGuard`).
   */
  agentEnv: Record<string, string>;
  /**
   * The repository's git configuration as the workspace was ready for the agent
   * (`GitConfigFingerprint`), recorded on the task: the commits in the workspace are checked
   * against it. Null until it is taken (`fingerprint`, once the setup command completed).
   */
  gitConfig: GitConfigFingerprint | null;
}

/**
 * The task's own git worktree and branch (isolation `worktree`). The run prepares it before its
 * first step (creating it, or re-attaching to it after a restart), runs the session's setup
 * command in a new one, and commits in it when the task ends.
 */
export interface WorkspacePort {
  /**
   * Creates the task's workspace, or re-attaches to the one it has (with the fingerprint the task
   * recorded, if any). For a task without one, throws `GitConfigChangedError` first, before any
   * git runs, while the repository's git configuration still holds a change that failed another
   * task (`GitConfigQuarantine`).
   */
  prepare(): Promise<WorkspaceInfo>;
  /**
   * The fingerprint of the repository's git configuration for the workspace, its configuration
   * files copied aside: taken when the workspace is ready for the agent, and again after the
   * regression baseline (`RunWorkspace.fingerprintAgain`).
   */
  fingerprint(workspace: WorkspaceInfo): Promise<GitConfigFingerprint>;
  /** Runs the setup command in `directory`; cold like test runs (unsubscribing ends it). */
  setup(directory: string, command: string): Observable<CommandEvent>;
  /** Commits every change in the workspace on its branch; the branch's commit afterwards. */
  commit(workspace: WorkspaceInfo, message: string): Promise<CommitResult>;
  /**
   * Puts the workspace's `.git` file back when it no longer leads to the workspace's own entry
   * in its repository (the agent's to write: pointed at the user's git directory, the server's
   * git would work on the user's checkout).
   */
  restoreGitLink(workspace: WorkspaceInfo): Promise<void>;
  /**
   * Throws `GitConfigChangedError` when the repository's git configuration, hooks or `info/`
   * files are not what `workspace.gitConfig` recorded (before a test round: its checks and the
   * verification's scratch checkouts run the server's git there).
   */
  checkGitConfig(workspace: WorkspaceInfo): Promise<void>;
  /**
   * Removes the Python bytecode git does not track in the workspace (before a test round, so
   * that it runs the sources the commit holds); says what it removed and could not.
   */
  removeStrayBytecode(workspace: WorkspaceInfo): Promise<StrayBytecode>;
  /**
   * The mark of the workspace's installed dependencies (`markDependencies`: a moment of its file
   * system's clock, the dependency directories there), taken as the agent is about to work.
   */
  markDependencies(workspace: WorkspaceInfo): Promise<DependencyMark>;
  /**
   * What changed in the workspace's installed dependencies since `mark` (`changedDependencies`:
   * by their change times, in-process, bounded), before a verdict.
   */
  changedDependencies(workspace: WorkspaceInfo, mark: DependencyMark): Promise<DependencyChanges>;
  /**
   * The tree a test round is about to test: the workspace's index with `treePaths` (what `git
   * status` named, from the worktree's top) as the work tree holds them now.
   */
  recordTested(workspace: WorkspaceInfo, treePaths: readonly string[]): Promise<TestedTree>;
  /**
   * Commits as `commit` does, only when the tree to commit is `tested`; else commits nothing and
   * names the files that changed since it was recorded.
   */
  commitTested(
    workspace: WorkspaceInfo,
    message: string,
    tested: TestedTree,
  ): Promise<CommitResult | ChangedSinceTested>;
}

/**
 * What verifying a change needs besides running tests in its workspace: the stored regression
 * baselines (one per project, base commit and command), what the change did to the test files of
 * its base commit, its generated tests run in a scratch checkout of the base commit, and the
 * existing tests it changed run as they were against it. The tests run in a scratch checkout get
 * `env` (the workspace's `agentEnv`: the agent wrote them, and the checkout shares the
 * repository's refs).
 */
export interface VerificationPort {
  findBaseline(baseCommit: string, command: string): Promise<VerificationRun | null>;
  saveBaseline(baseCommit: string, command: string, run: VerificationRun): Promise<void>;
  /**
   * Of `files` (relative to `directory`), those that exist and git ignores there (untracked and
   * matched by an ignore rule); null when git cannot say.
   */
  ignoredFiles(directory: string, files: readonly string[]): Promise<string[] | null>;
  /**
   * Test files of `baseCommit` the work tree at `directory` deleted, renamed or modified, and the
   * `configFiles` (test configuration the agent created or changed there) as modified, empty at
   * the base where they did not exist; and the files of its test directories that are no test
   * files the work tree modified, with the base commit's test files under those directories.
   */
  testChanges(
    directory: string,
    baseCommit: string,
    configFiles: readonly string[],
  ): Promise<{ files: TestFileChange[]; support: { files: string[]; tests: string[] } }>;
  /**
   * Runs `files` (copied from `directory`, with the test data they may read: `support`) in a
   * scratch checkout of `baseCommit` as generated tests are run, set up as `runOnCommit` sets up
   * its checkout (`setupCommand` first, then the installed dependencies). The checkout is removed
   * before the report is emitted (and on unsubscribe); a failed setup ends the run without one.
   * A checkout that cannot be made (or whose dependencies cannot be linked) fails the run with a
   * `ScratchCheckoutError`, here and in `runBaseTests` and `runOnCommit`.
   */
  runAtBase(
    directory: string,
    baseCommit: string,
    files: readonly string[],
    testCommand: string | null,
    support: readonly string[],
    setupCommand: string | null,
    env: Record<string, string>,
  ): Observable<ScratchRunEvent>;
  /**
   * Runs the base commit's versions of existing test files (`files`, relative to `directory`) as
   * generated tests are run, in a scratch checkout: of the change (the work tree at `directory`
   * as it is, with `files` and `restore` as they were at `baseCommit`), or of `baseCommit`
   * itself; set up as `runOnCommit` sets up its checkout. The checkout is removed before the
   * report is emitted (and on unsubscribe); a failed setup ends the run without one.
   */
  runBaseTests(
    directory: string,
    baseCommit: string,
    files: readonly string[],
    restore: readonly string[],
    testCommand: string | null,
    on: 'change' | 'base',
    setupCommand: string | null,
    env: Record<string, string>,
  ): Observable<ScratchRunEvent>;
  /**
   * Runs the generated test files (`files`, relative to `directory`) as a test round does, in a
   * scratch checkout of the change as its commit would hold it (the work tree at `directory`,
   * without what git ignores). The session's `setupCommand`, if any, runs there first, as in a
   * new workspace (its events emitted as `setup` events); the tests run only when it passed.
   * Then the installed dependencies of the work tree are linked where the checkout has none of
   * its own. When the generated tests passed and `regression` is given, the regression suite runs
   * there too (`OnCommitRegression`). The checkout is removed before the reports are emitted, in
   * the order they were made (and on unsubscribe); a failed setup ends the run without a report.
   */
  runOnCommit(
    directory: string,
    baseCommit: string,
    files: readonly string[],
    testCommand: string | null,
    setupCommand: string | null,
    env: Record<string, string>,
    regression: OnCommitRegression | null,
  ): Observable<ScratchRunEvent>;
}

/**
 * The regression suite in a clean checkout of the change (`VerificationPort.runOnCommit`): its
 * `command`, then, when `again` names one for its report (its new failures, narrowed where the
 * tool allows), that command in the same checkout. Each report's output names the checkout's
 * paths as the workspace's, so its test names read as the workspace run's do.
 */
export interface OnCommitRegression {
  command: string;
  again(report: TestRunReport): string | null;
}

/**
 * What a run in a scratch checkout emits: the session's setup command's events (when it has
 * one), then the tests'.
 */
export type ScratchRunEvent = TestRunEvent | { type: 'setup'; event: CommandEvent };

export interface ClockPort {
  nowMs(): number;
  /** Emits once after `ms`; unsubscribing cancels the wait. */
  delay(ms: number): Observable<void>;
}

/**
 * A person's messages to the task (`POST /tasks/{id}/messages`) that no agent turn was given, and
 * the end of a wait for them.
 */
export interface MessagePort {
  undelivered(): Promise<HumanMessage[]>;
  /** What a turn's prompt takes: the messages, and the record they were read through. */
  waiting(): Promise<WaitingMessages>;
  /** Sends the task, waiting for a person, back to the queue; false when it was not waiting. */
  endWait(iteration: number): Promise<boolean>;
}

/** The task's project directory, held to the project_path rules as they are when it starts. */
export interface ProjectPort {
  /**
   * Why no process of the task may run for it now (its session's project_path breaks a rule:
   * `ProjectPathService.recheck`), or null.
   */
  refusal(): string | null;
}

/** The API key that owns the task (`owner_key_id`), as it stands now (`owner-key.ts`). */
export interface OwnerKeyPort {
  /**
   * Why the task's owner key no longer lets it run (`ApiKeysService.refusal`: revoked, deleted
   * or expired), read from the database each time; null while it may, and for a task no key owns.
   */
  refusal(): Promise<OwnerKeyRefusal | null>;
}

export interface RunPorts {
  agent: AgentPort;
  tests: TestPort;
  human: HumanPort;
  log: RunLog;
  messages: MessagePort;
  processes: ProcessPort;
  clock: ClockPort;
  verification: VerificationPort;
  project: ProjectPort;
  ownerKey: OwnerKeyPort;
  /** Null when the task works in its project directory (isolation `none`). */
  workspace: WorkspacePort | null;
}
