import {
  concat,
  concatMap,
  defer,
  EMPTY,
  filter,
  from,
  ignoreElements,
  Observable,
  of,
} from 'rxjs';
import { TaskPatch, TaskStatus } from 'src/tasks';
import { TestRunEvent, TestRunReport } from 'src/test-runner';
import { ProcessTracker } from 'src/orchestrator/run/process-tracker';
import { RunContext } from 'src/orchestrator/run/run-state';
import { RunPorts } from 'src/orchestrator/run/run-ports';
import { RunState } from 'src/orchestrator/run/run-state';
import { RunStatus } from 'src/orchestrator/run/run-status';
import { RunWorkspace } from 'src/orchestrator/run/run-workspace';
import { testRunInteraction } from 'src/orchestrator/run/turn-records';

/**
 * THE TEST PHASE of a run: what the agent's tests are, and running a test round.
 *
 * - Before the agent's first turn, the project is snapshot once (`snapshotOnce`); the generated
 *   test files are those created or changed since (`findTestFiles`), so tests the agent wrote
 *   while it worked count as well as those it wrote when asked. Both are stored on the task, so
 *   a resumed run finds the same files and does not ask for tests again.
 * - A round (`run`) runs the generated test files, then the session's regression command, storing
 *   each run (a `test` record and its test cases) as it ends, and emits the reports; in a
 *   workspace, the tree it tests is recorded first, for the commit to be checked against.
 */
export class TestPhase {
  constructor(
    private readonly ctx: RunContext,
    private readonly ports: RunPorts,
    private readonly state: RunState,
    private readonly status: RunStatus,
    private readonly tracker: ProcessTracker,
    private readonly workspace: RunWorkspace,
  ) {}

  /** Where the tests run: the task's workspace, or its project directory. */
  private get projectPath(): string {
    return this.workspace.directory;
  }

  /**
   * The project as it is before the agent's first turn (after the workspace's setup and the
   * baseline run), taken once per task, with the mark of a workspace's installed dependencies
   * (`RunWorkspace.dependencyMark`); returns what to store with that turn's prompt
   * (`TurnStep.patch`), nothing once a snapshot is stored.
   */
  async snapshotOnce(): Promise<TaskPatch> {
    if (this.state.testSnapshot !== null) return {};
    const snapshot = await this.ports.tests.snapshot(this.projectPath);
    const dependencies = await this.workspace.dependencyMark();
    this.state.testSnapshot = dependencies === null ? snapshot : { ...snapshot, dependencies };
    return { testSnapshot: JSON.stringify(this.state.testSnapshot) };
  }

  /** The agent is asked for tests: none found yet, no empty test-writing turn yet. */
  testsRequested(): TaskPatch {
    this.state.testFiles = [];
    this.state.emptyTestTurns = 0;
    return { testFiles: [], emptyTestTurns: 0 };
  }

  /**
   * What git ignores in the project as of the last look for test files (project-relative, a
   * directory ending in `/`); null before one in this run, or outside git.
   */
  ignoredNow: string[] | null = null;

  /**
   * The test configuration created or changed since the snapshot (`ProjectChanges.configFiles`:
   * `conftest.py`, `pytest.ini`, `package.json`, `jest.config.js`, Python test modules holding
   * hooks or `load_tests`, ...), as of the last look for test files; null before one in this run.
   */
  configFilesNow: string[] | null = null;

  /**
   * The files created or changed in test directories that are no test files (fixtures, expected
   * output: `ProjectChanges.supportFiles`), as of the last look for test files; [] before one.
   */
  supportFilesNow: string[] = [];

  /**
   * The files created or changed that say which dependencies the project installs
   * (`ProjectChanges.dependencyManifests`), as of the last look for test files; [] before one.
   */
  dependencyManifestsNow: string[] = [];

  /**
   * The symbolic links created or changed that lead outside the repository (`path -> target`:
   * `ProjectChanges.outsideLinks`), as of the last look for test files; null before one.
   */
  outsideLinksNow: string[] | null = null;

  /**
   * What git ignores that was created or changed since the snapshot, dependencies and caches
   * left out (`ProjectChanges.ignoredChanged`), as of the last look for test files; null before
   * one.
   */
  ignoredChangedNow: string[] | null = null;

  /**
   * Every path of the whole work tree that `git status` named created, changed, deleted or
   * untracked (`ProjectChanges.treePaths`), as of the last look for test files; null before one,
   * or outside git.
   */
  treePathsNow: string[] | null = null;

  /** The generated test files now (created or changed since the snapshot), remembered. */
  async findTestFiles(): Promise<readonly string[]> {
    const found = await this.look();
    if (found !== null) this.state.testFiles = found;
    return this.state.testFiles;
  }

  /**
   * Looks at what changed since the snapshot when no look was made in this run (it resumed in a
   * test round), for the verification; the generated test files stored with the task stay.
   */
  async lookOnce(): Promise<void> {
    if (this.configFilesNow === null) await this.look();
  }

  /** What changed since the snapshot: the `...Now` fields set; the test files found. */
  private async look(): Promise<string[] | null> {
    const snapshot = this.state.testSnapshot;
    if (snapshot === null) return null;
    const changes = await this.ports.tests.changes(this.projectPath, snapshot);
    this.ignoredNow = changes.ignored;
    this.configFilesNow = changes.configFiles;
    this.supportFilesNow = changes.supportFiles;
    this.dependencyManifestsNow = changes.dependencyManifests;
    this.outsideLinksNow = changes.outsideLinks;
    this.ignoredChangedNow = changes.ignoredChanged;
    this.treePathsNow = changes.treePaths;
    return changes.testFiles;
  }

  /**
   * One test round over `files`; emits the reports (generated, then regression) at the end. In a
   * workspace it first ends what the agent left running there and records the tree it tests
   * (`RunWorkspace.beforeRound`, from the last look for test files: made after the agent's last
   * turn, or now in a run that resumed in this round), which the completing commit must match.
   */
  run(files: readonly string[]): Observable<TestRunReport[]> {
    const reports: TestRunReport[] = [];
    const store = (event: TestRunEvent): Observable<never> =>
      from(this.onTestEvent(event, reports)).pipe(ignoreElements());
    const generated$ = defer(async () => {
      this.state.phase = 'running_tests';
      await this.status.moveTo(TaskStatus.Testing, 'tests_running', {
        ...this.state.checkpoint(),
        phase: 'running_tests',
      });
      await this.lookOnce();
      await this.workspace.beforeRound(this.treePathsNow);
    }).pipe(
      concatMap(() =>
        this.ports.tests.runGenerated(
          this.projectPath,
          files,
          this.ctx.testCommand,
          [],
          this.workspace.agentEnv,
        ),
      ),
      concatMap(store),
    );
    const regressionCommand = this.ctx.regressionCommand;
    const regression$ =
      regressionCommand === null || regressionCommand.trim() === ''
        ? EMPTY
        : defer(() => this.ports.log.update({ phase: 'running_regression' })).pipe(
            concatMap(() =>
              this.ports.tests.runRegression(
                this.projectPath,
                regressionCommand,
                this.workspace.agentEnv,
              ),
            ),
            concatMap(store),
          );
    return concat(
      generated$,
      regression$,
      defer(() => of(reports)),
    );
  }

  /**
   * Runs commands of the verification (the baseline, the generated tests at the base commit, the
   * regression suite again) and stores each as a `test` record with its `stage` (no test cases:
   * those are the round's; `stage` a function: the n-th report's, from 0); emits their reports.
   */
  runExtra(
    events$: Observable<TestRunEvent>,
    stage: string | ((index: number) => string),
  ): Observable<TestRunReport> {
    let reports = 0;
    const stageOf = (): string => (typeof stage === 'string' ? stage : stage(reports++));
    return events$.pipe(
      concatMap((event) => from(this.onExtraEvent(event, stageOf))),
      filter((report): report is TestRunReport => report !== null),
    );
  }

  private async onExtraEvent(
    event: TestRunEvent,
    stageOf: () => string,
  ): Promise<TestRunReport | null> {
    if (event.type === 'spawned') {
      await this.tracker.started(event.pid);
      return null;
    }
    await this.tracker.settle();
    const record = testRunInteraction(event.report, this.state.iteration);
    const stage = stageOf();
    await this.ports.log.appendTestRun({ ...record, data: { ...record.data, stage } }, [], {
      processGroupId: null,
    });
    return event.report;
  }

  private async onTestEvent(event: TestRunEvent, reports: TestRunReport[]): Promise<void> {
    if (event.type === 'spawned') {
      await this.tracker.started(event.pid);
      return;
    }
    // Background processes a test command left behind are ended once it exits; wait for them,
    // so nothing of this task outlives its step.
    await this.tracker.settle();
    const report = event.report;
    reports.push(report);
    const iteration = this.state.iteration;
    // A resumed run may be running a round its predecessor stored (cut off before the end).
    await this.ports.log.appendTestRun(
      testRunInteraction(report, iteration),
      report.cases.map((c) => ({ ...c, iteration, kind: report.kind })),
      { processGroupId: null },
      { replaceRound: this.ctx.resumed },
    );
  }
}
