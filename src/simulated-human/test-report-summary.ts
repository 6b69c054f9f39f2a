/**
 * What the simulated human needs to know about a failed test run, independent of how the tests
 * were run. `summarizeTestRuns` builds it from the TestRunner's reports (any object with the same
 * fields fits).
 */
export interface FailingTest {
  kind: 'generated' | 'regression';
  name: string;
  filePath: string | null;
  status: 'failed' | 'error';
  output: string;
}

export interface TestReportSummary {
  /**
   * Failing or erroring test cases, generated ones first. A run that did not pass without any
   * failing case (a timeout, a crash, no tests found) appears as one failure carrying its output.
   */
  failures: FailingTest[];
  /** Command-level output of the runs that did not pass (used when no case says why). */
  output: string;
  failed: number;
  total: number;
  /**
   * The round was refused for changing existing tests (deleted, skipped or rewritten tests, their
   * configuration), which the task's `allow_test_changes` would have allowed.
   */
  testChanges?: true;
}

/** The fields of a TestRunner report the summary reads. */
export interface TestRunLike {
  kind: 'generated' | 'regression';
  command: readonly string[];
  passed: boolean;
  timedOut: boolean;
  exitCode: number | null;
  output: string;
  cases: readonly {
    name: string;
    filePath: string | null;
    status: 'passed' | 'failed' | 'error' | 'skipped';
    output: string;
  }[];
}

export function summarizeTestRuns(runs: readonly TestRunLike[]): TestReportSummary {
  const ordered = [...runs].sort((a, b) =>
    a.kind === b.kind ? 0 : a.kind === 'generated' ? -1 : 1,
  );
  const failures: FailingTest[] = [];
  const outputs: string[] = [];
  let total = 0;
  for (const run of ordered) {
    total += run.cases.length;
    for (const c of run.cases) {
      if (c.status === 'failed' || c.status === 'error') {
        failures.push({
          kind: run.kind,
          name: c.name,
          filePath: c.filePath,
          status: c.status,
          output: c.output,
        });
      }
    }
    if (run.passed) continue;
    const why = run.timedOut ? 'timed out' : `exit code ${String(run.exitCode)}`;
    const header = `$ ${run.command.join(' ')}  (${run.kind}, ${why})`;
    outputs.push(`${header}\n${run.output}`);
    const caseFailed = run.cases.some((c) => c.status === 'failed' || c.status === 'error');
    if (!caseFailed) {
      if (run.cases.length === 0) total += 1;
      failures.push({
        kind: run.kind,
        name: `${run.kind} test command (${why})`,
        filePath: null,
        status: 'error',
        output: run.output,
      });
    }
  }
  return {
    failures,
    output: outputs.join('\n\n'),
    failed: failures.length,
    total: Math.max(total, failures.length),
  };
}
