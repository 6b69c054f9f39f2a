import { Inject, Injectable } from '@nestjs/common';
import { realpathSync, statSync } from 'fs';
import { isAbsolute, join, normalize, relative, sep } from 'path';
import {
  concat,
  concatMap,
  defer,
  EMPTY,
  filter,
  finalize,
  map,
  Observable,
  of,
  OperatorFunction,
} from 'rxjs';
import { AppConfig, serverName } from 'src/config';
import {
  BoundedBuffer,
  CHILD_ISOLATION,
  ChildIsolation,
  childTempDir,
  readChildFileAsync,
  removeChildTempDir,
  removeOrphanedChildTempDirs,
  checkWorkingDirectory,
} from 'src/process';
import { formatCommandLine, splitCommandLine } from 'src/test-runner/command-line';
import { describeEnd, statusOf } from 'src/test-runner/command-end';
import { capOutput, casesForFile, TestCaseResult } from 'src/test-runner/test-case-results';
import { TestCommandRunner } from 'src/test-runner/test-command-runner';
import { parseJestJson } from 'src/test-runner/jest-results';
import { parseJunitXml } from 'src/test-runner/junit-report';
import {
  argvForFile,
  detectTestCommand,
  planForFiles,
  planFromCommand,
  TestCommandPlan,
} from 'src/test-runner/test-command-detector';
import {
  FinderLog,
  ProjectChanges,
  ProjectSnapshot,
  TestFileFinder,
} from 'src/test-runner/test-file-finder';
import { TestRunSlots } from 'src/test-runner/test-run-slots';
import {
  pytestArgsStart,
  pytestReportTests,
  RegressionTest,
  unittestVerbose,
  withJunitReport,
} from 'src/test-runner/regression-report';
import { TestEcosystem } from 'src/test-runner/test-file-patterns';

export interface TestRunReport {
  kind: 'generated' | 'regression';
  /** The command without the file names (for a generated run: the prefix each file was added to). */
  command: string[];
  /** The directory the commands ran in (the project, or a scratch checkout of it). */
  directory?: string;
  /** First non-zero exit code of the run's commands; 0 when all exited 0; null when one never ran or was killed. */
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** Output of every command, each under a `$ command` header, capped at `TEST_OUTPUT_MAX_BYTES`. */
  output: string;
  cases: TestCaseResult[];
  /**
   * A regression run's tests by id, from the report the server had its tool write
   * (`regression-report.ts`: pytest); absent or null where there is none, or it could not be read.
   */
  tests?: RegressionTest[] | null;
  /** Every command exited 0 in time, at least one case ran, and no case failed or errored. */
  passed: boolean;
  /** Each command run (one per generated test file; one for regression). */
  invocations: {
    command: string[];
    exitCode: number | null;
    timedOut: boolean;
    durationMs: number;
    /** Why the command could not start (its program missing or not executable), else null. */
    startError: string | null;
  }[];
}

export type TestRunEvent =
  | { type: 'spawned'; pid: number; command: string[] }
  | { type: 'report'; report: TestRunReport };

/** The name of a test run's JUnit report directory starts so (`childTempDir`). */
const REPORT_DIR_PREFIX = 'cta-junit-';

/** How tests are run in a project; goes into the simulated human's write-tests prompt. */
export interface TestSetup {
  framework: string;
  command: string;
  conventions: string;
  ecosystem: TestEcosystem;
}

/** Most generated test files run for one task iteration. */
export const MAX_GENERATED_FILES = 100;

/** Keeps only the final report of a test run's events (for `lastValueFrom`). */
export function reportOnly(): OperatorFunction<TestRunEvent, TestRunReport> {
  return (source) =>
    source.pipe(
      filter((e): e is Extract<TestRunEvent, { type: 'report' }> => e.type === 'report'),
      map((e) => e.report),
    );
}

function isOutside(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/** `path`'s real path (`realpath(3)`); null when it cannot be resolved. */
function realPathOf(path: string): string | null {
  try {
    return realpathSync.native(path);
  } catch {
    return null;
  }
}

/**
 * A generated test file the runner refuses to run: outside the project, not a regular file, or
 * too many of them. Internal: the run fails its task with it.
 */
export class UnsafeTestFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeTestFileError';
  }
}

/** Most of a JUnit report read (the test command writes it, so it is bounded like its output). */
const MAX_REPORT_BYTES = 16 * 1024 * 1024;

/**
 * Runs the tests the agent wrote and the project's regression suite. Test commands are argv arrays
 * run without a shell in the project directory (see `TestCommandRunner`), each generated test file
 * by its own command with the file as a separate argument, so results are per file, or per test
 * case where the tool writes JUnit XML (`node --test`, pytest). The generated files share one
 * budget of `TEST_TIMEOUT_SECONDS` (a file gets what is left; files left when it is used up are
 * not run and count as errors), the regression command has `REGRESSION_TIMEOUT_SECONDS`.
 *
 * The run methods return cold Observables: subscribing starts the commands once a test-run slot
 * is free (`TestRunSlots`, MAX_CONCURRENT_TEST_RUNS), unsubscribing stops the running command's
 * process group. They emit `spawned` (the process group id, to record for crash recovery) per
 * command and end with one `report`.
 */
@Injectable()
export class TestRunnerService {
  constructor(
    private readonly config: AppConfig,
    private readonly commands: TestCommandRunner,
    private readonly finder: TestFileFinder,
    @Inject(CHILD_ISOLATION) private readonly isolation: ChildIsolation,
    private readonly slots: TestRunSlots,
  ) {}

  /** The test command plan: the session's `test_command` when set, else detected. */
  planFor(
    projectPath: string,
    testCommand: string | null,
    files: readonly string[] = [],
  ): TestCommandPlan | null {
    const detected = detectTestCommand(projectPath);
    if (testCommand !== null && testCommand.trim() !== '') {
      return planFromCommand(testCommand, detected?.ecosystem ?? 'unknown');
    }
    return detected ?? planForFiles(projectPath, files);
  }

  /** What to tell the agent about running tests in this project. */
  describeTestSetup(projectPath: string, testCommand: string | null): TestSetup {
    const plan = this.planFor(projectPath, testCommand);
    if (plan === null) {
      return {
        framework: 'a test framework that suits the project',
        command: 'the command you choose (state it in your reply)',
        conventions:
          'Put the tests in files named like test_*.py or *.test.js under tests/ or test/.',
        ecosystem: 'unknown',
      };
    }
    return {
      framework: plan.framework,
      command: plan.display,
      conventions: plan.conventions,
      ecosystem: plan.ecosystem,
    };
  }

  /** Project state before the agent's first turn; `log` takes the finder's warnings. */
  snapshot(projectPath: string, log?: FinderLog): Promise<ProjectSnapshot> {
    return this.finder.snapshot(projectPath, log);
  }

  /**
   * Test files created or changed since `before` (project-relative, sorted), what git ignores;
   * `log` takes the finder's warnings.
   */
  changes(projectPath: string, before: ProjectSnapshot, log?: FinderLog): Promise<ProjectChanges> {
    const ecosystem = detectTestCommand(projectPath)?.ecosystem ?? 'unknown';
    return this.finder.changes(projectPath, before, ecosystem, log);
  }

  /**
   * Runs the generated test files one command per file. Errors (Observable error) with an
   * `UnsafeTestFileError` when a file lies outside the project, a `WorkingDirectoryGoneError` when
   * the project is gone, and a `DomainError` when `testCommand` is not an allowed command line.
   * No files, or no way to run them, gives a failed report saying so. In a sandbox the commands
   * may also read `readable` (dependency directories linked into a scratch checkout). `env` is
   * added to the commands' environment (the guard of a workspace's git, `RefGuard`).
   */
  runGenerated(
    projectPath: string,
    files: readonly string[],
    testCommand: string | null,
    readable: readonly string[] = [],
    env: Record<string, string> = {},
  ): Observable<TestRunEvent> {
    const run = defer(() => {
      const root = checkWorkingDirectory(projectPath, serverName(this.config));
      const safeFiles = this.checkFiles(root, files);
      const plan = this.planFor(root, testCommand, safeFiles);
      if (safeFiles.length === 0 || plan === null) {
        const why =
          safeFiles.length === 0
            ? 'No test files were created or changed, so there was nothing to run. Write the tests as new files named like the existing tests.'
            : 'No test command is configured for this session and none could be detected for these files.';
        return of<TestRunEvent>({
          type: 'report',
          report: this.emptyReport('generated', plan, why),
        });
      }
      return this.runFiles(root, plan, safeFiles, readable, env);
    });
    return this.slots.gate(run);
  }

  /**
   * Runs the session's regression command once, as one test case, `env` added to its environment;
   * in a sandbox it may also read `readable` (as `runGenerated`'s commands may). A pytest command
   * writes a JUnit report to a temporary directory of the server's (removed before the report is
   * emitted, or once unsubscribed), read for the run's tests by id (`regression-report.ts`);
   * `python -m unittest` runs verbose, its output naming every test.
   */
  runRegression(
    projectPath: string,
    regressionCommand: string,
    env: Record<string, string> = {},
    readable: readonly string[] = [],
  ): Observable<TestRunEvent> {
    const run = defer(() => {
      const argv = splitCommandLine(regressionCommand);
      const root = checkWorkingDirectory(projectPath, serverName(this.config));
      if (pytestArgsStart(argv) === 0) {
        return this.runRegressionWith(
          root,
          argv,
          unittestVerbose(argv) ?? argv,
          null,
          env,
          readable,
        );
      }
      const reportDir = childTempDir(this.isolation, REPORT_DIR_PREFIX);
      const reportPath = join(reportDir, 'regression.xml');
      let removal: Promise<void> | null = null;
      const removeReport = (): Promise<void> => (removal ??= removeChildTempDir(reportDir));
      return this.runRegressionWith(
        root,
        argv,
        withJunitReport(argv, reportPath) ?? argv,
        { dir: reportDir, path: reportPath },
        env,
        readable,
      ).pipe(
        concatMap(async (event) => {
          if (event.type === 'report') await removeReport();
          return event;
        }),
        finalize(() => void removeReport()),
      );
    });
    return this.slots.gate(run);
  }

  /**
   * The regression command `argv`, run as `runArgv` (the same, or with the report asked for at
   * `report.path`, in `report.dir`, which the command may write).
   */
  private runRegressionWith(
    root: string,
    argv: string[],
    runArgv: string[],
    report: { dir: string; path: string } | null,
    env: Record<string, string>,
    readable: readonly string[],
  ): Observable<TestRunEvent> {
    const max = this.config.TEST_OUTPUT_MAX_BYTES;
    return this.commands
      .run({
        argv: runArgv,
        cwd: root,
        timeoutMs: this.config.REGRESSION_TIMEOUT_SECONDS * 1000,
        maxOutputBytes: max,
        writable: report === null ? [] : [report.dir],
        env,
        readable,
      })
      .pipe(
        concatMap(async (event): Promise<TestRunEvent> => {
          if (event.type === 'spawned') return { type: 'spawned', pid: event.pid, command: argv };
          const r = event.result;
          const status = statusOf(r);
          const xml =
            report === null ? null : await readChildFileAsync(report.path, MAX_REPORT_BYTES);
          const tests = xml === null ? null : pytestReportTests(xml);
          const result: TestRunReport = {
            kind: 'regression',
            command: argv,
            directory: root,
            exitCode: r.exitCode,
            timedOut: r.timedOut,
            durationMs: r.durationMs,
            output: capOutput(
              `$ ${formatCommandLine(runArgv)}  (${describeEnd(r)})\n${r.output}`,
              max,
            ),
            cases: [
              {
                name: `regression: ${formatCommandLine(argv)}`,
                filePath: null,
                status,
                durationMs: r.durationMs,
                output: capOutput(r.output, max),
              },
            ],
            tests,
            passed: status === 'passed',
            invocations: [
              {
                command: runArgv,
                exitCode: r.exitCode,
                timedOut: r.timedOut,
                durationMs: r.durationMs,
                startError: r.spawnError,
              },
            ],
          };
          return { type: 'report', report: result };
        }),
      );
  }

  /**
   * Project-relative, normalised paths of existing regular files inside `root`. Looked at
   * synchronously (`realpath`, `stat`: nothing a FIFO can make wait), a few files per run: cheaper
   * for the event loop than the thread pool's bookkeeping (test/bench/RESULTS.md).
   */
  private checkFiles(root: string, files: readonly string[]): string[] {
    const out: string[] = [];
    for (const file of files) {
      if (file === '' || file.includes('\0')) {
        throw new UnsafeTestFileError(`Invalid test file name ${JSON.stringify(file)}`);
      }
      const full = isAbsolute(file) ? normalize(file) : join(root, file);
      const rel = relative(root, full);
      if (rel === '' || isOutside(rel)) {
        throw new UnsafeTestFileError(`Test file ${JSON.stringify(file)} is outside the project`);
      }
      const real = realPathOf(full);
      if (real === null) continue;
      const realRel = relative(root, real);
      if (isOutside(realRel) || !statSync(real).isFile()) {
        throw new UnsafeTestFileError(
          `Test file ${JSON.stringify(file)} is not a regular file inside the project`,
        );
      }
      const posix = rel.split(sep).join('/');
      if (!out.includes(posix)) out.push(posix);
    }
    if (out.length > MAX_GENERATED_FILES) {
      throw new UnsafeTestFileError(
        `${out.length} test files changed; at most ${MAX_GENERATED_FILES} are run`,
      );
    }
    return out;
  }

  private emptyReport(
    kind: 'generated' | 'regression',
    plan: TestCommandPlan | null,
    why: string,
  ): TestRunReport {
    return {
      kind,
      command: plan?.fileArgv ?? [],
      exitCode: null,
      timedOut: false,
      durationMs: 0,
      output: why,
      cases: [],
      passed: false,
      invocations: [],
    };
  }

  /**
   * Runs `files` one after the other, their JUnit reports in a temporary directory, removed before
   * the report is emitted (or once unsubscribed).
   */
  private runFiles(
    root: string,
    plan: TestCommandPlan,
    files: string[],
    readable: readonly string[],
    env: Record<string, string>,
  ): Observable<TestRunEvent> {
    return defer(() =>
      this.runFilesWith(
        root,
        plan,
        files,
        childTempDir(this.isolation, REPORT_DIR_PREFIX),
        readable,
        env,
      ),
    );
  }

  /** Removes the report directories a server that is gone left behind (killed during a run). */
  async removeOrphans(): Promise<number> {
    return removeOrphanedChildTempDirs(REPORT_DIR_PREFIX);
  }

  private runFilesWith(
    root: string,
    plan: TestCommandPlan,
    files: string[],
    reportDir: string,
    readable: readonly string[],
    env: Record<string, string>,
  ): Observable<TestRunEvent> {
    // Once: on completion (before the report is emitted), and so not again on the unsubscribe.
    let removal: Promise<void> | null = null;
    const removeReports = (): Promise<void> => (removal ??= removeChildTempDir(reportDir));
    return new Observable<TestRunEvent>((subscriber) => {
      const max = this.config.TEST_OUTPUT_MAX_BYTES;
      const output = new BoundedBuffer(max);
      const cases: TestCaseResult[] = [];
      const invocations: TestRunReport['invocations'] = [];
      const budgetMs = this.config.TEST_TIMEOUT_SECONDS * 1000;
      const deadline = Date.now() + budgetMs;
      let notRun = 0;
      const runs = files.map((file, index) =>
        defer(() => {
          const remainingMs = deadline - Date.now();
          if (remainingMs <= 0) {
            notRun += 1;
            cases.push({
              name: file,
              filePath: file,
              status: 'skipped',
              durationMs: 0,
              output: `Not run: the generated tests used up TEST_TIMEOUT_SECONDS (${budgetMs} ms) before this file.`,
            });
            return EMPTY;
          }
          const invocation = argvForFile(plan, file, join(reportDir, `report-${index}.xml`));
          return this.commands
            .run({
              argv: invocation.argv,
              cwd: root,
              timeoutMs: remainingMs,
              maxOutputBytes: max,
              writable: [reportDir],
              readable,
              env,
            })
            .pipe(
              concatMap(async (event): Promise<TestRunEvent | null> => {
                if (event.type === 'spawned') {
                  return { type: 'spawned', pid: event.pid, command: invocation.argv };
                }
                const r = event.result;
                output.push(
                  Buffer.from(`$ ${formatCommandLine(r.argv)}  (${describeEnd(r)})\n${r.output}\n`),
                );
                invocations.push({
                  command: r.argv,
                  exitCode: r.exitCode,
                  timedOut: r.timedOut,
                  durationMs: r.durationMs,
                  startError: r.spawnError,
                });
                const junit =
                  invocation.junitPath === null
                    ? null
                    : await readChildFileAsync(invocation.junitPath, MAX_REPORT_BYTES);
                const evidence =
                  invocation.junitPath !== null
                    ? 'junit'
                    : plan.framework === 'unittest'
                      ? 'ran_line'
                      : plan.framework === 'cargo-test'
                        ? 'libtest'
                        : null;
                const parse =
                  invocation.reportFormat === 'jest-json' ? parseJestJson : parseJunitXml;
                cases.push(...casesForFile(invocation.file, r, junit, max, evidence, parse));
                return null;
              }),
              filter((e): e is TestRunEvent => e !== null),
            );
        }),
      );
      const subscription = concat(...runs).subscribe({
        next: (event) => subscriber.next(event),
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          const firstBad = invocations.find((i) => i.exitCode !== 0);
          const report: TestRunReport = {
            kind: 'generated',
            command: plan.fileArgv,
            directory: root,
            exitCode: firstBad === undefined ? 0 : firstBad.exitCode,
            timedOut: notRun > 0 || invocations.some((i) => i.timedOut),
            durationMs: invocations.reduce((sum, i) => sum + i.durationMs, 0),
            output: output.toString(),
            cases,
            passed:
              firstBad === undefined &&
              notRun === 0 &&
              cases.length > 0 &&
              cases.every((c) => c.status === 'passed' || c.status === 'skipped'),
            invocations,
          };
          void removeReports().then(() => {
            subscriber.next({ type: 'report', report });
            subscriber.complete();
          });
        },
      });
      return () => {
        subscription.unsubscribe();
        void removeReports();
      };
    });
  }
}
