import { casesForFile } from 'src/test-runner/test-case-results';
import { CommandResult } from 'src/test-runner/test-command-runner';

const FILE = 'test/new.test.js';
const MAX = 64 * 1024;

function result(overrides: Partial<CommandResult>): CommandResult {
  return {
    argv: ['node', '--test', FILE],
    exitCode: 0,
    signal: null,
    timedOut: false,
    durationMs: 40,
    output: 'the command printed this\n',
    outputBytes: 25,
    spawnError: null,
    ...overrides,
  };
}

/** What a command stopped by the time budget looks like: killed, no exit code. */
const TIMED_OUT = result({ exitCode: null, signal: 'SIGTERM', timedOut: true, durationMs: 5000 });
const TIMED_OUT_NOTE = 'The test command timed out after 5000 ms';

const report = (...cases: string[]) =>
  `<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n${cases.join('\n')}\n</testsuites>`;
const PASSED = '<testcase name="adds" time="0.002" classname="test"/>';
const CANCELLED =
  '<testcase name="waits" time="4.9" classname="test" failure="cancelled"><failure type="cancelledByParent" message="test did not finish before its parent and was cancelled"/></testcase>';

const BARE_FAILURE = '<testcase name="bad" time="0.001" classname="test"><failure/></testcase>';

const summary = (cases: ReturnType<typeof casesForFile>) =>
  cases.map((c) => [c.name, c.status, c.filePath]);

describe('casesForFile', () => {
  describe('a file stopped by the time budget gets exactly one error case saying so', () => {
    it('when the tool wrote no report', () => {
      const cases = casesForFile(FILE, TIMED_OUT, null, MAX);
      expect(summary(cases)).toEqual([[FILE, 'error', FILE]]);
      expect(cases[0].output).toContain(TIMED_OUT_NOTE);
      expect(cases[0].output).toContain('the command printed this');
      expect(cases[0].durationMs).toBe(5000);
    });

    it('when its report was cut off while being written', () => {
      const cut = report(PASSED).slice(0, -'</testsuites>'.length);
      const cases = casesForFile(FILE, TIMED_OUT, cut, MAX);
      expect(summary(cases)).toEqual([[FILE, 'error', FILE]]);
      expect(cases[0].output).toContain(TIMED_OUT_NOTE);
    });

    it('when its report holds no case', () => {
      const cases = casesForFile(FILE, TIMED_OUT, report(), MAX);
      expect(summary(cases)).toEqual([[FILE, 'error', FILE]]);
      expect(cases[0].output).toContain(TIMED_OUT_NOTE);
      expect(cases[0].output).not.toContain('No tests were found');
    });

    it('besides the cases its report gives, the running one reported failed', () => {
      const cases = casesForFile(FILE, TIMED_OUT, report(PASSED, CANCELLED), MAX);
      expect(summary(cases)).toEqual([
        ['adds', 'passed', FILE],
        ['waits', 'failed', FILE],
        [FILE, 'error', FILE],
      ]);
      expect(cases[2].output).toContain(TIMED_OUT_NOTE);
    });

    it('besides the cases its report gives, the running one left out', () => {
      const cases = casesForFile(FILE, TIMED_OUT, report(PASSED), MAX);
      expect(summary(cases)).toEqual([
        ['adds', 'passed', FILE],
        [FILE, 'error', FILE],
      ]);
      expect(cases[1].output).toContain(TIMED_OUT_NOTE);
    });
  });

  it('takes the cases of a report as they are when the command passed', () => {
    const cases = casesForFile(FILE, result({}), report(PASSED), MAX);
    expect(summary(cases)).toEqual([['adds', 'passed', FILE]]);
  });

  it('counts a file that exited 0 without what its tool always leaves as an error: it ended early', () => {
    // `os._exit(0)` at import: pytest writes no JUnit report, unittest prints no "Ran N tests".
    const noReport = casesForFile(FILE, result({}), null, MAX, 'junit');
    expect(summary(noReport)).toEqual([[FILE, 'error', FILE]]);
    expect(noReport[0].output).toContain('exited 0 without writing its report');
    const silent = casesForFile(FILE, result({ output: '' }), null, MAX, 'ran_line');
    expect(summary(silent)).toEqual([[FILE, 'error', FILE]]);
    expect(silent[0].output).toContain('without printing "Ran N tests"');
    const ran = result({ output: '.\n----\nRan 1 test in 0.001s\n\nOK\n' });
    expect(summary(casesForFile(FILE, ran, null, MAX, 'ran_line'))).toEqual([
      [FILE, 'passed', FILE],
    ]);
    // Where the tool leaves nothing of the kind, the exit code decides.
    expect(summary(casesForFile(FILE, result({}), null, MAX))).toEqual([[FILE, 'passed', FILE]]);
    // A failing file stays failed, report or not.
    expect(summary(casesForFile(FILE, result({ exitCode: 1 }), null, MAX, 'junit'))).toEqual([
      [FILE, 'failed', FILE],
    ]);
  });

  it('adds an error case to a file whose tests were all skipped: it tests nothing', () => {
    const SKIPPED = '<testcase name="later" time="0" classname="test"><skipped/></testcase>';
    const cases = casesForFile(FILE, result({}), report(SKIPPED, SKIPPED), MAX);
    expect(summary(cases)).toEqual([
      ['later', 'skipped', FILE],
      ['later', 'skipped', FILE],
      [FILE, 'error', FILE],
    ]);
    expect(cases[2].output).toContain('Every test in this file was skipped');
    // One that ran and passed is enough.
    expect(summary(casesForFile(FILE, result({}), report(PASSED, SKIPPED), MAX))).toEqual([
      ['adds', 'passed', FILE],
      ['later', 'skipped', FILE],
    ]);
  });

  it('adds an error case when the command failed but no case did', () => {
    const cases = casesForFile(FILE, result({ exitCode: 1 }), report(PASSED), MAX);
    expect(summary(cases)).toEqual([
      ['adds', 'passed', FILE],
      [FILE, 'error', FILE],
    ]);
    expect(cases[1].output).toContain('ended with exit code 1 although no test case failed');
  });

  it('adds nothing when the command failed and a case did', () => {
    const cases = casesForFile(FILE, result({ exitCode: 1 }), report(PASSED, CANCELLED), MAX);
    expect(summary(cases).map(([, status]) => status)).toEqual(['passed', 'failed']);
  });

  it('counts a passing file whose report holds no case as an error: no tests were found', () => {
    const cases = casesForFile(FILE, result({}), report(), MAX);
    expect(summary(cases)).toEqual([[FILE, 'error', FILE]]);
    expect(cases[0].output).toContain('No tests were found in this file.');
  });

  it('counts a passing file that node --test reports as its only test (no test in it) as an error', () => {
    const self = (name: string) => `<testcase name="${name}" time="0.07" classname="test"/>`;
    for (const name of [`/tmp/w/${FILE}`, FILE]) {
      const cases = casesForFile(FILE, result({}), report(self(name)), MAX);
      expect(summary(cases)).toEqual([[FILE, 'error', FILE]]);
      expect(cases[0].output).toContain('No tests were found in this file.');
    }
    // A file that failed to load is reported failed under its path: that failure stands.
    const failed = `<testcase name="/tmp/w/${FILE}" time="0.07" classname="test"><failure message="boom"/></testcase>`;
    expect(summary(casesForFile(FILE, result({ exitCode: 1 }), report(failed), MAX))).toEqual([
      [`/tmp/w/${FILE}`, 'failed', FILE],
    ]);
    // A test named like some other path is a test.
    expect(
      summary(casesForFile(FILE, result({}), report(self('/tmp/w/test/other.test.js')), MAX)),
    ).toEqual([['/tmp/w/test/other.test.js', 'passed', FILE]]);
  });

  it("counts unittest's 'Ran 0 tests' as an error even with exit code 0", () => {
    const output =
      '\n----------------------------------------------------------------------\nRan 0 tests in 0.000s\n\nOK\n';
    const cases = casesForFile(FILE, result({ output }), null, MAX);
    expect(summary(cases)).toEqual([[FILE, 'error', FILE]]);
    expect(cases[0].output).toContain('No tests were found in this file.');
  });

  it('gives the file one case with the command’s own verdict when there is no report', () => {
    expect(summary(casesForFile(FILE, result({}), null, MAX))).toEqual([[FILE, 'passed', FILE]]);
    expect(summary(casesForFile(FILE, result({ exitCode: 2 }), null, MAX))).toEqual([
      [FILE, 'failed', FILE],
    ]);
    const missing = result({ exitCode: null, spawnError: 'ENOENT' });
    expect(summary(casesForFile(FILE, missing, null, MAX))).toEqual([[FILE, 'error', FILE]]);
  });

  it("gives a failed case without output of its own the command's output, capped", () => {
    const output = `${'x'.repeat(4000)}the end\n`;
    const cases = casesForFile(FILE, result({ exitCode: 1, output }), report(BARE_FAILURE), 1024);
    expect(cases[0].output).toContain('the end');
    expect(cases[0].output).toMatch(/\[\.\.\. \d+ bytes cut \.\.\.\]/);
    expect(Buffer.byteLength(cases[0].output)).toBeLessThan(1100);
  });
});
