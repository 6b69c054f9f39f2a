import { WeakeningKind } from 'src/tasks';
import { isTestConfigFile } from 'src/test-runner';

/**
 * WEAKENED TESTS: what a change did to the tests that existed at its base commit. Pure: the
 * changes come in (from `git diff` against the base commit), the findings go out.
 *
 * - an existing test file deleted, or renamed (its tests may no longer run);
 * - assertions removed from an existing test file (counted before and after: a test emptied of
 *   its checks still runs and passes);
 * - pytest hooks that change which tests run or how they end added to a `conftest.py` (the
 *   agent's test configuration: `ProjectChanges.configFiles`);
 * - a skip or only marker added to an existing test file (`.skip(`, `.only(`, `xit(`,
 *   `xdescribe(`, `@pytest.mark.skip`, `@unittest.skip`, `t.Skip(`, `#[ignore]`, `{ skip: true }`
 *   and the like): counted before and after, so markers that were there already do not count;
 * - tests the regression suite ran at the baseline and no longer runs (by name where its output
 *   names every test, else fewer tests by count, and none where its output stopped counting
 *   them), or skips (a skip its output counts, however it was asked for: a marker in another
 *   file, an option of the command), or deselects (pytest's `deselected`, counted apart: new
 *   tests do not make up for them).
 */

/** An existing test file the change deleted, renamed or modified (paths project-relative). */
export type TestFileChange =
  | { status: 'deleted'; path: string }
  | { status: 'renamed'; path: string; newPath: string }
  | { status: 'modified'; path: string; before: string; after: string };

export interface Weakening {
  kind: WeakeningKind;
  /** The test file, or null for the regression suite as a whole. */
  file: string | null;
  /** What was done, in words (sent to the agent). */
  detail: string;
}

/** Markers that skip tests or run only some of them, across the supported test tools. */
export const SKIP_MARKERS: readonly { label: string; pattern: RegExp }[] = [
  { label: '.skip(', pattern: /(?<!\b(unittest|pytest))\.skip(If)?\s*\(/g },
  { label: '.only(', pattern: /\.only\s*\(/g },
  { label: '.todo(', pattern: /\.todo\s*\(/g },
  { label: 'xit(', pattern: /\bx(it|test)\s*\(/g },
  { label: 'xdescribe(', pattern: /\bx(describe|context|suite)\s*\(/g },
  { label: 'fit(/fdescribe(', pattern: /\bf(it|describe)\s*\(/g },
  { label: '{ skip: true }', pattern: /\b(skip|todo|only)\s*:\s*(true|!0|!!|['"`])/g },
  { label: '@pytest.mark.skip', pattern: /@pytest\.mark\.(skip|skipif|xfail)\b/g },
  { label: 'pytest.skip(', pattern: /\bpytest\.skip\s*\(/g },
  { label: '@unittest.skip', pattern: /@unittest\.(skip|skipIf|skipUnless|expectedFailure)\b/g },
  { label: 'skipTest(', pattern: /\.skipTest\s*\(/g },
  { label: 't.Skip(', pattern: /\bt\.Skip(f|Now)?\s*\(/g },
  { label: '#[ignore]', pattern: /#\[ignore\b/g },
];

/**
 * Assertions across the supported test tools, each counted once: `assert(`, `assert.equal(`,
 * `expect(`, `expect.soft(`, `self.assertEqual(`, `pytest.raises(`, Python's `assert` statement
 * (`assert x`, `assert (x)`), Go's `t.Errorf(` and testify's `require.Equal(`, Rust's
 * `assert_eq!(`. Line starts are matched with `[ \t]*`, never `\s*`, which would also cross
 * line ends: quadratic over a file of blank lines.
 */
const ASSERTIONS: readonly RegExp[] = [
  /\b(assert|expect)(\.\w+)?\(/g,
  /\bself\.(assert\w*|fail)\s*\(/g,
  /\bpytest\.(raises|warns)\(/g,
  /^[ \t]*assert\s/gm,
  /\bt\.(Error|Errorf|Fatal|Fatalf|Fail|FailNow)\(/g,
  /\brequire\.[A-Z]\w*\(/g,
  /\bassert(_eq|_ne)?!\(/g,
];

/**
 * Definitions in a `conftest.py` of pytest hooks that can change which tests run or what their
 * outcome is as its reports show it (a `pytest_runtest_makereport` wrapper that turns a failure
 * into a pass, a `pytest_collection_modifyitems` that drops tests). Fixtures, markers registered
 * in `pytest_configure` and the like are not; a changed exit status is seen in the output.
 */
const RESULT_HOOKS =
  /^[ \t]*def[ \t]+pytest_(runtest_\w+|report_teststatus|collection_modifyitems|collect_file|ignore_collect|pycollect_makeitem|make_collect_report)[ \t]*\(/gm;

/** How many assertions `text` holds (`ASSERTIONS`). */
export function countAssertions(text: string): number {
  return ASSERTIONS.reduce((sum, pattern) => sum + count(text, pattern), 0);
}

function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(pattern)].length;
}

/** The skip or only markers `after` has more of than `before`, with how many more. */
export function addedSkipMarkers(
  before: string,
  after: string,
): { label: string; added: number }[] {
  return SKIP_MARKERS.map(({ label, pattern }) => ({
    label,
    added: count(after, pattern) - count(before, pattern),
  })).filter((m) => m.added > 0);
}

/** The regression suite's tests: how many ran and, where known, their names. */
export interface SuiteTests {
  total: number | null;
  names: readonly string[] | null;
  /** How many it skipped, where its output counts them. */
  skipped: number | null;
  /**
   * How many it collected and left out by its options (pytest's `deselected`), where its output
   * was read for them; absent or null when not known.
   */
  deselected?: number | null;
}

/** Regression tests run at the baseline and after the change. */
export interface RegressionTotals {
  baseline: SuiteTests;
  after: SuiteTests;
}

/** Fewer regression tests than at the baseline: by name where both runs name them, else by count. */
function droppedTests(totals: RegressionTotals): Weakening | null {
  const { baseline, after } = totals;
  if (baseline.names !== null && after.names !== null) {
    const now = new Set(after.names);
    const missing = baseline.names.filter((name) => !now.has(name));
    if (missing.length === 0) return null;
    return {
      kind: 'fewer_tests',
      file: null,
      detail: `the regression suite no longer runs ${missing.length} test(s) it ran at the base commit: ${missing.join(', ')}`,
    };
  }
  if (baseline.total !== null && baseline.total > 0 && after.total === null) {
    // Its output said how many tests it ran at the base commit and says nothing now: a test
    // script replaced (`"test": "exit 0"`), a process ended before the tests.
    return {
      kind: 'fewer_tests',
      file: null,
      detail: `the regression suite no longer reports the tests it runs: it ran ${baseline.total} test(s) at the base commit, and its output after the change counts none`,
    };
  }
  if (baseline.total === null || after.total === null || after.total >= baseline.total) return null;
  return {
    kind: 'fewer_tests',
    file: null,
    detail: `the regression suite ran ${after.total} test(s), fewer than the ${baseline.total} it ran at the base commit`,
  };
}

/**
 * How many more tests the suite skips than at its baseline, beyond the tests it gained: a new test
 * skipped where it cannot run (a platform `skipif`, an `xfail`) is not an existing one skipped.
 */
function moreSkippedThanAdded({ baseline, after }: RegressionTotals): number {
  if (baseline.skipped === null || after.skipped === null) return 0;
  if (baseline.total === null || after.total === null) return 0;
  const added = Math.max(0, after.total - baseline.total);
  return Math.max(0, after.skipped - baseline.skipped - added);
}

/**
 * How many more tests the suite deselects than at its baseline (pytest's `deselected`: `-k`,
 * `-m`, `--deselect` in its options, a hook). Not offset by the tests it gained, as skips are: a
 * test is deselected by the suite's options, whoever wrote it, and new tests running in place of
 * deselected old ones leave the totals as they were.
 */
function moreDeselected({ baseline, after }: RegressionTotals): number {
  const [before, now] = [baseline.deselected ?? null, after.deselected ?? null];
  if (before === null || now === null) return 0;
  return Math.max(0, now - before);
}

/** What an edit of an existing test file (or of a `conftest.py`) did to weaken the tests. */
function editWeakening(change: Extract<TestFileChange, { status: 'modified' }>): Weakening[] {
  const found: Weakening[] = addedSkipMarkers(change.before, change.after).map((m) => ({
    kind: 'skip_marker',
    file: change.path,
    detail: `added ${m.added} \`${m.label}\` marker(s) to the existing test file ${change.path}`,
  }));
  if (isTestConfigFile(change.path)) {
    const added = count(change.after, RESULT_HOOKS) - count(change.before, RESULT_HOOKS);
    if (added > 0) {
      found.push({
        kind: 'test_hooks',
        file: change.path,
        detail: `added ${added} pytest hook(s) to ${change.path} that can change which tests run or how they end (pytest_runtest_*, pytest_collection_modifyitems, ...)`,
      });
    }
  }
  const [before, after] = [countAssertions(change.before), countAssertions(change.after)];
  if (after < before) {
    found.push({
      kind: 'fewer_assertions',
      file: change.path,
      detail: `removed ${before - after} assertion(s) from the existing test file ${change.path} (${before} before, ${after} after)`,
    });
  }
  return found;
}

/** Everything the change did to weaken the existing tests. */
export function detectWeakening(
  changes: readonly TestFileChange[],
  totals: RegressionTotals,
): Weakening[] {
  const found: Weakening[] = [];
  for (const change of changes) {
    switch (change.status) {
      case 'deleted':
        found.push({
          kind: 'deleted',
          file: change.path,
          detail: `deleted the existing test file ${change.path}`,
        });
        break;
      case 'renamed':
        found.push({
          kind: 'renamed',
          file: change.path,
          detail: `renamed the existing test file ${change.path} to ${change.newPath}`,
        });
        break;
      case 'modified':
        found.push(...editWeakening(change));
        break;
    }
  }
  const dropped = droppedTests(totals);
  if (dropped !== null) found.push(dropped);
  const { baseline, after } = totals;
  const deselected = moreDeselected(totals);
  if (deselected > 0) {
    found.push({
      kind: 'fewer_tests',
      file: null,
      detail: `the regression suite deselects ${deselected} more of its tests than at the base commit (${baseline.deselected ?? 0} deselected before, ${after.deselected ?? 0} after): its options (\`-k\`, \`-m\`, \`--deselect\`) or a hook now leave them out`,
    });
  }
  const moreSkipped = moreSkippedThanAdded(totals);
  if (moreSkipped > 0) {
    found.push({
      kind: 'skip_marker',
      file: null,
      detail: `the regression suite skips ${moreSkipped} more of its tests than at the base commit (${baseline.skipped} skipped of ${baseline.total} before, ${after.skipped} of ${after.total} after)`,
    });
  }
  return found;
}
