import { sortedNames, withoutColour } from 'src/test-runner/output-text';
import type { TestOutputSummary } from 'src/test-runner/test-output-summary';

/**
 * VITEST'S OWN RESULTS. A generated test file's run asks vitest's built-in `json` reporter for its
 * results (jest's JSON shape: `parseJestJson` in `jest-results.ts` reads both) beside its default
 * one; a regression command's output is read from the default reporter's summary:
 *
 *     Test Files  2 failed | 1 passed (3)
 *          Tests  1 failed | 2 passed | 1 skipped | 1 todo (5)
 *
 * with each failure under a `FAIL` line: `FAIL  test/calc.test.js > calc > adds` for a test,
 * `FAIL  test/broken.test.js [ test/broken.test.js ]` for a file that failed to load.
 */

/** The summary of vitest's output, or null when it has none. Skipped counts `todo` too. */
export function parseVitestOutput(raw: string): TestOutputSummary | null {
  const output = withoutColour(raw);
  if (!/^ *Test Files {2}.*\(\d+\)\s*$/m.test(output)) return null;
  const lines = [...output.matchAll(/^ *Tests {2}(.*?)\s*$/gm)];
  const last = lines.at(-1);
  if (last === undefined) return null;
  const totalMatch = /\((\d+)\)$/.exec(last[1]);
  if (totalMatch === null && !/no tests/.test(last[1])) return null;
  const count = (key: string): number => {
    const m = new RegExp(`(\\d+) ${key}\\b`).exec(last[1]);
    return m === null ? 0 : Number(m[1]);
  };
  const failing: string[] = [];
  let errored = 0;
  for (const m of output.matchAll(/^ *FAIL {2}(.+?)\s*$/gm)) {
    const suite = /^(.+?) \[ .+ \]$/.exec(m[1]);
    if (suite !== null) errored += 1;
    failing.push(suite !== null ? suite[1] : m[1]);
  }
  return {
    format: 'vitest',
    total: totalMatch === null ? 0 : Number(totalMatch[1]),
    passed: count('passed'),
    failed: count('failed'),
    errored,
    skipped: count('skipped') + count('todo'),
    deselected: 0,
    failing: sortedNames(failing),
    names: null,
  };
}
