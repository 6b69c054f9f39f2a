import { VerificationCounts } from 'src/tasks';
import {
  formatCommandLine,
  RegressionTest,
  summarizeTestOutput,
  TestOutputSummary,
  TestRunReport,
} from 'src/test-runner';
import type { NamedFormat } from 'src/orchestrator/run/rerun-command';

/**
 * THE REGRESSION SUITE AGAINST ITS BASELINE. Pure. A regression run is read per test where the
 * report the server had pytest write names its tests (`regression-report.ts`), or where its
 * output says which tests failed (TAP, unittest, pytest, cargo, jest, vitest:
 * `summarizeTestOutput`), else per command (it passed or it did not). A failure after the change
 * that also failed at the baseline is pre-existing and does not block; one that did not is new
 * breakage, unless it passed when run again (flaky): the run again names it among the tests it
 * ran and not among the failures, or, where the output names only failures, the run again ran
 * tests and all of them passed. A failure the run again does not show passing (a test module that
 * no longer loads, renamed by the loader) stays new breakage. A run whose output counts failed
 * or erroring tests has failed, whatever its exit code and whether or not it names them: a
 * `conftest.py` can make pytest exit 0 and print no `FAILED` line for a test that failed.
 */
export interface RegressionResult {
  /** How fine the results are: each test by name, or the command as a whole. */
  granularity: 'test' | 'command';
  passed: boolean;
  /** Tests run (null when the output does not say). */
  total: number | null;
  /** The tests by outcome, as the output counts them (null when it does not). */
  counts: VerificationCounts | null;
  /** What failed: test names, or the command line when the results are per command. */
  failing: string[];
  /** Every test run by name, where the output or the server's report names them all. */
  names: string[] | null;
  /** The output format the names were read from (per test only). */
  format: NamedFormat | null;
}

/**
 * What the report the server had the tool write (`regression-report.ts`) says of the run's
 * tests, as `summarizeTestOutput` would say it (the output read for what the report does not
 * hold: pytest's `deselected`), or null without one. Its names are the tests that ran: a test
 * skipped or xfailed is left out of them, so an existing test the change has skipped is one the
 * suite no longer runs, by name, whatever new tests came with it.
 */
function reportSummary(
  tests: readonly RegressionTest[] | null,
  output: string,
): TestOutputSummary | null {
  if (tests === null) return null;
  const count = (status: RegressionTest['status']): number =>
    tests.filter((t) => t.status === status).length;
  const ids = (keep: (t: RegressionTest) => boolean): string[] =>
    [...new Set(tests.filter(keep).map((t) => t.id))].sort();
  return {
    format: 'pytest',
    total: tests.length,
    passed: count('passed'),
    failed: count('failed'),
    errored: count('error'),
    skipped: count('skipped'),
    deselected: summarizeTestOutput(output)?.deselected ?? 0,
    failing: ids((t) => t.status === 'failed' || t.status === 'error'),
    names: ids((t) => t.status !== 'skipped'),
  };
}

/** Whether `counts` (a run's, as its output counts its tests) has failed or erroring tests. */
export function countsFailures(counts: VerificationCounts | null): boolean {
  return counts !== null && counts.failed + counts.errored > 0;
}

/**
 * A regression run's report, read for the comparison. Test names are taken relative to
 * `directory`, where the run worked: a file run as one test is named by its path (`node --test`
 * names a script without tests so), which then reads the same in every task's workspace, and a
 * baseline stored by one task compares with another's run.
 */
export function regressionResult(report: TestRunReport, directory: string): RegressionResult {
  const commandName = formatCommandLine(report.command);
  const output = report.output.split(`${directory}/`).join('');
  const summary = reportSummary(report.tests ?? null, output) ?? summarizeTestOutput(output);
  const counts =
    summary === null
      ? null
      : {
          passed: summary.passed,
          failed: summary.failed,
          errored: summary.errored,
          skipped: summary.skipped,
          deselected: summary.deselected,
        };
  const passed = report.passed && !countsFailures(counts);
  if (summary === null || (!passed && summary.failing.length === 0)) {
    // Per command: nothing names the failing tests (a crash, a timeout, an unknown format, an
    // exit code or a summary made to hide them).
    return {
      granularity: 'command',
      passed,
      total: summary?.total ?? null,
      counts,
      failing: passed ? [] : [commandName],
      names: summary?.names ?? null,
      format: null,
    };
  }
  return {
    granularity: 'test',
    passed,
    total: summary.total,
    counts,
    failing: summary.failing,
    names: summary.names,
    format: summary.format,
  };
}

export interface RegressionComparison {
  /** The granularity both runs allow (the coarser of the two). */
  granularity: 'test' | 'command';
  preExisting: string[];
  /** Failing now, not at the baseline, and again when run a second time: they block. */
  newFailures: string[];
  /** Failing now, not at the baseline, but passing when run a second time. */
  flaky: string[];
}

/** The failures of `result` at `granularity` (per command: the command line, when it failed). */
function failuresAt(
  result: RegressionResult,
  granularity: 'test' | 'command',
  command: string,
): string[] {
  if (granularity === 'test') return result.failing;
  return result.passed ? [] : [command];
}

/** Whether the run again shows `name` passing. */
function passedAgain(
  rerun: RegressionResult,
  granularity: 'test' | 'command',
  name: string,
): boolean {
  if (granularity === 'command') return rerun.passed;
  if (rerun.failing.includes(name)) return false;
  if (rerun.names !== null) return rerun.names.includes(name);
  return rerun.passed && (rerun.total ?? 0) > 0;
}

/**
 * Compares the run after the change with the baseline (null: none was run; every failure is
 * then new) and with the run made again for the new failures (null: none yet).
 */
export function compareRegression(
  command: string,
  baseline: RegressionResult | null,
  after: RegressionResult,
  rerun: RegressionResult | null,
): RegressionComparison {
  const granularity =
    after.granularity === 'test' &&
    (baseline === null || baseline.granularity === 'test') &&
    (rerun === null || rerun.granularity === 'test')
      ? 'test'
      : 'command';
  const failing = failuresAt(after, granularity, command);
  const before = new Set(baseline === null ? [] : failuresAt(baseline, granularity, command));
  const preExisting = failing.filter((name) => before.has(name));
  const fresh = failing.filter((name) => !before.has(name));
  if (rerun === null) return { granularity, preExisting, newFailures: fresh, flaky: [] };
  const flaky = fresh.filter((name) => passedAgain(rerun, granularity, name));
  return {
    granularity,
    preExisting,
    newFailures: fresh.filter((name) => !flaky.includes(name)),
    flaky,
  };
}
