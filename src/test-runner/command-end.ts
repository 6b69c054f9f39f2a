import type { CommandResult } from 'src/test-runner/test-command-runner';

export type TestCaseStatus = 'passed' | 'failed' | 'error' | 'skipped';

/** A command's own verdict: passed when it exited 0 in time. */
export function statusOf(result: CommandResult): TestCaseStatus {
  if (result.timedOut || result.spawnError !== null || result.exitCode === null) return 'error';
  return result.exitCode === 0 ? 'passed' : 'failed';
}

/** How a command ended, for people: "exit code 1", "timed out after 5000 ms". */
export function describeEnd(result: CommandResult): string {
  if (result.timedOut) return `timed out after ${result.durationMs} ms`;
  if (result.spawnError !== null) return `could not start (${result.spawnError})`;
  if (result.exitCode === null) return `killed by ${result.signal ?? 'a signal'}`;
  return `exit code ${result.exitCode}`;
}
