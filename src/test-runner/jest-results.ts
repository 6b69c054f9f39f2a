import { JunitCase } from 'src/test-runner/junit-report';
import { sortedNames, withoutColour } from 'src/test-runner/output-text';
import type { TestOutputSummary } from 'src/test-runner/test-output-summary';

/**
 * JEST'S OWN RESULTS. Jest writes its results as JSON with its built-in `--json
 * --outputFile=<file>` (no reporter package of the project needed; vitest's built-in `json`
 * reporter writes the same shape, `vitest-results.ts`), and prints a summary of them
 * (`Tests: 1 failed, 1 skipped, 2 passed, 4 total`) with each failing test in a `●` block under
 * its file's `FAIL` line. The first gives a generated test file's cases; the second, a
 * regression command's counts and failing tests, where the command is the session's own
 * (`npm test`).
 */

/** One test of a jest (or vitest) JSON report, as much of it as is read. */
interface JsonAssertion {
  ancestorTitles?: unknown;
  title?: unknown;
  fullName?: unknown;
  status?: unknown;
  duration?: unknown;
  failureMessages?: unknown;
}

interface JsonFileResult {
  name?: unknown;
  status?: unknown;
  message?: unknown;
  assertionResults?: unknown;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

/**
 * A test's status in jest's (or vitest's) JSON report as a stored case's: `pending`, `skipped`,
 * `todo` and `disabled` are skipped; `focused` (jest: a test run by `.only`) passed.
 */
function statusOf(status: unknown): JunitCase['status'] {
  if (status === 'passed' || status === 'focused') return 'passed';
  if (status === 'failed') return 'failed';
  return 'skipped';
}

/**
 * The test cases of a jest (or vitest) JSON report, named as the JUnit reader names them (the
 * enclosing `describe` titles, then the test's, joined by ` > `). A test file that failed to run
 * (a syntax error, an exception at load: jest's `Test suite failed to run`) is one case in
 * `error` with its message. Throws when the text is not such a report.
 */
export function parseJestJson(text: string): JunitCase[] {
  const report: unknown = JSON.parse(text);
  if (
    typeof report !== 'object' ||
    report === null ||
    !Array.isArray((report as { testResults?: unknown }).testResults)
  ) {
    throw new Error('not a jest JSON report (no testResults)');
  }
  const cases: JunitCase[] = [];
  for (const file of (report as { testResults: JsonFileResult[] }).testResults) {
    if (typeof file !== 'object' || file === null) continue;
    const fileName = typeof file.name === 'string' ? file.name : null;
    const tests = Array.isArray(file.assertionResults)
      ? (file.assertionResults as JsonAssertion[])
      : [];
    for (const test of tests) {
      if (typeof test !== 'object' || test === null) continue;
      const title =
        typeof test.title === 'string'
          ? test.title
          : typeof test.fullName === 'string'
            ? test.fullName
            : '(unnamed test)';
      const duration = typeof test.duration === 'number' ? test.duration : 0;
      cases.push({
        name: [...strings(test.ancestorTitles), title].join(' > '),
        classname: null,
        file: fileName,
        status: statusOf(test.status),
        durationMs: Number.isFinite(duration) && duration >= 0 ? Math.round(duration) : 0,
        output: strings(test.failureMessages).join('\n\n'),
      });
    }
    const message = typeof file.message === 'string' ? file.message.trim() : '';
    if (file.status === 'failed' && !tests.some((t) => t?.status === 'failed')) {
      cases.push({
        name: 'Test suite failed to run',
        classname: null,
        file: fileName,
        status: 'error',
        durationMs: 0,
        output: message,
      });
    }
  }
  return cases;
}

/**
 * The summary of jest's output (`Tests:       1 failed, 1 skipped, 1 todo, 2 passed, 5 total`),
 * or null when it has none. The failing tests are named by their `●` blocks (`● calc › adds`),
 * each prefixed with the file of the `FAIL` line it came under (`test/calc.test.js › calc ›
 * adds`); a file that failed to run is named `<file> › Test suite failed to run`. Skipped counts
 * `todo` too.
 */
export function parseJestOutput(raw: string): TestOutputSummary | null {
  const output = withoutColour(raw);
  const lines = [...output.matchAll(/^Tests:\s+(.*\d+ total)\s*$/gm)];
  const last = lines.at(-1);
  if (last === undefined) return null;
  const count = (key: string): number => {
    const m = new RegExp(`(\\d+) ${key}\\b`).exec(last[1]);
    return m === null ? 0 : Number(m[1]);
  };
  const failing: string[] = [];
  let file: string | null = null;
  for (const line of output.split('\n')) {
    const header = /^(?:PASS|FAIL) (\S+)/.exec(line);
    if (header !== null) {
      file = header[1];
      continue;
    }
    const block = /^ {2}● (.+?)\s*$/.exec(line);
    if (block === null || /^Console\b/.test(block[1])) continue;
    failing.push(file === null ? block[1] : `${file} › ${block[1]}`);
  }
  const failed = count('failed');
  const skipped = count('skipped') + count('todo');
  // Suites that failed to run count no tests: they are errors of their own.
  const suitesFailed = failing.filter((name) => name.endsWith('Test suite failed to run')).length;
  return {
    format: 'jest',
    total: count('total'),
    passed: count('passed'),
    failed,
    errored: suitesFailed,
    skipped,
    deselected: 0,
    failing: sortedNames(failing),
    names: null,
  };
}
