import { readFileSync } from 'fs';
import { join } from 'path';
import { parseJestJson, parseJestOutput } from 'src/test-runner/jest-results';
import { casesForFile } from 'src/test-runner/test-case-results';
import { CommandResult } from 'src/test-runner/test-command-runner';
import { summarizeTestOutput } from 'src/test-runner/test-output-summary';

/** Real output of jest 29 and vitest 2.1 (test/fixtures/tool-output/README.md). */
const captured = (name: string): string =>
  readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', 'tool-output', name), 'utf8');

const result = (exitCode: number, output: string): CommandResult => ({
  argv: ['jest'],
  exitCode,
  signal: null,
  timedOut: false,
  durationMs: 10,
  output,
  outputBytes: output.length,
  spawnError: null,
});

describe('parseJestJson (jest --json, vitest --reporter=json)', () => {
  it.each(['jest', 'vitest'])(
    'reads each %s test with its status, skipped and todo as skipped',
    (tool) => {
      const cases = parseJestJson(captured(`${tool}-mixed.json`));
      expect(cases.map((c) => [c.name, c.status])).toEqual([
        ['add > adds', 'passed'],
        ['add > adds later', 'skipped'],
        ['add > is wrong', 'failed'],
      ]);
      expect(cases[2].output).toMatch(/Expected: 3|expected 2 to be 3/);
    },
  );

  it.each(['jest', 'vitest'])(
    'a %s file that failed to load is one case in error, with its message',
    (tool) => {
      const cases = parseJestJson(captured(`${tool}-suite-failed.json`));
      expect(cases).toEqual([
        expect.objectContaining({ name: 'Test suite failed to run', status: 'error' }),
      ]);
      expect(cases[0].output).toContain('mul is missing');
    },
  );

  it('throws on what is no such report', () => {
    expect(() => parseJestJson('{"numTotalTests": 1}')).toThrow();
    expect(() => parseJestJson('<testsuites/>')).toThrow();
  });
});

describe('casesForFile with a jest JSON report', () => {
  it.each(['jest', 'vitest'])(
    'a %s file whose tests were all skipped (test.skip, test.todo) is an error though it exited 0',
    (tool) => {
      const cases = casesForFile(
        'test/mul.test.js',
        result(0, captured(`${tool}-all-skipped.txt`)),
        captured(`${tool}-all-skipped.json`),
        8192,
        'junit',
        parseJestJson,
      );
      expect(cases.map((c) => c.status)).toEqual(['skipped', 'skipped', 'error']);
      expect(cases[2].output).toContain('Every test in this file was skipped');
    },
  );

  it('a file that exited 0 without its report is an error', () => {
    const cases = casesForFile('test/a.test.js', result(0, ''), null, 8192, 'junit', parseJestJson);
    expect(cases).toEqual([expect.objectContaining({ status: 'error' })]);
    expect(cases[0].output).toContain('exited 0 without writing its report');
  });

  it('a file that exited 0 with a report that cannot be read is an error', () => {
    const cases = casesForFile(
      'test/a.test.js',
      result(0, ''),
      'garbage',
      8192,
      'junit',
      parseJestJson,
    );
    expect(cases).toEqual([expect.objectContaining({ status: 'error' })]);
  });
});

describe("parseJestOutput (jest's summary)", () => {
  it('counts the tests of `npm test`, skipped and todo as skipped, and names the failures by file', () => {
    const summary = parseJestOutput(captured('jest-npm-test.txt'));
    expect(summary).toEqual({
      format: 'jest',
      total: 7,
      passed: 3,
      failed: 1,
      errored: 0,
      skipped: 3,
      deselected: 0,
      failing: ['test/mixed.test.js › add › is wrong'],
      names: null,
    });
    expect(summarizeTestOutput(captured('jest-npm-test.txt'))).toEqual(summary);
  });

  it('names a file that failed to run, whose tests count none', () => {
    expect(parseJestOutput(captured('jest-suite-failed.txt'))).toMatchObject({
      total: 0,
      errored: 1,
      failing: ['test/mul.test.js › Test suite failed to run'],
    });
  });

  it("an output without jest's summary is not jest's", () => {
    expect(parseJestOutput('Tests: what\nok\n')).toBeNull();
  });
});
