import { readFileSync } from 'fs';
import { join } from 'path';
import { summarizeTestOutput } from 'src/test-runner/test-output-summary';
import { parseVitestOutput } from 'src/test-runner/vitest-results';

/** Real output of vitest 2.1 (test/fixtures/tool-output/README.md). */
const captured = (name: string): string =>
  readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', 'tool-output', name), 'utf8');

describe("parseVitestOutput (vitest's summary)", () => {
  it('counts the tests of a passing `npm test`', () => {
    const summary = parseVitestOutput(captured('vitest-npm-test.txt'));
    expect(summary).toEqual({
      format: 'vitest',
      total: 2,
      passed: 2,
      failed: 0,
      errored: 0,
      skipped: 0,
      deselected: 0,
      failing: [],
      names: null,
    });
    expect(summarizeTestOutput(captured('vitest-npm-test.txt'))).toEqual(summary);
  });

  it('names failing tests by file and titles, and a file that failed to load by its path', () => {
    expect(parseVitestOutput(captured('vitest-npm-test-failing.txt'))).toEqual({
      format: 'vitest',
      total: 5,
      passed: 3,
      failed: 1,
      errored: 1,
      skipped: 1,
      deselected: 0,
      failing: ['test/mixed.test.js > add > is wrong', 'test/mul.test.js'],
      names: null,
    });
  });

  it('counts todo tests as skipped', () => {
    expect(parseVitestOutput(captured('vitest-all-skipped.txt'))).toMatchObject({
      total: 2,
      passed: 0,
      skipped: 2,
    });
  });

  it('reads the summary through colour codes', () => {
    const coloured = captured('vitest-npm-test.txt').replace(
      /Tests {2}2 passed/,
      '\u001b[2mTests \u001b[22m \u001b[1m\u001b[32m2 passed\u001b[39m\u001b[22m',
    );
    expect(parseVitestOutput(coloured)).toMatchObject({ total: 2, passed: 2 });
  });

  it("an output without the summary is not vitest's", () => {
    expect(parseVitestOutput('Tests  2 passed (2)\n')).toBeNull();
  });
});
