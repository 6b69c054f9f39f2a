import { summarizeCargo } from 'src/test-runner/cargo-results';
import { parseJestOutput } from 'src/test-runner/jest-results';
import { parseVitestOutput } from 'src/test-runner/vitest-results';

/**
 * What a test command's own output says about its tests, for commands that write no JUnit report
 * (a regression command is run as the session gives it). Six formats are read: TAP (`node
 * --test` writing to a pipe), Python's unittest and pytest's summary, `cargo test`'s libtest lines
 * (`summarizeCargo`), and jest's and vitest's (`jest-results.ts`, `vitest-results.ts`). Anything
 * else gives null: the command's exit code is all there is.
 */
export interface TestOutputSummary {
  format: 'tap' | 'unittest' | 'pytest' | 'cargo' | 'jest' | 'vitest';
  /** Tests run, skipped ones included when the tool counts them. */
  total: number;
  passed: number;
  failed: number;
  errored: number;
  /** Skipped, and expected to fail (pytest's `xfailed`, unittest's `expected failures`). */
  skipped: number;
  /**
   * Tests collected and left out by the tool's options, not run nor counted in `total` (pytest's
   * `deselected`: `-k`, `-m`, `--deselect`, a hook); 0 for tools that have no such count.
   */
  deselected: number;
  /** The failing or erroring tests by name, as the tool names them (sorted, no duplicates). */
  failing: string[];
  /**
   * Every test run by name (sorted, no duplicates), where the output names them all (TAP, a
   * verbose unittest run: its skipped tests left out).
   */
  names: string[] | null;
}

const sorted = (names: Iterable<string>): string[] => [...new Set(names)].sort();

function tapCount(output: string, key: string): number | null {
  const m = new RegExp(`^# ${key} (\\d+)\\s*$`, 'm').exec(output);
  return m === null ? null : Number(m[1]);
}

function parseTap(output: string): TestOutputSummary | null {
  const total = tapCount(output, 'tests');
  if (total === null || !/^TAP version \d+/m.test(output)) return null;
  const failing: string[] = [];
  const names: string[] = [];
  for (const m of output.matchAll(/^\s*(not )?ok \d+ - (.*?)(?: # (?:TODO|SKIP).*)?\s*$/gm)) {
    names.push(m[2]);
    if (m[1] !== undefined) failing.push(m[2]);
  }
  return {
    format: 'tap',
    total,
    passed: tapCount(output, 'pass') ?? 0,
    failed: tapCount(output, 'fail') ?? 0,
    errored: tapCount(output, 'cancelled') ?? 0,
    skipped: (tapCount(output, 'skipped') ?? 0) + (tapCount(output, 'todo') ?? 0),
    deselected: 0,
    failing: sorted(failing),
    names: sorted(names),
  };
}

/**
 * The tests a verbose unittest run (`-v`) ran by name, `test_x (pkg.mod.Class.test_x)` as its
 * `FAIL:` lines name them, from its lines `name ... outcome` (the outcome on the next line after
 * a docstring): those skipped or expected to fail left out, as they did not run. Null unless there
 * is such a line for each of the `total` tests it counted (a run without `-v`, or output cut).
 */
function unittestNames(output: string, total: number): string[] | null {
  const lines = [
    ...output.matchAll(/^([\w.]+ \([\w.]+\))(?: \.\.\. ([^\n]*)|\n[^\n]*? \.\.\. ([^\n]*))$/gm),
  ];
  if (lines.length !== total) return null;
  return sorted(
    lines
      .filter((m) => !/^(skipped\b|expected failure\b)/.test((m[2] ?? m[3]).trim()))
      .map((m) => m[1]),
  );
}

function parseUnittest(output: string): TestOutputSummary | null {
  const ran = /^Ran (\d+) tests? in /m.exec(output);
  if (ran === null) return null;
  const total = Number(ran[1]);
  const verdict = /^(OK|FAILED)(?: \(([^)]*)\))?\s*$/m.exec(output);
  const detail = (key: string): number => {
    // Whole entries: `failures=` is not the end of `expected failures=`.
    const m = new RegExp(`(?:^|, )${key}=(\\d+)`).exec(verdict?.[2] ?? '');
    return m === null ? 0 : Number(m[1]);
  };
  const failed = detail('failures') + detail('unexpected successes');
  const errored = detail('errors');
  const skipped = detail('skipped') + detail('expected failures');
  const failing = [...output.matchAll(/^(?:FAIL|ERROR): (.+?)\s*$/gm)].map((m) => m[1]);
  return {
    format: 'unittest',
    total,
    passed: Math.max(0, total - failed - errored - skipped),
    failed,
    errored,
    skipped,
    deselected: 0,
    failing: sorted(failing),
    names: unittestNames(output, total),
  };
}

function parsePytest(output: string): TestOutputSummary | null {
  const lines = [...output.matchAll(/^=+ (.*\bin [\d.]+s.*?) =+\s*$/gm)];
  const last = lines.at(-1);
  if (last === undefined) return null;
  const count = (key: string): number => {
    const m = new RegExp(`(\\d+) ${key}\\b`).exec(last[1]);
    return m === null ? 0 : Number(m[1]);
  };
  // `xpassed` (an xfail test that passed, not strict) ran and passed.
  const passed = count('passed') + count('xpassed');
  const failed = count('failed');
  const errored = count('errors?');
  const skipped = count('skipped') + count('xfailed');
  const failing = [...output.matchAll(/^(?:FAILED|ERROR) (\S+)/gm)].map((m) => m[1]);
  return {
    format: 'pytest',
    total: passed + failed + errored + skipped,
    passed,
    failed,
    errored,
    skipped,
    deselected: count('deselected'),
    failing: sorted(failing),
    names: null,
  };
}

/** The summary of a test command's output, or null when its format is not recognised. */
export function summarizeTestOutput(output: string): TestOutputSummary | null {
  return (
    parseTap(output) ??
    parseUnittest(output) ??
    parsePytest(output) ??
    summarizeCargo(output) ??
    parseJestOutput(output) ??
    parseVitestOutput(output)
  );
}
