import { BoundedBuffer } from 'src/process';
import { cargoFileCases } from 'src/test-runner/cargo-results';
import { JunitCase, parseJunitXml } from 'src/test-runner/junit-report';
import { describeEnd, statusOf, TestCaseStatus } from 'src/test-runner/command-end';
import { CommandResult } from 'src/test-runner/test-command-runner';

/** One stored test result (a `TestCase` row). */
export interface TestCaseResult {
  name: string;
  filePath: string | null;
  status: TestCaseStatus;
  durationMs: number;
  /** Capped at `TEST_OUTPUT_MAX_BYTES`. */
  output: string;
}

/** Python's unittest exits 0 (3.11) or 5 (3.12+) when a file held no tests. */
const NO_TESTS_RAN = /^Ran 0 tests in/m;
/** unittest's line once its tests ran to the end. */
const TESTS_RAN = /^Ran \d+ tests? in/m;

/**
 * What a file's passing run must show besides its exit code 0, where the tool always shows it: the
 * report it was asked for (JUnit: `node --test`, pytest; JSON: jest, vitest), or unittest's `Ran N
 * tests` line. A file that ends its process early (`os._exit(0)` at import) exits 0 without either.
 * `libtest`: `cargo test`'s per-test lines and `test result:` line, read per test
 * (`cargoFileCases`).
 */
export type RunEvidence = 'junit' | 'ran_line' | 'libtest' | null;

/**
 * `node --test` reports a file in which no test ran (a script without `test()`) as one test named
 * by the file's own path.
 */
const namesTheFile = (name: string, file: string): boolean =>
  name === file || name.endsWith(`/${file}`);

/** `text` cut to `maxBytes` of UTF-8, head and tail kept, the cut marked. */
export function capOutput(text: string, maxBytes: number): string {
  const buffer = new BoundedBuffer(Math.max(2, maxBytes));
  buffer.push(Buffer.from(text, 'utf8'));
  return buffer.toString();
}

/**
 * The cases of one generated test file's run: per case from its `report` (JUnit XML, or what
 * `parseReport` reads) when there is a readable one, else one case for the file. A file in which no test ran is an error, and so is a
 * passing one without the `evidence` its tool always leaves (`RunEvidence`), and so is one whose
 * tests were all skipped. A file whose
 * command failed with no case failing gets a case in `error` saying so, and a file stopped by the
 * time budget always gets one saying that:
 * stopped, a tool may or may not get to write its report, and reports the test it was running as
 * failed (cancelled) or not at all, so the file's own case tells the same whichever way it went.
 */
export function casesForFile(
  file: string,
  result: CommandResult,
  report: string | null,
  maxOutputBytes: number,
  evidence: RunEvidence = null,
  parseReport: (report: string) => JunitCase[] = parseJunitXml,
): TestCaseResult[] {
  const fileCase = (status: TestCaseStatus, note = ''): TestCaseResult => ({
    name: file,
    filePath: file,
    status,
    durationMs: result.durationMs,
    output: capOutput(`${note}${result.output}`, maxOutputBytes),
  });
  const fileStatus = statusOf(result);
  if (fileStatus === 'passed' && NO_TESTS_RAN.test(result.output)) {
    return [fileCase('error', 'No tests were found in this file.\n')];
  }
  const stopped = result.timedOut
    ? `The test command ${describeEnd(result)}: a test it had not finished by then is reported failed or not at all.\n`
    : null;
  if (evidence === 'libtest' && stopped === null) {
    const found = cargoFileCases(result);
    if (found.length > 0) {
      const cases = found.map((c): TestCaseResult => {
        if (c.name === '') return fileCase(c.status, c.note);
        const output = c.status === 'failed' ? c.output || result.output : '';
        return {
          ...fileCase(c.status),
          name: c.name,
          durationMs: 0,
          output: capOutput(output, maxOutputBytes),
        };
      });
      if (
        fileStatus !== 'passed' &&
        !cases.some((c) => c.status === 'failed' || c.status === 'error')
      ) {
        cases.push(
          fileCase(
            'error',
            `The test command ended with ${describeEnd(result)} although no test case failed.\n`,
          ),
        );
      }
      return cases;
    }
  }
  if (fileStatus === 'passed' && evidence === 'ran_line' && !TESTS_RAN.test(result.output)) {
    return [
      fileCase(
        'error',
        'The file exited 0 without printing "Ran N tests": its tests did not run to the end.\n',
      ),
    ];
  }
  if (report === null) {
    if (fileStatus === 'passed' && evidence === 'junit') {
      return [
        fileCase(
          'error',
          'The test command exited 0 without writing its report: its tests did not run to the end.\n',
        ),
      ];
    }
    return [fileCase(fileStatus, stopped ?? '')];
  }
  let parsed;
  try {
    parsed = parseReport(report);
  } catch {
    if (fileStatus === 'passed' && evidence === 'junit') {
      return [fileCase('error', 'The test command exited 0 with a report that cannot be read.\n')];
    }
    return [fileCase(fileStatus, stopped ?? '')];
  }
  const noTests =
    parsed.length === 0 ||
    (fileStatus === 'passed' && parsed.every((c) => namesTheFile(c.name, file)));
  if (noTests) {
    return [
      fileCase(
        fileStatus === 'passed' ? 'error' : fileStatus,
        stopped ?? 'No tests were found in this file.\n',
      ),
    ];
  }
  const cases: TestCaseResult[] = parsed.map((c) => ({
    name: c.name,
    filePath: file,
    status: c.status,
    durationMs: c.durationMs,
    output: capOutput(
      c.output !== '' || c.status === 'passed' ? c.output : result.output,
      maxOutputBytes,
    ),
  }));
  const anyFailed = cases.some((c) => c.status === 'failed' || c.status === 'error');
  if (stopped === null && cases.every((c) => c.status === 'skipped')) {
    cases.push(fileCase('error', 'Every test in this file was skipped: it tests nothing.\n'));
  } else if (stopped !== null) {
    cases.push(fileCase('error', stopped));
  } else if (fileStatus !== 'passed' && !anyFailed) {
    cases.push(
      fileCase(
        'error',
        `The test command ended with ${describeEnd(result)} although no test case failed.\n`,
      ),
    );
  }
  return cases;
}
