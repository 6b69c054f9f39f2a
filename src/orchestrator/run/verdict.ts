import { isAbsolute } from 'node:path';
import { isAtOrUnder } from 'src/process';
import { formatCommandLine, summarizeTestOutput, TestRunReport } from 'src/test-runner';

/** Counts of one test round, as stored on the task (`tests_passed`, `tests_failed`, `tests_total`). */
export interface TestCounts {
  testsPassed: number;
  testsFailed: number;
  testsTotal: number;
}

export interface TestRoundVerdict {
  /** Every run of the round passed (each command exited 0 in time with at least one case run). */
  passed: boolean;
  /**
   * The round's stored test cases, counted: failed counts `failed` and `error` cases. A run that
   * failed without any case (a crash, a timeout) fails the round but adds no test to the counts,
   * so the counts always agree with the stored test cases.
   */
  counts: TestCounts;
}

/** THE VERDICT of one test round (the generated tests, then the regression command). */
export function judgeTestRound(reports: readonly TestRunReport[]): TestRoundVerdict {
  const cases = reports.flatMap((r) => r.cases);
  return {
    passed: reports.length > 0 && reports.every((r) => r.passed),
    counts: {
      testsPassed: cases.filter((c) => c.status === 'passed').length,
      testsFailed: cases.filter((c) => c.status === 'failed' || c.status === 'error').length,
      testsTotal: cases.length,
    },
  };
}

/**
 * The generated tests' command, when no run of it in the round could start because its program
 * is missing, and the agent could not have made it: one looked up on the PATH, or named by an
 * absolute path outside the project (`directory`). A script of the project that is missing or not
 * executable, or a tool of a virtualenv not made yet, is the agent's to fix. Null otherwise.
 */
export function unstartableTestCommand(
  reports: readonly TestRunReport[],
  directory: string,
): { command: string; error: string } | null {
  const generated = reports.find((r) => r.kind === 'generated');
  const runs = generated?.invocations ?? [];
  const outOfReach = (program: string): boolean =>
    !program.includes('/') || (isAbsolute(program) && !isAtOrUnder(program, directory));
  if (
    runs.length === 0 ||
    !runs.every((r) => r.startError === 'ENOENT' && outOfReach(r.command[0] ?? ''))
  ) {
    return null;
  }
  return { command: formatCommandLine(runs[0].command), error: runs[0].startError! };
}

/** Longest part of the agent's last message repeated in the completion summary. */
const MAX_SUMMARY_MESSAGE_CHARS = 2000;

function generatedCases(report: TestRunReport): string {
  const files = [...new Set(report.cases.map((c) => c.filePath).filter((f) => f !== null))];
  const skipped = report.cases.filter((c) => c.status === 'skipped').length;
  const cases = `${report.cases.length - skipped} case(s)${skipped > 0 ? ` (${skipped} more skipped)` : ''}`;
  return `${cases}${files.length > 0 ? ` in ${files.join(', ')}` : ''}`;
}

/** A regression run is one stored case per command: what its output counted, where it says. */
function regressionTests(report: TestRunReport): string {
  const summary = summarizeTestOutput(report.output);
  return summary === null ? 'the command passed' : `${summary.total} test(s)`;
}

/** `result_summary` of a completed task: what was verified, and the agent's last word. */
export function completionSummary(
  reports: readonly TestRunReport[],
  iteration: number,
  lastAgentMessage: string | null,
): string {
  const lines = reports.map((r) => {
    const what = r.kind === 'generated' ? generatedCases(r) : regressionTests(r);
    return `- ${r.kind} tests passed: ${what} (\`${r.command.join(' ')}\`, ${r.durationMs} ms)`;
  });
  const message = lastAgentMessage
    ? `\n\nAgent's last message:\n${lastAgentMessage.slice(0, MAX_SUMMARY_MESSAGE_CHARS)}`
    : '';
  return `Completed after ${iteration} agent turn(s). Verified:\n${lines.join('\n')}${message}`;
}
