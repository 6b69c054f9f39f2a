import {
  catchError,
  concatMap,
  defaultIfEmpty,
  defer,
  EMPTY,
  from,
  map,
  Observable,
  of,
  throwError,
  toArray,
} from 'rxjs';
import { databaseFailureOf } from 'src/database';
import { TestReportSummary } from 'src/simulated-human';
import {
  LeaseLostError,
  readVerification,
  StatusReason,
  TaskPatch,
  VerificationCounts,
  VerificationEvidence,
  VerificationRun,
  VerificationVerdict,
} from 'src/tasks';
import {
  CommandResult,
  formatCommandLine,
  ignoredAmong,
  isRustSource,
  isTestConfigFile,
  jsTestConfigFiles,
  probeLanguage,
  splitCommandLine,
  TestRunReport,
} from 'src/test-runner';
import {
  compareRegression,
  countsFailures,
  RegressionResult,
  regressionResult,
} from 'src/orchestrator/run/regression-comparison';
import { rerunArgv } from 'src/orchestrator/run/rerun-command';
import { OnCommitRegression, RunPorts, ScratchRunEvent } from 'src/orchestrator/run/run-ports';
import { RunContext } from 'src/orchestrator/run/run-state';
import { ScratchCheckoutError } from 'src/orchestrator/run/scratch-checkout-error';
import {
  RunWorkspace,
  ScratchStage,
  setupEnded,
  setupPassed,
} from 'src/orchestrator/run/run-workspace';
import { TestPhase } from 'src/orchestrator/run/test-phase';
import { WrittenFiles } from 'src/orchestrator/run/written-files';
import { detectWeakening, SuiteTests, TestFileChange } from 'src/orchestrator/run/test-weakening';
import { brokenTests } from 'src/orchestrator/run/broken-tests';
import { dependencyFindings } from 'src/orchestrator/run/changed-dependencies';
import { generatedFiles, skippedNewTests } from 'src/orchestrator/run/skipped-new-tests';

/** A run in a scratch checkout whose setup command failed there: no tests ran. */
interface SetupFailed {
  setupFailed: CommandResult;
}

/** Longest output excerpt kept per run in the evidence. */
const EXCERPT_BYTES = 4 * 1024;

/** What a verified test round leads to: completion, or the problem sent back to the agent. */
export type Judgement = { kind: 'completed'; reason: StatusReason } | Feedback;

/** A problem sent back to the agent. */
export interface Feedback {
  kind: 'feedback';
  report: TestReportSummary;
}

function excerpt(output: string): string {
  const bytes = Buffer.from(output, 'utf8');
  if (bytes.length <= EXCERPT_BYTES) return output;
  const half = EXCERPT_BYTES / 2;
  return `${bytes.subarray(0, half).toString('utf8')}\n[... ${bytes.length - EXCERPT_BYTES} bytes cut ...]\n${bytes.subarray(-half).toString('utf8')}`;
}

/** The outcomes of a run's stored cases (a regression run is one case per command). */
function caseCounts(report: TestRunReport): VerificationCounts {
  const counts = { passed: 0, failed: 0, errored: 0, skipped: 0 };
  for (const c of report.cases) {
    if (c.status === 'error') counts.errored += 1;
    else counts[c.status] += 1;
  }
  return counts;
}

/**
 * `argv` with each argument that names a path in `directory` (`<directory>/x`, or `--opt=<directory>/x`)
 * made relative to it: the evidence outlives the workspace and its scratch checkouts.
 */
function relativeArgv(argv: readonly string[], directory: string | undefined): string[] {
  if (directory === undefined) return [...argv];
  const prefix = `${directory}/`;
  return argv.map((arg) => arg.split(prefix).join(''));
}

/**
 * For generated tests run through the project's test script (`npm test -- <file>`, the `npm-test`
 * plan, or a session's `test_command` such as `yarn test`), what a reader must know of a run that
 * passed at the base commit: the script may not run the file given alone (`node
 * test/run-all.js` ignores its arguments and runs the suite the base commit has), so the pass may
 * not be the generated tests'. '' for any other command.
 */
function throughScript(command: readonly string[]): string {
  const program = (command[0] ?? '').split('/').at(-1) ?? '';
  if (!/^(npm|yarn|pnpm)$/.test(program) || !['test', 'run', 'run-script'].includes(command[1])) {
    return '';
  }
  return ` (they ran through the project's test script, \`${formatCommandLine(command)} <test file>\`, which may not run a file given alone: a script that ignores its arguments, such as \`node test/run-all.js\`, runs the suite the base commit has; set the session's test_command to a command that runs one test file, e.g. the test tool itself)`;
}

/** A test run as the evidence keeps it; `result` when its output was read for the comparison. */
function toRun(
  report: TestRunReport,
  commit: string | null,
  result: RegressionResult | null = null,
): VerificationRun {
  const here = (argv: readonly string[]): string[] => relativeArgv(argv, report.directory);
  return {
    command: here(report.command),
    commands: report.invocations.map((i) => here(i.command)),
    commit,
    exit_code: report.exitCode,
    timed_out: report.timedOut,
    duration_ms: report.durationMs,
    counts: result?.counts ?? caseCounts(report),
    total: result?.total ?? (report.kind === 'generated' ? report.cases.length : null),
    failing:
      result?.failing ??
      report.cases.filter((c) => c.status === 'failed' || c.status === 'error').map((c) => c.name),
    tests: result?.names ?? null,
    output_excerpt: excerpt(report.output),
  };
}

/** A regression run of the evidence, read back for the comparison. */
function resultOf(run: VerificationRun, granularity: 'test' | 'command'): RegressionResult {
  const counts = run.total === null ? null : run.counts;
  return {
    granularity,
    passed: run.exit_code === 0 && !run.timed_out && !countsFailures(counts),
    total: run.total,
    counts,
    failing: run.failing,
    names: run.tests ?? null,
    format: null,
  };
}

/** What a regression run says of its tests, for the weakening check. */
function suiteTests(run: VerificationRun | null): SuiteTests {
  return {
    total: run?.total ?? null,
    names: run?.tests ?? null,
    // Counts are the output's own only where it counted the tests.
    skipped: run === null || run.total === null ? null : run.counts.skipped,
    deselected: run === null || run.total === null ? null : (run.counts.deselected ?? null),
  };
}

/**
 * A failure that ends the run rather than one check (its lease lost, the database away): the run's
 * own error handling stops it or puts the task back in the queue, where the check is made again.
 * Caught as a run "that could not be made", it was said in `not_checked` of a task that then
 * completed once the database answered again.
 */
function stopsTheRun(error: unknown): boolean {
  return error instanceof LeaseLostError || databaseFailureOf(error) !== null;
}

/** Most test files the rewritten-tests check runs as they were (each is a process). */
const MAX_REWRITE_CHECK_FILES = 50;

/**
 * The stages of the runs in a clean checkout of the change, in their order: the generated tests,
 * the regression suite, its new failures run again.
 */
const ON_COMMIT_STAGES = [
  'generated_on_commit',
  'regression_on_commit',
  'regression_rerun_on_commit',
] as const;

/** What a run in a scratch checkout came to (`Verification.runSetUp`), or the error it ended with. */
type ScratchOutcome = TestRunReport | SetupFailed | Error | null;

/** A test run's report among what a run in a scratch checkout came to. */
function isReport(outcome: ScratchOutcome): outcome is TestRunReport {
  return outcome !== null && !(outcome instanceof Error) && !('setupFailed' in outcome);
}

/** A run in which every test passed: none named failing, none counted failing by its output. */
function isClean(run: VerificationRun): boolean {
  return (
    run.exit_code === 0 &&
    !run.timed_out &&
    run.failing.length === 0 &&
    !countsFailures(run.total === null ? null : run.counts)
  );
}

/**
 * The existing tests the change edited, to run as they were against it: the test files of the
 * base commit it modified (its test configuration aside), and when it modified helpers, fixtures
 * or expected output under a test directory (`support`), those files and the test files there.
 */
function editedTests(
  changes: readonly TestFileChange[],
  support: { files: string[]; tests: string[] },
  runnerFiles: ReadonlySet<string>,
): { files: string[]; support: string[] } {
  const modified = changes
    .filter(
      (c) =>
        c.status === 'modified' &&
        c.before !== '' &&
        !isTestConfigFile(c.path) &&
        !runnerFiles.has(c.path),
    )
    // A Rust source file's unit tests are no file of their own to run as they were; nor is the
    // code under test listed for its test probes (`test-probes.ts`) a test.
    .filter((c) => !isRustSource(c.path) && probeLanguage(c.path) === null)
    .map((c) => c.path);
  const files = [...new Set([...modified, ...(support.files.length > 0 ? support.tests : [])])];
  return { files, support: files.length > 0 ? support.files : [] };
}

/**
 * The files that go with the generated tests `files` to the base commit (the `support` of
 * `runAtBase`): the test data and helpers the change created or changed in test directories, and
 * every `conftest.py` it created or changed, wherever it is (`configFiles`): a fixture there that
 * does the new tests' work (a correct `mul` of its own) would otherwise be missing at the base
 * commit, and the tests fail there for want of it, not of the change.
 */
function withTheGeneratedTests(
  files: readonly string[],
  support: readonly string[],
  configFiles: readonly string[],
): string[] {
  const conftests = configFiles.filter((file) => file.split('/').at(-1) === 'conftest.py');
  return [...new Set([...support, ...conftests])].filter((file) => !files.includes(file));
}

function emptyEvidence(baseCommit: string | null): VerificationEvidence {
  return {
    base_commit: baseCommit,
    head_commit: null,
    baseline: null,
    baseline_reused: false,
    generated: null,
    generated_at_base: null,
    existing_tests_on_change: null,
    existing_tests_at_base: null,
    generated_on_commit: null,
    regression_on_commit: null,
    regression: null,
    regression_rerun: null,
    rerun_scope: null,
    regression_granularity: null,
    pre_existing_failures: [],
    new_failures: [],
    flaky_tests: [],
    weakening: [],
    ignored_files: [],
    outside_links: [],
    changed_after_tests: [],
    changed_dependencies: [],
    test_changes_allowed: false,
    not_checked: [],
    verdict: null,
    reason: null,
    checked_at: null,
  };
}

type FailingTest = TestReportSummary['failures'][number];

const problem = (name: string, output: string): FailingTest => ({
  kind: 'generated',
  name,
  filePath: null,
  status: 'failed',
  output,
});

/**
 * VERIFIED COMPLETION. A test round that passed is not yet proof: before a task completes,
 *
 * 1. the regression suite is judged against its baseline (taken before the agent's first turn, at
 *    the base commit, or reused from an earlier task on the same commit and command): failures
 *    that were there already do not block, new ones are run again once and block unless they
 *    pass then (flaky: named, and the task completes `verified_with_flaky_tests`, never plain
 *    `verified`);
 * 2. the change may not weaken the tests of its base commit (delete or rename test files, add skip
 *    or only markers, run fewer regression tests) unless the task allows test changes; nor may it
 *    rewrite them: the base commit's versions of the existing test files it changed (or whose
 *    helpers, fixtures or expected output it changed) must still pass against it where they
 *    passed at the base commit; and every new test must run (none skipped or expected to fail:
 *    `skipped-new-tests.ts`);
 * 3. no file the agent wrote may be one git ignores: the tests ran with it, but the commit (the
 *    change reviewed and merged) would not hold it; no symbolic link of the change may lead
 *    outside the repository (the commit holds the link, not what it leads to); and when files git
 *    ignores were created or changed while the agent worked (from the shell, say), the generated
 *    tests must pass in a clean checkout of the change too, set up by the session's setup command
 *    (which must pass there);
 * 4. the generated tests, run alone in a scratch checkout of the base commit set up as a new
 *    workspace is (the session's setup command first: tests that load what it builds must not
 *    fail there for want of the build), must fail or error there (else they do not test the
 *    change), unless the task does not require it;
 * 5. last, in a workspace, the installed dependencies (`node_modules`, `.venv`, `venv`) must not
 *    have changed since the agent's first turn (by their change times: `installed-dependencies.ts`):
 *    the tests, and the scratch checkouts that link them, ran with what the agent left there, which
 *    no commit holds. A change there is named and the task completes
 *    `verified_with_changed_dependencies`, never plain `verified`; it is not sent back
 *    (`changed-dependencies.ts`).
 *
 * The scratch checkouts of checks 2 to 4 are set up alike, each setup's run stored as a `setup`
 * record of its stage. What could not be checked (no base commit outside git, no baseline, no
 * regression command or one whose failures cannot be told apart, a scratch checkout of the base
 * commit that could not be made or where the setup command failed) is named in the evidence and
 * in the completed task's reason: generated tests that could not be run at the base commit
 * complete the task `verified_without_failing_tests`, never plain `verified`; any other check
 * unmade, `verified_with_checks_unmade` (plain `verified` is every check made). The evidence is
 * stored on the task after each judgement.
 */
export class Verification {
  private evidence: VerificationEvidence;
  /** The regression suite could not show the change broke nothing (none, or it cannot tell). */
  private regressionUnjudged = false;
  /**
   * The generated tests were to fail at the base commit, but could not be run there (its scratch
   * checkout could not be made, or the setup command failed in it): the round cannot complete
   * plain `verified`.
   */
  private failingUnproven = false;
  /** The existing tests the change edited, as the weakening check found them. */
  private edited: { files: string[]; support: string[] } = { files: [], support: [] };
  /** What the change did to the base commit's test files, as the weakening check found it. */
  private changes: readonly TestFileChange[] = [];
  /** The round's regression run in the workspace, as judged; null when none was. */
  private regressionAfter: RegressionResult | null = null;

  constructor(
    private readonly ctx: RunContext,
    private readonly ports: RunPorts,
    private readonly tests: TestPhase,
    private readonly workspace: RunWorkspace,
    private readonly written: WrittenFiles,
  ) {
    this.evidence =
      readVerification(ctx.task.verification ?? null) ?? emptyEvidence(ctx.task.baseCommit);
  }

  private get regressionCommand(): string | null {
    const command = this.ctx.regressionCommand;
    return command === null || command.trim() === '' ? null : command;
  }

  private get baseCommit(): string | null {
    return this.ctx.task.baseCommit ?? null;
  }

  /** The baseline is still to be taken: a regression command, and none taken or reused yet. */
  get needsBaseline(): boolean {
    return this.regressionCommand !== null && this.evidence.baseline === null;
  }

  /**
   * Takes the regression baseline in the workspace as it is now (before the agent's first turn),
   * or reuses the one stored for the task's base commit and command. Only a clean baseline (every
   * test passed) is stored and reused: one with failures would forgive them for good, though they
   * may have been a flaky test's or a workspace's (a session without the setup command, say).
   */
  baseline(): Observable<void> {
    const command = this.regressionCommand;
    if (command === null) return of(undefined);
    const base = this.baseCommit;
    return defer(async () => {
      await this.ports.log.update({ phase: 'running_baseline' });
      return base === null ? null : this.ports.verification.findBaseline(base, command);
    }).pipe(
      concatMap((stored) => {
        if (stored !== null && isClean(stored)) {
          this.evidence.baseline = stored;
          this.evidence.baseline_reused = true;
          return from(this.save());
        }
        return this.tests
          .runExtra(this.ports.tests.runRegression(this.workspace.directory, command), 'baseline')
          .pipe(
            concatMap(async (report) => {
              const run = toRun(report, base, regressionResult(report, this.workspace.directory));
              this.evidence.baseline = run;
              this.evidence.baseline_reused = false;
              if (base !== null && isClean(run)) {
                await this.ports.verification.saveBaseline(base, command, run);
              }
              await this.save();
            }),
          );
      }),
      map(() => undefined),
    );
  }

  /** Judges a test round (generated tests, then the regression suite): completion or feedback. */
  judge(reports: readonly TestRunReport[], files: readonly string[]): Observable<Judgement> {
    return defer(() => {
      const generated = reports.find((r) => r.kind === 'generated') ?? null;
      const regression = reports.find((r) => r.kind === 'regression') ?? null;
      this.startEvidence(generated, regression);
      const regression$: Observable<TestRunReport | null> =
        regression === null ? of(null) : this.judgeRegression(regression);
      return regression$.pipe(
        concatMap((blocking) => {
          if (generated === null || !generated.passed || blocking !== null) {
            const failed = [
              ...(generated !== null && !generated.passed ? [generated] : []),
              ...(blocking !== null ? [blocking] : []),
            ];
            return from(this.sendBack(failed, generated !== null && !generated.passed));
          }
          return this.afterGreen(files, generated);
        }),
      );
    });
  }

  /** The patch that completes the evidence once the change is committed. */
  completed(headCommit: string | null): TaskPatch {
    this.evidence.head_commit = headCommit;
    return { verification: JSON.stringify(this.evidence) };
  }

  private startEvidence(generated: TestRunReport | null, regression: TestRunReport | null): void {
    const e = this.evidence;
    e.base_commit = this.baseCommit;
    e.generated = generated === null ? null : toRun(generated, null);
    e.regression =
      regression === null
        ? null
        : toRun(regression, null, regressionResult(regression, this.workspace.directory));
    e.generated_at_base = null;
    e.existing_tests_on_change = null;
    e.existing_tests_at_base = null;
    e.generated_on_commit = null;
    e.regression_on_commit = null;
    e.regression_rerun = null;
    e.rerun_scope = null;
    e.regression_granularity = null;
    e.pre_existing_failures = [];
    e.new_failures = [];
    e.flaky_tests = [];
    e.weakening = [];
    e.ignored_files = [];
    e.outside_links = [];
    e.changed_after_tests = [];
    e.changed_dependencies = [];
    e.test_changes_allowed = this.ctx.task.allowTestChanges ?? false;
    e.not_checked = [];
    this.failingUnproven = false;
    this.regressionAfter = null;
    this.regressionUnjudged = this.regressionCommand === null;
    if (this.regressionUnjudged) {
      e.not_checked.push(
        "regression: the session has no regression_command, so the project's existing tests were not run against the change",
      );
    }
  }

  /**
   * Compares the regression run with the baseline, running it once more for new failures; emits
   * the run whose failures block (null when none do).
   */
  private judgeRegression(report: TestRunReport): Observable<TestRunReport | null> {
    const e = this.evidence;
    const command = formatCommandLine(report.command);
    const after = regressionResult(report, this.workspace.directory);
    const baseline = e.baseline === null ? null : resultOf(e.baseline, after.granularity);
    if (e.baseline === null) {
      e.not_checked.push(
        'baseline: no regression baseline was taken (the task resumed after its agent had started), so every regression failure counts as new',
      );
    }
    if (after.granularity === 'command' && !after.passed && baseline !== null && !baseline.passed) {
      this.regressionUnjudged = true;
      e.not_checked.push(
        `regression: ${command} failed at its baseline too and its output names no tests, so a failure the change adds could not be told from the old ones`,
      );
    }
    this.regressionAfter = after;
    const first = compareRegression(command, baseline, after, null);
    const record = (c: typeof first): void => {
      e.regression_granularity = c.granularity;
      e.pre_existing_failures = c.preExisting;
      e.new_failures = c.newFailures;
      e.flaky_tests = c.flaky;
    };
    record(first);
    if (first.newFailures.length === 0) return of(null);
    const again = this.rerunCommand(report, after, first.newFailures);
    e.rerun_scope = again.scope;
    return this.tests
      .runExtra(
        this.ports.tests.runRegression(
          this.workspace.directory,
          again.command,
          this.workspace.agentEnv,
        ),
        'regression_rerun',
      )
      .pipe(
        map((rerunReport) => {
          const rerun = regressionResult(rerunReport, this.workspace.directory);
          e.regression_rerun = toRun(rerunReport, null, rerun);
          const second = compareRegression(command, baseline, after, rerun);
          record(second);
          return second.newFailures.length > 0 ? report : null;
        }),
      );
  }

  /**
   * The command that runs the new failures again, and its scope: the regression command narrowed
   * to them where the tool allows (`rerun-command.ts`), else the whole command.
   */
  private rerunCommand(
    report: TestRunReport,
    after: RegressionResult,
    failures: readonly string[],
  ): { command: string; scope: 'tests' | 'command' } {
    const whole = {
      command: this.regressionCommand ?? formatCommandLine(report.command),
      scope: 'command' as const,
    };
    const narrowed =
      after.granularity === 'test' && after.format !== null
        ? rerunArgv(report.command, after.format, failures)
        : null;
    if (narrowed === null) return whole;
    const line = formatCommandLine(narrowed);
    try {
      if (JSON.stringify(splitCommandLine(line)) !== JSON.stringify(narrowed)) return whole;
    } catch {
      return whole;
    }
    return { command: line, scope: 'tests' };
  }

  private async sendBack(
    failed: readonly TestRunReport[],
    generatedFailed: boolean,
  ): Promise<Judgement> {
    const e = this.evidence;
    const summary = this.ports.human.summarizeTests(failed);
    if (generatedFailed) {
      await this.conclude('tests_failed', 'the generated tests did not pass');
      return { kind: 'feedback', report: summary };
    }
    await this.conclude(
      'regression_broken',
      `the regression suite has new failures: ${e.new_failures.join(', ')}`,
    );
    const pre =
      e.pre_existing_failures.length > 0
        ? `\n\nThese failed before your change too and are not yours to fix: ${e.pre_existing_failures.join(', ')}.`
        : '';
    return {
      kind: 'feedback',
      report: {
        ...summary,
        failures: [
          problem(
            'Your change broke regression tests that passed before it',
            `New failures (they passed at the base commit and failed twice now): ${e.new_failures.join(', ')}.${pre}`,
          ),
          ...summary.failures,
        ],
      },
    };
  }

  /**
   * The round is green: the weakening check, the new tests that did not run, the ignored files,
   * the links leading outside, the generated tests without what git ignores (when some of it
   * changed), the existing tests the change edited as they were, then the generated tests at the
   * base commit.
   */
  private afterGreen(files: readonly string[], generated: TestRunReport): Observable<Judgement> {
    return defer(async () => {
      await this.ports.log.update({ phase: 'verifying' });
      // A run that resumed in a test round has not looked at the project yet.
      await this.tests.lookOnce();
      return (
        (await this.checkWeakening()) ??
        (await this.checkSkippedNew(files, generated)) ??
        (await this.checkIgnored()) ??
        (await this.checkLinks())
      );
    }).pipe(
      concatMap((found) => (found !== null ? of(found) : this.checkOnCommit(files))),
      concatMap((weakened) => (weakened !== null ? of(weakened) : this.checkRewritten())),
      concatMap((rewritten) =>
        rewritten !== null ? of(rewritten) : this.checkFailingAtBase(files),
      ),
    );
  }

  private async checkWeakening(): Promise<Judgement | null> {
    const e = this.evidence;
    const base = this.baseCommit;
    const configFiles = this.tests.configFilesNow;
    const { files: changes, support } =
      base === null
        ? { files: [], support: { files: [], tests: [] } }
        : await this.ports.verification.testChanges(
            this.workspace.directory,
            base,
            configFiles ?? [],
          );
    const runnerFiles = jsTestConfigFiles(this.workspace.directory);
    this.edited = editedTests(changes, support, runnerFiles);
    this.changes = changes;
    if (base !== null && configFiles === null) {
      e.not_checked.push(
        'test configuration: the test configuration files changed before the run resumed were not looked at',
      );
    }
    if (base === null) {
      e.not_checked.push(
        'test changes: the project is not a git repository with a base commit, so deleted, renamed or skipped tests could not be found',
      );
    }
    e.weakening = detectWeakening(
      changes,
      { baseline: suiteTests(e.baseline), after: suiteTests(e.regression) },
      runnerFiles,
    );
    if (e.weakening.length === 0 || e.test_changes_allowed) return null;
    const what = e.weakening.map((w) => `- You ${w.detail}.`).join('\n');
    await this.conclude(
      'tests_weakened',
      `the change weakened the existing tests: ${e.weakening.map((w) => w.detail).join('; ')}`,
    );
    return {
      kind: 'feedback',
      report: {
        failures: [
          problem(
            'Existing tests were weakened',
            `${what}\nExisting tests must keep running and passing: undo these changes, and fix the code instead of the tests.`,
          ),
        ],
        output: what,
        failed: e.weakening.length,
        total: e.weakening.length,
        testChanges: true,
      },
    };
  }

  /** New tests that did not run (`skipped-new-tests.ts`): sent back, as a failing test is. */
  private async checkSkippedNew(
    files: readonly string[],
    generated: TestRunReport,
  ): Promise<Judgement | null> {
    const skipped = skippedNewTests(
      generated.cases,
      generatedFiles(files, this.changes, this.baseCommit !== null),
    );
    if (skipped.length === 0) return null;
    const named = skipped.map((c) =>
      c.name === c.filePath ? `${c.filePath} (its verdict line)` : `${c.name} in ${c.filePath}`,
    );
    await this.conclude(
      'tests_failed',
      `new tests were skipped or marked as expected to fail: ${named.join(', ')}`,
    );
    const what = named.map((n) => `- ${n}`).join('\n');
    return {
      kind: 'feedback',
      report: {
        failures: [
          problem(
            'New tests did not run',
            `These tests you wrote were skipped or marked as expected to fail (skip, skipif, xfail, expectedFailure, #[ignore], .skip, .todo):\n${what}\nA new test proves the change only if it runs and passes: remove the marker. A test expected to fail shows the change does not do what it tests yet: fix the code.`,
          ),
        ],
        output: what,
        failed: skipped.length,
        total: generated.cases.length,
      },
    };
  }

  /** Files the agent wrote that git ignores: the change committed would be without them. */
  private async checkIgnored(): Promise<Judgement | null> {
    const e = this.evidence;
    if (this.baseCommit === null) return null;
    if (this.ctx.resumed) {
      e.not_checked.push(
        'ignored files: only the files the agent wrote since the run resumed were checked for being ignored by git',
      );
    }
    const written = this.written.within(this.workspace.directory);
    if (written.length === 0) return null;
    // What the look for test files after the agent's last turn saw, else git asked now.
    const known = this.tests.ignoredNow;
    const ignored =
      known !== null
        ? ignoredAmong(written, known)
        : await this.ports.verification.ignoredFiles(this.workspace.directory, written);
    if (ignored === null) {
      e.not_checked.push('ignored files: git could not say which of the files written it ignores');
      return null;
    }
    e.ignored_files = ignored;
    if (ignored.length === 0) return null;
    await this.conclude(
      'files_ignored',
      `files the agent wrote are ignored by git, so the commit does not hold them: ${ignored.join(', ')}`,
    );
    const what = `You wrote ${ignored.join(', ')}, which git ignores (a .gitignore or the repository's exclude rules).`;
    return {
      kind: 'feedback',
      report: {
        failures: [
          problem(
            'Files git ignores hold part of your change',
            `${what} The tests ran with them, but they are not part of the change that is committed, reviewed and merged. Make the change without them: put what it needs in files git tracks, and delete these files if nothing needs them.`,
          ),
        ],
        output: what,
        failed: ignored.length,
        total: ignored.length,
      },
    };
  }

  /**
   * Symbolic links the change created or changed that lead outside the repository: the tests ran
   * through them on this machine, but the commit holds only the link, leading to nothing a
   * reviewer has.
   */
  private async checkLinks(): Promise<Judgement | null> {
    const e = this.evidence;
    if (this.baseCommit === null) return null;
    const links = this.tests.outsideLinksNow;
    if (links === null) {
      e.not_checked.push(
        'links: the symbolic links of the change were not looked at (no snapshot of the project was taken before the agent worked)',
      );
      return null;
    }
    e.outside_links = links;
    if (links.length === 0) return null;
    await this.conclude(
      'links_outside',
      `symbolic links of the change lead outside the repository, so the commit holds links to nothing a reviewer has: ${links.join(', ')}`,
    );
    const what = `These symbolic links lead outside the repository: ${links.join(', ')}.`;
    return {
      kind: 'feedback',
      report: {
        failures: [
          problem(
            'Symbolic links lead outside the repository',
            `${what} The tests ran through them on this machine, but the commit that is reviewed and merged holds only the links, not what they lead to. Put what the change needs in files of the repository (a link may only lead to a file of the repository, by a relative path).`,
          ),
        ],
        output: what,
        failed: links.length,
        total: links.length,
      },
    };
  }

  /**
   * When files git ignores were created or changed while the agent worked (written from the shell,
   * say: the look for test files after its last turn found them; dependencies and caches left
   * out), the generated tests run once more in a clean checkout of the change: what its commit
   * holds, after the session's setup command ran there as in a new workspace (so what it builds
   * or installs, git ignoring it, is there as the commit would have it), with the installed
   * dependencies linked where it made none, nothing else git ignores. When they pass there, so
   * must the regression suite where the round ran it (`regressionOnCommit`). Failing there, the
   * change rests on files its commit does not hold: sent back, naming them. The setup command
   * failing there is sent back as what it is (`setup_failed_on_commit`): the committed change does
   * not set up. A run that cannot be made is said, not blamed. Nothing runs when no such file
   * changed.
   */
  private checkOnCommit(files: readonly string[]): Observable<Judgement | null> {
    const e = this.evidence;
    const base = this.baseCommit;
    const changed = this.tests.ignoredChangedNow;
    if (base === null) return of(null);
    if (changed === null) {
      e.not_checked.push(
        'ignored files written from the shell: what git ignores was not looked at (no snapshot of the project was taken before the agent worked)',
      );
      return of(null);
    }
    if (changed.length === 0) return of(null);
    const forgiven = this.forgivenOnCommit();
    const regression = forgiven === null ? null : this.onCommitRegression(forgiven);
    const run$ = this.ports.verification.runOnCommit(
      this.workspace.directory,
      base,
      files,
      this.ctx.testCommand,
      this.ctx.setupCommand,
      this.workspace.agentEnv,
      regression,
    );
    return this.runSetUp(run$, 'generated_on_commit', ON_COMMIT_STAGES).pipe(
      toArray(),
      // Only the run is caught: a failed write of the verdict is no run that could not be made,
      // nor is the run's own end (`stopsTheRun`).
      catchError((error: unknown) =>
        stopsTheRun(error)
          ? throwError(() => error)
          : of([error instanceof Error ? error : new Error(String(error))]),
      ),
      concatMap(async ([report, ...reports]): Promise<Judgement | null> => {
        if (report !== null && 'setupFailed' in report) {
          return this.setupFailedOnCommit(report.setupFailed);
        }
        if (report === null || report instanceof Error) {
          e.not_checked.push(
            `ignored files written from the shell: the generated tests could not be run in a clean checkout of the change (${report?.message ?? 'no tests ran'})`,
          );
          return null;
        }
        e.generated_on_commit = toRun(report, null);
        if (report.passed) {
          return regression === null || forgiven === null
            ? null
            : this.regressionOnCommit(reports, changed, forgiven);
        }
        e.ignored_files = changed;
        await this.conclude(
          'files_ignored',
          `the generated tests fail in a clean checkout of the change, without the files git ignores that were created or changed: ${changed.join(', ')}`,
        );
        return this.failsOnCommit(
          'Your tests pass here, but fail',
          '',
          'The tests in the clean checkout',
          report.output,
          changed,
          {
            failed: report.cases.filter((c) => c.status === 'failed' || c.status === 'error')
              .length,
            total: report.cases.length,
          },
        );
      }),
    );
  }

  /**
   * The feedback for a run that passed in the workspace and fails in the clean checkout of the
   * change (`what` fails there, `failures` said after the files, `output` under `heading`): the
   * files git ignores that `changed` hold part of the change.
   */
  private failsOnCommit(
    what: string,
    failures: string,
    heading: string,
    output: string,
    changed: readonly string[],
    counts: { failed: number; total: number },
  ): Judgement {
    const setUp = this.ctx.setupCommand === null ? '' : ", set up by the project's setup command";
    const where = `${what} in a clean checkout of your change (what its commit holds${setUp}, with the installed dependencies), where the files git ignores that were created or changed while you worked are missing: ${changed.join(', ')}.${failures}`;
    return {
      kind: 'feedback',
      report: {
        failures: [
          problem(
            'Files git ignores hold part of your change',
            `${where} They are not part of the change that is committed, reviewed and merged. Make the change without them: put what it needs in files git tracks.\n\n${heading}:\n${output}`,
          ),
        ],
        output,
        ...counts,
      },
    };
  }

  /**
   * The regression suite for the clean checkout of the change (`checkOnCommit`), where the round
   * ran it in the workspace and its failures could be told apart: run again there for the
   * failures that are not `forgiven` (`forgivenOnCommit`), unless it timed out.
   */
  private onCommitRegression(forgiven: RegressionResult): OnCommitRegression | null {
    const command = this.regressionCommand;
    if (command === null) return null;
    return {
      command,
      again: (report) => {
        if (report.timedOut) return null;
        const after = regressionResult(report, this.workspace.directory);
        const { newFailures } = compareRegression(command, forgiven, after, null);
        return newFailures.length === 0
          ? null
          : this.rerunCommand(report, after, newFailures).command;
      },
    };
  }

  /**
   * What may fail in the clean checkout of the change without blaming the files git ignores:
   * what failed in the workspace's run, and what failed at the baseline (forgiven there, though
   * it happened to pass in the workspace). Null where the workspace's run was not judged.
   */
  private forgivenOnCommit(): RegressionResult | null {
    const inWorkspace = this.regressionAfter;
    if (inWorkspace === null || this.regressionUnjudged) return null;
    const baseline = this.evidence.baseline;
    const atBaseline = baseline === null ? [] : resultOf(baseline, inWorkspace.granularity).failing;
    return {
      ...inWorkspace,
      failing: [...new Set([...inWorkspace.failing, ...atBaseline])],
    };
  }

  /**
   * The regression suite in the clean checkout of the change (`reports`: its run, then the run
   * again of what failed there and is not `forgiven`: `forgivenOnCommit`): a failure that is not,
   * failing again, rests on the files git ignores (`changed`) that the workspace has and the
   * commit lacks. Sent back, naming them and the failures. One that passed when run again is
   * flaky (named, as the workspace's are). A run that timed out there (a cold checkout can be
   * slower), or that could not be made, is said in `not_checked`, not blamed.
   */
  private async regressionOnCommit(
    reports: readonly ScratchOutcome[],
    changed: readonly string[],
    forgiven: RegressionResult,
  ): Promise<Judgement | null> {
    const e = this.evidence;
    const [run, again] = reports.filter(isReport);
    if (run === undefined) {
      e.not_checked.push(
        'ignored files written from the shell: the regression suite could not be run in the clean checkout of the change',
      );
      return null;
    }
    const directory = this.workspace.directory;
    const after = regressionResult(run, directory);
    e.regression_on_commit = toRun(run, null, after);
    if (run.timedOut || again?.timedOut === true) {
      e.not_checked.push(
        'ignored files written from the shell: the regression suite timed out in the clean checkout of the change, so whether it passes without them could not be told',
      );
      return null;
    }
    const rerun = again === undefined ? null : regressionResult(again, directory);
    const { newFailures, flaky } = compareRegression(
      formatCommandLine(run.command),
      forgiven,
      after,
      rerun,
    );
    e.flaky_tests = [...new Set([...e.flaky_tests, ...flaky])];
    if (newFailures.length === 0) return null;
    e.ignored_files = [...changed];
    await this.conclude(
      'files_ignored',
      `the regression suite fails in a clean checkout of the change, without the files git ignores that were created or changed (${changed.join(', ')}): ${newFailures.join(', ')}`,
    );
    return this.failsOnCommit(
      'The regression suite passes here, but fails',
      ` Failing there, and again when run a second time: ${newFailures.join(', ')}.`,
      'The regression suite in the clean checkout',
      run.output,
      changed,
      { failed: newFailures.length, total: after.total ?? newFailures.length },
    );
  }

  /**
   * A run in a scratch checkout (`run$`): its setup command's events stored as `setup` records of
   * `stage` (`RunWorkspace.scratchSetupEvent`), its tests' as `TestPhase.runExtra` stores them
   * (the n-th report's of `testStages[n]` where given, else of `stage`). Emits the tests' reports;
   * else the setup command's result when it failed there (no tests ran; also when the run then
   * failed), or null when the run ended with neither.
   */
  private runSetUp(
    run$: Observable<ScratchRunEvent>,
    stage: ScratchStage,
    testStages: readonly string[] = [],
  ): Observable<TestRunReport | SetupFailed | null> {
    let setup: CommandResult | null = null;
    const failedSetup = (): SetupFailed | null =>
      setup !== null && !setupPassed(setup) ? { setupFailed: setup } : null;
    const tests$ = run$.pipe(
      concatMap((event) => {
        if (event.type !== 'setup') return of(event);
        return from(this.workspace.scratchSetupEvent(event.event, stage)).pipe(
          concatMap((result) => {
            if (result !== null) setup = result;
            return EMPTY;
          }),
        );
      }),
    );
    return this.tests
      .runExtra(tests$, (index) => testStages[index] ?? stage)
      .pipe(
        defaultIfEmpty(null),
        map((report) => report ?? failedSetup()),
        catchError((error: unknown) => {
          const failed = failedSetup();
          return failed !== null ? of(failed) : throwError(() => error);
        }),
      );
  }

  /**
   * The session's setup command failed in the clean checkout of the change, where it passed in
   * the workspace before the agent worked: the change as committed does not set up (it broke the
   * setup, or the setup needs files git ignores), so the tests were not run there. Sent back as
   * that, with the command's output; it is not `files_ignored`, which the tests failing says.
   */
  private async setupFailedOnCommit(setup: CommandResult): Promise<Judgement> {
    const failure = RunWorkspace.verdict(setup).message;
    await this.conclude(
      'setup_failed_on_commit',
      `the session's setup command failed in a clean checkout of the change, so the generated tests were not run there: ${failure.split('\n', 1)[0]}`,
    );
    return {
      kind: 'feedback',
      report: {
        failures: [
          problem(
            "The project's setup command fails on your change",
            `Your change is checked in a clean checkout of what its commit holds, set up with the session's setup command as a new workspace is. There it failed, so your tests were not run: the committed change must set up without the files git ignores that you created or changed while you worked. Make the setup work from the files git tracks.\n\n${failure}`,
          ),
        ],
        output: failure,
        failed: 1,
        total: 1,
      },
    };
  }

  /**
   * The base commit's versions of the existing test files the change edited (and of those under
   * a test directory whose helpers, fixtures or expected output it edited), run against the
   * change in a scratch checkout of it: they must pass, unless they fail at the base commit too
   * (then whether the change broke them cannot be told: said in `not_checked`). Both checkouts are
   * set up by the session's setup command first (alike, so that a build one lacks cannot pass for
   * a rewrite); a setup that fails in either is said in `not_checked` too. A rewritten test is a
   * weakening: sent back unless the task allows test changes (then recorded).
   */
  private checkRewritten(): Observable<Judgement | null> {
    const e = this.evidence;
    const base = this.baseCommit;
    const { files, support } = this.edited;
    if (base === null || files.length === 0) return of(null);
    if (files.length > MAX_REWRITE_CHECK_FILES) {
      e.not_checked.push(
        `rewritten tests: the existing tests the change edited, and those beside the test data it edited, are ${files.length} files, more than the ${MAX_REWRITE_CHECK_FILES} run as they were`,
      );
      return of(null);
    }
    // A run that cannot be made (git could not make its scratch checkout, or the setup command
    // failed in it) is said, not blamed.
    const run = (on: 'change' | 'base'): Observable<TestRunReport | string> =>
      this.runSetUp(
        this.ports.verification.runBaseTests(
          this.workspace.directory,
          base,
          files,
          support,
          this.ctx.testCommand,
          on,
          this.ctx.setupCommand,
          this.workspace.agentEnv,
        ),
        on === 'change' ? 'existing_tests_on_change' : 'existing_tests_at_base',
      ).pipe(
        map((outcome) => {
          if (outcome === null) return 'no tests ran';
          if ('setupFailed' in outcome) {
            const where = on === 'change' ? 'the change' : 'the base commit';
            return `the session's setup command ${setupEnded(outcome.setupFailed)} in a scratch checkout of ${where}`;
          }
          return outcome;
        }),
        catchError((error: unknown) =>
          stopsTheRun(error)
            ? throwError(() => error)
            : of(error instanceof Error ? error.message : String(error)),
        ),
      );
    const unrun = (why: string): null => {
      e.not_checked.push(
        `rewritten tests: the existing tests the change edited could not be run as they were (${why})`,
      );
      return null;
    };
    return run('change').pipe(
      concatMap((onChange) => {
        if (typeof onChange === 'string') return of(unrun(onChange));
        e.existing_tests_on_change = toRun(onChange, null);
        if (onChange.passed) return of(null);
        return run('base').pipe(
          concatMap(async (atBase): Promise<Judgement | null> => {
            if (typeof atBase === 'string') return unrun(atBase);
            e.existing_tests_at_base = toRun(atBase, base);
            const broken = brokenTests(onChange, atBase);
            if (broken.length > 0) return this.rewritten(onChange, broken);
            e.not_checked.push(
              `rewritten tests: the existing tests the change edited (${files.join(', ')}), as they were, did not pass against it, but no test of them that passes at the base commit failed by name, nor did a file of them whose tests all pass there error (a time-out, a file without tests, or tests that fail at the base too), so whether the change broke what they check could not be told`,
            );
            return null;
          }),
        );
      }),
    );
  }

  /** Tests as they were fail against the change by name, and pass at the base: sent back. */
  private async rewritten(
    onChange: TestRunReport,
    broken: readonly string[],
  ): Promise<Judgement | null> {
    const e = this.evidence;
    const { files, support } = this.edited;
    const helpers = support.length > 0 ? ` (with ${support.join(', ')} as they were)` : '';
    e.weakening.push({
      kind: 'rewritten',
      file: files.length === 1 ? files[0] : null,
      detail: `changed existing tests${helpers}: as they were at the base commit, ${broken.length} of them pass there and fail against the change: ${broken.join(', ')} (in ${files.join(', ')})`,
    });
    if (e.test_changes_allowed) return null;
    await this.conclude(
      'tests_weakened',
      `the change rewrote existing tests: as they were at the base commit they fail against it (${broken.join(', ')})`,
    );
    const what = `You changed what existing tests check: ${files.join(', ')}${helpers}. As they were at the base commit, these pass there and fail against your change: ${broken.join(', ')}.`;
    return {
      kind: 'feedback',
      report: {
        failures: [
          problem(
            'Existing tests were rewritten',
            `${what}\nExisting tests must keep passing as they are: undo your changes to them and fix the code instead. Adding new tests to these files is fine.\n\nThe existing tests, as they were, against your change:\n${onChange.output}`,
          ),
        ],
        output: onChange.output,
        failed: broken.length,
        total: onChange.cases.length,
        testChanges: true,
      },
    };
  }

  private checkFailingAtBase(files: readonly string[]): Observable<Judgement> {
    const e = this.evidence;
    const base = this.baseCommit;
    if (!(this.ctx.task.requireFailingTests ?? true)) {
      e.not_checked.push(
        'failing tests: require_failing_tests is false, so the generated tests were not run at the base commit',
      );
      return from(this.complete());
    }
    if (base === null) {
      e.not_checked.push(
        'failing tests: the project is not a git repository with a base commit, so the generated tests could not be run without the change',
      );
      return from(this.complete());
    }
    const run$ = this.ports.verification.runAtBase(
      this.workspace.directory,
      base,
      files,
      this.ctx.testCommand,
      withTheGeneratedTests(files, this.tests.supportFilesNow, this.tests.configFilesNow ?? []),
      this.ctx.setupCommand,
      this.workspace.agentEnv,
    );
    return this.runSetUp(run$, 'generated_at_base').pipe(
      // Only a checkout that could not be made is caught: any other failure fails the task.
      catchError((error: unknown) =>
        error instanceof ScratchCheckoutError ? of(error) : throwError(() => error),
      ),
      concatMap(async (report): Promise<Judgement> => {
        if (report === null || report instanceof ScratchCheckoutError || 'setupFailed' in report) {
          // Tests that did not run at the base commit prove nothing about it.
          this.failingUnproven = true;
          e.not_checked.push(
            report === null
              ? 'failing tests: no generated test ran in the scratch checkout of the base commit, so whether they fail without the change could not be told'
              : report instanceof ScratchCheckoutError
                ? `failing tests: the scratch checkout of the base commit could not be made (${report.reason}), so the generated tests were not run there and whether they fail without the change could not be told`
                : `failing tests: the session's setup command ${setupEnded(report.setupFailed)} in a scratch checkout of the base commit (its output: the \`setup\` record of stage generated_at_base), so the generated tests were not run there and whether they fail without the change could not be told`,
          );
          return this.complete();
        }
        e.generated_at_base = toRun(report, base);
        if (!report.passed) return this.complete();
        const script = throughScript(report.command);
        await this.conclude(
          'tests_pass_without_change',
          `the generated tests pass at the base commit too, so they do not test the change${script}`,
        );
        return {
          kind: 'feedback',
          report: {
            failures: [
              problem(
                'Your tests pass without your change',
                `Every one of your tests also passes on the code before your change (base commit ${base}), so none of them tests it. Write tests that exercise the new behaviour: at least one must fail without your change.${script === '' ? '' : `\n\nNote: your test files ran${script}.`}\n\nThe run at the base commit:\n${report.output}`,
              ),
            ],
            output: report.output,
            failed: 0,
            total: report.cases.length,
          },
        };
      }),
    );
  }

  private async complete(): Promise<Judgement> {
    const e = this.evidence;
    if (!this.workspace.testedTreeRecorded) {
      e.not_checked.push(
        'tested tree: git could not say what changed when the test round started, so the commit is not checked against the tree the tests ran on',
      );
    }
    const bytecodeLeft = this.workspace.strayBytecodeLeft;
    if (bytecodeLeft !== null) e.not_checked.push(bytecodeLeft);
    // Last, so that what the tests and the scratch checkouts did to them counts too.
    const dependencies = dependencyFindings(
      await this.workspace.lookAtDependencies(),
      this.tests.dependencyManifestsNow,
    );
    e.changed_dependencies = dependencies.named;
    if (dependencies.unmade !== null) e.not_checked.push(dependencies.unmade);
    const reason: StatusReason =
      this.baseCommit === null
        ? 'verified_without_base'
        : dependencies.changed !== null
          ? 'verified_with_changed_dependencies'
          : !(this.ctx.task.requireFailingTests ?? true) || this.failingUnproven
            ? 'verified_without_failing_tests'
            : e.weakening.length > 0
              ? 'verified_with_test_changes'
              : this.regressionUnjudged
                ? 'verified_without_regression'
                : e.flaky_tests.length > 0
                  ? 'verified_with_flaky_tests'
                  : e.not_checked.length > 0
                    ? 'verified_with_checks_unmade'
                    : 'verified';
    const notes = [
      ...(dependencies.changed !== null ? [dependencies.changed] : []),
      ...e.not_checked,
      ...(e.weakening.length > 0
        ? [`test changes allowed: ${e.weakening.map((w) => w.detail).join('; ')}`]
        : []),
      ...(e.flaky_tests.length > 0
        ? [
            `flaky regression tests (failed on the change, passed when run again): ${e.flaky_tests.join(', ')}`,
          ]
        : []),
    ];
    await this.conclude(
      'verified',
      notes.length === 0 ? 'verified' : `verified, except: ${notes.join('; ')}`,
    );
    return { kind: 'completed', reason };
  }

  /**
   * The passing round's change could not be committed: `files` (from the worktree's top)
   * changed since the round started, so the commit would hold what no test ran against. Sent
   * back to the agent, naming them; the evidence keeps them (`changed_after_tests`).
   */
  async changedAfterTests(files: readonly string[]): Promise<Feedback> {
    const e = this.evidence;
    e.changed_after_tests = [...files];
    e.head_commit = null;
    await this.conclude(
      'changed_after_tests',
      `files changed after the tests started, so the tree to commit is not the one tested: ${files.join(', ')}`,
    );
    const what = `These files changed after the test round started, before its change could be committed: ${files.join(', ')}.`;
    return {
      kind: 'feedback',
      report: {
        failures: [
          problem(
            'Files changed after the tests started',
            `${what} The commit must hold exactly what the tests ran against, so nothing was committed. Either a process still running changed them (a background job or a server left running: stop it; processes left running in the workspace are ended before each test round), or the tests themselves write files git does not ignore (snapshot updates, generated code: make them leave the files as they are; reports or coverage data they write: have git ignore them in .gitignore). Then the tests run again.`,
          ),
        ],
        output: what,
        failed: files.length,
        total: files.length,
      },
    };
  }

  private async conclude(verdict: VerificationVerdict, reason: string): Promise<void> {
    this.evidence.verdict = verdict;
    this.evidence.reason = reason;
    this.evidence.checked_at = new Date(this.ports.clock.nowMs()).toISOString();
    await this.save();
  }

  private async save(): Promise<void> {
    await this.ports.log.update({ verification: JSON.stringify(this.evidence) });
  }
}
