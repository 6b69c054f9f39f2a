import { statusOf } from 'src/test-runner/command-end';
import { sortedNames } from 'src/test-runner/output-text';
import type { CommandResult } from 'src/test-runner/test-command-runner';
import type { TestOutputSummary } from 'src/test-runner/test-output-summary';

/**
 * `cargo test`'s output read: what libtest (Rust's built-in test harness) printed for each test
 * binary cargo ran: `running N tests`, one `test <name> ... ok|FAILED|ignored` line per test and
 * a summary line `test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out;
 * ...`. Cargo stops at the first binary that fails (without `--no-fail-fast`): the binaries after
 * it do not run. Which binary a test ran in is not read: cargo names it on stderr (`Running
 * tests/basic.rs (...)`), the tests' lines come on stdout, and the two pipes are read as their
 * output arrives, not in the order it was written.
 */
export type CargoTestStatus = 'passed' | 'failed' | 'ignored';

export interface CargoTest {
  /** The name libtest printed (`tests::add_small`, `src/lib.rs - add (line 3)`). */
  name: string;
  /** What libtest printed for it under `failures:` (`---- name stdout ----`), else ''. */
  output: string;
  status: CargoTestStatus;
}

export interface CargoTotals {
  passed: number;
  failed: number;
  ignored: number;
}

export interface CargoRun {
  tests: CargoTest[];
  /** The `test result:` lines summed over the binaries. */
  totals: CargoTotals;
  /** How many `test result:` lines (binaries that ran to the end). */
  binaries: number;
}

const TEST_LINE = /^test (.+?) \.\.\. (ok|FAILED|ignored)(?:,.*)?\s*$/;
const RESULT_LINE =
  /^test result: (?:ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored; (\d+) measured; (\d+) filtered out/;

/** What `cargo test` printed of its tests, or null when no binary printed its `test result:`. */
export function parseCargoOutput(output: string): CargoRun | null {
  const tests: CargoTest[] = [];
  const totals: CargoTotals = { passed: 0, failed: 0, ignored: 0 };
  let binaries = 0;
  for (const line of output.split(/\r?\n/)) {
    const test = TEST_LINE.exec(line);
    if (test !== null) {
      const status = test[2] === 'ok' ? 'passed' : test[2] === 'FAILED' ? 'failed' : 'ignored';
      tests.push({ name: test[1], status, output: '' });
      continue;
    }
    const result = RESULT_LINE.exec(line);
    if (result !== null) {
      binaries += 1;
      totals.passed += Number(result[1]);
      totals.failed += Number(result[2]);
      totals.ignored += Number(result[3]);
    }
  }
  if (binaries === 0) return null;
  for (const block of output.matchAll(
    /^---- (.+?) stdout ----\r?\n([\s\S]*?)(?=^---- |^failures:|^test result:)/gm,
  )) {
    const test = tests.find((t) => t.name === block[1] && t.output === '' && t.status === 'failed');
    if (test !== undefined) test.output = block[2].trim() + '\n';
  }
  return { tests, totals, binaries };
}

/**
 * Whether every test the summary lines count has its own `test ... ` line (libtest prints one per
 * test; output cut in the middle, or a test printing a line of its own that looks like one,
 * breaks that): only then do the names stand for the tests run.
 */
export function namesComplete(run: CargoRun): boolean {
  const { passed, failed, ignored } = run.totals;
  return run.tests.length === passed + failed + ignored;
}

/** One test case of a generated Rust test file's run (`casesForFile` fills in the rest). */
export interface CargoFileCase {
  name: string;
  output: string;
  status: 'passed' | 'failed' | 'error' | 'skipped';
  /** Why the file's run is an error, for a case named by the file. */
  note?: string;
}

/**
 * The cases of a generated Rust test file's run (`cargo test --test <name>`), from libtest's
 * lines: one per test (`ignored` is skipped). A run that exited 0 without a `test result:` line
 * (nothing ran to the end) is an error, as is one in which no test ran (`running 0 tests`: no
 * `#[test]` in the file) or every test was ignored. A failing run with no failing test (the file
 * did not compile, a binary crashed) is the file failing.
 */
export function cargoFileCases(result: CommandResult): CargoFileCase[] {
  const exitedZero = statusOf(result) === 'passed';
  const run = parseCargoOutput(result.output);
  if (run === null) {
    if (!exitedZero) return [];
    return [
      {
        name: '',
        output: '',
        status: 'error',
        note: 'The test command exited 0 without printing libtest\'s "test result:" line: its tests did not run to the end.\n',
      },
    ];
  }
  const cases: CargoFileCase[] = run.tests.map((t) => ({
    name: t.name,
    output: t.output,
    status: t.status === 'ignored' ? 'skipped' : t.status,
  }));
  const { passed, failed, ignored } = run.totals;
  if (passed + failed + ignored === 0) {
    return [{ name: '', output: '', status: 'error', note: 'No tests were found in this file.\n' }];
  }
  if (passed + failed === 0) {
    cases.push({
      name: '',
      output: '',
      status: 'error',
      note: 'Every test in this file was ignored (#[ignore]): it tests nothing.\n',
    });
  } else if (exitedZero && failed > 0) {
    cases.push({
      name: '',
      output: '',
      status: 'error',
      note: 'libtest counted failures, yet exited 0.\n',
    });
  }
  return cases;
}

/** A doctest's name as libtest prints it: `src/lib.rs - add (line 3)`. */
const DOCTEST_NAME = /^(.+ - .+) \(line (\d+)\)$/;

/**
 * Each test's name for the comparison with the baseline, by its place in `tests`: a doctest's
 * without the line it starts on (`src/lib.rs - add`), which any line added above it changes, and
 * numbered in the order of their lines where an item has several (`src/lib.rs - add (#2)`);
 * every other test's as libtest printed it.
 */
function comparableNames(tests: readonly CargoTest[]): string[] {
  const doctests = new Map<string, number[]>();
  for (const t of tests) {
    const m = DOCTEST_NAME.exec(t.name);
    if (m !== null) doctests.set(m[1], [...(doctests.get(m[1]) ?? []), Number(m[2])]);
  }
  return tests.map((t) => {
    const m = DOCTEST_NAME.exec(t.name);
    if (m === null) return t.name;
    const lines = [...new Set(doctests.get(m[1]))].sort((a, b) => a - b);
    return lines.length === 1 ? m[1] : `${m[1]} (#${lines.indexOf(Number(m[2])) + 1})`;
  });
}

/**
 * The summary of `cargo test`'s output (`summarizeTestOutput`): the `test result:` lines summed
 * over the binaries that ran (ignored tests are skipped; those a name filter left out are not
 * counted as deselected: a new test outside `cargo test parser`'s filter is left out too, and no
 * weakening), the
 * failing tests and, where every counted test printed its line and no name is in two binaries
 * (each crate's `tests::it`), every test that ran by name (doctests without their lines:
 * `comparableNames`): an ignored one is left out, as pytest's
 * skipped tests are (`regression-report.ts`), so an existing test the change has ignored (a
 * doctest made `ignore`, which no `#[ignore]` marker shows) is one the suite no longer runs, by
 * name, whatever new test came with it to make up the skipped count.
 */
export function summarizeCargo(output: string): TestOutputSummary | null {
  const run = parseCargoOutput(output);
  if (run === null) return null;
  const { passed, failed, ignored } = run.totals;
  const names = comparableNames(run.tests);
  const unique = new Set(names).size === names.length;
  const named = (keep: (t: CargoTest) => boolean): string[] =>
    sortedNames(names.filter((_, i) => keep(run.tests[i])));
  return {
    format: 'cargo',
    total: passed + failed + ignored,
    passed,
    failed,
    errored: 0,
    skipped: ignored,
    deselected: 0,
    failing: named((t) => t.status === 'failed'),
    names: namesComplete(run) && unique ? named((t) => t.status !== 'ignored') : null,
  };
}
