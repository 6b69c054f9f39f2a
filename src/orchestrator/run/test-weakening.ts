import { WeakeningKind } from 'src/tasks';
import { isPythonTestModule, isTestFile, probeLanguage, testConfigFileKind } from 'src/test-runner';
import { cargoConfigWeakening, rustTestWeakening } from 'src/orchestrator/run/rust-test-weakening';
import { pytestPluginWeakening } from 'src/orchestrator/run/pytest-plugin-code';
import { testProbeWeakening } from 'src/orchestrator/run/test-probe-weakening';
import { changedPytestOptions } from 'src/orchestrator/run/pytest-ini-options';
import { isPythonBytecode, jsonText } from 'src/common';

/**
 * WEAKENED TESTS: what a change did to the tests that existed at its base commit. Pure: the
 * changes come in (from `git diff` against the base commit), the findings go out.
 *
 * - an existing test file deleted, or renamed (its tests may no longer run);
 * - assertions removed from an existing test file (counted before and after: a test emptied of
 *   its checks still runs and passes);
 * - test configuration the agent created or changed (`ProjectChanges.configFiles`, passed in as
 *   modified): pytest hooks (any `pytest_*` name bound, but `pytest_configure` registering
 *   markers) or unittest's `load_tests` added to a Python module of the test tree (`test_hooks`);
 *   pytest's plugin manager used, what a `conftest.py` does past its own fixtures (code run at
 *   import, `autouse`, `globals()`, `config.option` written, ...: `pytest-plugin-code.ts`),
 *   `pytest_plugins`, `collect_ignore` or an import that brings hooks into a `conftest.py`, any
 *   option of pytest's configuration files but markers added (`addopts`, `pythonpath`, ...:
 *   `pytest-ini-options.ts`), package.json's test scripts or `jest`, `mocha` or `babel` key, a
 *   jest, vitest (`vite.config.*` too) or mocha configuration file, Babel's (`babel.config.*`,
 *   `.babelrc*`: jest compiles the tests with it), or a file the project names as one or as its setup
 *   (`--config` in the test script, `setupFiles`, `setupFilesAfterEnv`: `jsTestConfigFiles`)
 *   (`test_config_changed`);
 * - code under test made to tell whether it runs under test (`process.env.JEST_WORKER_ID`,
 *   `cfg!(test)`, `PYTEST_CURRENT_TEST`: `test-probes.ts`), where the test configuration lists it
 *   (`test_detection`, `test-probe-weakening.ts`);
 * - a skip or only marker added to an existing test file or a `conftest.py` (`.skip(`, `.only(`,
 *   `xit(`, `xdescribe(`, `@pytest.mark.skip`, `pytest.xfail(`, `pytest.importorskip(`, `skip(`
 *   imported from pytest, `pytestmark =` with a skip or xfail, `add_marker(`, `@unittest.skip`,
 *   `unittest.expectedFailure`, `SkipTest`, `t.Skip(`, `#[ignore]`, `{ skip: true }` and the
 *   like): counted before and after, so markers that were there already do not count;
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

/**
 * Markers that skip tests or run only some of them, across the supported test tools; one with
 * `given` is looked for only in a file that matches it (a bare `skip(` is pytest's only where the
 * file imports it from pytest: RxJS has a `skip(1)`, a project a `skip()` of its own).
 */
export const SKIP_MARKERS: readonly { label: string; pattern: RegExp; given?: RegExp }[] = [
  { label: '.skip(', pattern: /(?<!\b(unittest|pytest))\.skip(If)?\s*\(/g },
  { label: '.only(', pattern: /\.only\s*\(/g },
  { label: '.todo(', pattern: /\.todo\s*\(/g },
  { label: 'xit(', pattern: /\bx(it|test)\s*\(/g },
  { label: 'xdescribe(', pattern: /\bx(describe|context|suite)\s*\(/g },
  { label: 'fit(/fdescribe(', pattern: /\bf(it|describe)\s*\(/g },
  { label: '{ skip: true }', pattern: /\b(skip|todo|only)\s*:\s*(true|!0|!!|['"`])/g },
  { label: '@pytest.mark.skip', pattern: /(?:\bpytest\.|@)mark\.(skip|skipif|xfail)\b/g },
  { label: 'pytest.skip(', pattern: /\bpytest\.(skip|xfail|importorskip)\s*\(/g },
  {
    label: 'skip( (imported from pytest)',
    pattern: /(?<![.\w]|\bdef[ \t]+)(skip|xfail|importorskip)[ \t]*\(/g,
    given:
      /^[ \t]*from[ \t]+pytest[ \t]+import\b(?:[ \t]*\([^)]*|[^\n(]*)\b(skip|xfail|importorskip)\b/m,
  },
  {
    label: 'pytestmark = ...skip',
    pattern: /^[ \t]*pytestmark\b[^\n]*\b(skip|skipif|xfail)\b/gm,
  },
  { label: 'add_marker(', pattern: /\.(add_marker|applymarker)\s*\(/g },
  { label: '@unittest.skip', pattern: /\bunittest\.(skip|skipIf|skipUnless|expectedFailure)\b/g },
  {
    label: '@expectedFailure (imported from unittest)',
    pattern: /@(skipIf|skipUnless|expectedFailure)\b/g,
  },
  { label: 'SkipTest', pattern: /\b(SkipTest|skip\.Exception)\b/g },
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

/** unittest's `load_tests`, defined or bound: it decides which tests of its module or package run. */
const LOAD_TESTS = /^[ \t]*(?:def[ \t]+load_tests[ \t]*\(|load_tests[ \t]*=(?!=))/gm;

/**
 * Statements of a Python module of the test tree that choose which tests pytest collects or which
 * plugins it loads: `pytest_plugins` (anywhere), and in a `conftest.py` `collect_ignore`,
 * `collect_ignore_glob` and imports that bring names in (`from m import *`, a `pytest_*` name):
 * pytest takes every hook a `conftest.py` holds, imported ones too.
 */
const PLUGINS_STATEMENT = /^[ \t]*pytest_plugins\b/gm;
const CONFTEST_STATEMENTS =
  /^[ \t]*(?:pytest_plugins|collect_ignore(?:_glob)?)\b|^[ \t]*from[ \t]+[\w.]+[ \t]+import[ \t]*(?:\*|\([^)]{0,2000}?\bpytest_|[^\n(]*\bpytest_)/gm;

/**
 * The entries of package.json that choose how `npm test` runs the tests, or configure a runner
 * (`babel`: the Babel configuration jest compiles every test file with, `babelConfigWeakening`).
 */
const PACKAGE_TEST_SCRIPT = /^(pre|post)?test(:.*)?$/;
const PACKAGE_RUNNER_KEYS = ['jest', 'mocha', 'babel'];

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
  return SKIP_MARKERS.filter((marker) => marker.given === undefined || marker.given.test(after))
    .map(({ label, pattern }) => ({
      label,
      added: count(after, pattern) - count(before, pattern),
    }))
    .filter((m) => m.added > 0);
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

/** `text` cut to `max` characters, on one line. */
function clip(text: string, max = 160): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 3)}...`;
}

/**
 * The statements `pattern` finds at their start in `text`, each to its line's end and on over the
 * lines its brackets stay open (at most 200): by the statement without whitespace (to compare),
 * the statement on one line (to show). A match inside the statement before it is part of that one:
 * each line is read once, whatever the agent wrote.
 */
function statements(text: string, pattern: RegExp): Map<string, string> {
  const found = new Map<string, string>();
  let end = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index < end) continue;
    let [pos, depth, lines] = [m.index, 0, 0];
    for (;;) {
      const newline = text.indexOf('\n', pos);
      const lineEnd = newline === -1 ? text.length : newline;
      const line = text.slice(pos, lineEnd);
      depth += count(line, /[([{]/g) - count(line, /[)\]}]/g);
      pos = lineEnd + 1;
      lines += 1;
      if (depth <= 0 || newline === -1 || lines >= 200) break;
    }
    end = pos;
    const statement = text.slice(m.index, pos);
    found.set(statement.replace(/\s+/g, ''), clip(statement));
  }
  return found;
}

/**
 * Findings for a Python module of the test tree: hooks, the plugin manager and what a
 * `conftest.py` reaches past its fixtures with (`pytest-plugin-code.ts`), `load_tests`, plugins
 * loaded and tests left uncollected.
 */
function pythonModuleWeakening(path: string, before: string, after: string): Weakening[] {
  const found: Weakening[] = [];
  const more = (pattern: RegExp) => count(after, pattern) - count(before, pattern);
  const conftest = testConfigFileKind(path) === 'conftest';
  found.push(...pytestPluginWeakening(path, before, after, conftest));
  if (more(LOAD_TESTS) > 0) {
    found.push({
      kind: 'test_hooks',
      file: path,
      detail: `added a unittest \`load_tests\` function to ${path}, which decides which tests of its module or package run`,
    });
  }
  const pattern = conftest ? CONFTEST_STATEMENTS : PLUGINS_STATEMENT;
  const had = statements(before, pattern);
  const added = [...statements(after, pattern)]
    .filter(([key]) => !had.has(key))
    .map(([, shown]) => shown);
  if (added.length > 0) {
    found.push({
      kind: 'test_config_changed',
      file: path,
      detail: `changed in ${path} which tests pytest collects or which plugins (and their hooks) it loads: \`${clip(added.join('; '))}\``,
    });
  }
  return found;
}

/** How `key`'s value went from `before` to `after` (undefined: not set), in words. */
function changeOf(key: string, before: string | undefined, after: string | undefined): string {
  if (before === undefined) return `${key} set to \`${clip(after ?? '', 120)}\``;
  if (after === undefined) return `${key} removed (was \`${clip(before, 120)}\`)`;
  return `${key} \`${clip(before, 120)}\` changed to \`${clip(after, 120)}\``;
}

/** A pytest configuration file: its pytest options changed, markers added aside (`pytest-ini-options.ts`). */
function pytestConfigWeakening(path: string, before: string, after: string): Weakening[] {
  const changed = changedPytestOptions(path.split('/').at(-1) ?? path, before, after).map(
    (option) => changeOf(option.key, option.before, option.after),
  );
  if (changed.length === 0) return [];
  return [
    {
      kind: 'test_config_changed',
      file: path,
      detail: `changed pytest's options in ${path}, which decide which tests run and what they import and run against (only markers may be added): ${changed.join('; ')}`,
    },
  ];
}

/** package.json's test scripts and runner configuration (JSON text of each), or null if unreadable. */
function packageTestEntries(text: string): Map<string, string> | null {
  if (text.trim() === '') return new Map();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const pkg = value as Record<string, unknown>;
  const entries = new Map<string, string>();
  const scripts = pkg.scripts;
  if (typeof scripts === 'object' && scripts !== null && !Array.isArray(scripts)) {
    for (const [name, script] of Object.entries(scripts as Record<string, unknown>)) {
      if (PACKAGE_TEST_SCRIPT.test(name)) entries.set(`scripts.${name}`, jsonText(script));
    }
  }
  for (const key of PACKAGE_RUNNER_KEYS) {
    if (pkg[key] !== undefined) entries.set(key, jsonText(pkg[key]));
  }
  return entries;
}

/**
 * package.json: its `test`, `pretest` and `posttest` scripts (any change) and other `test:*`
 * scripts (changed or removed: one added runs nothing the suite ran), and its `jest`, `mocha` and
 * `babel` keys. Dependencies and everything else are not looked at.
 */
function packageJsonWeakening(path: string, before: string, after: string): Weakening[] {
  const [was, now] = [packageTestEntries(before), packageTestEntries(after)];
  // An unreadable package.json after the change fails `npm test` (seen in the regression run).
  if (was === null || now === null) return [];
  const exact = (key: string) =>
    /^scripts\.(pre|post)?test$/.test(key) || !key.startsWith('scripts.');
  const changed = [...new Set([...was.keys(), ...now.keys()])]
    .filter((key) => was.get(key) !== now.get(key))
    .filter((key) => was.has(key) || exact(key))
    .sort()
    .map((key) => {
      const text = (map: Map<string, string>): string | undefined => {
        const json = map.get(key);
        if (json === undefined) return undefined;
        const parsed: unknown = JSON.parse(json);
        return typeof parsed === 'string' ? parsed : json;
      };
      return changeOf(key, text(was), text(now));
    });
  if (changed.length === 0) return [];
  return [
    {
      kind: 'test_config_changed',
      file: path,
      detail: `changed how the tests run in ${path}: ${changed.join('; ')}`,
    },
  ];
}

/** Vite's configuration: vitest's too where it has a `test` block (or names one). */
const VITE_CONFIG = /(^|\/)vite\.config\.[^/]+$/;

/**
 * What makes a vite configuration vitest's: a `test` key (`test: {`, `"test":`) or vitest's own
 * `defineConfig`; not the word alone (`/\.test\./` in a build's pattern, a comment).
 */
const VITEST_BLOCK = /\btest['"]?\s*:|\bvitest\b/;

/**
 * A JavaScript test runner's configuration file, created or changed (whitespace aside); a
 * `vite.config.*` only where it holds vitest's `test` block before or after (one without is the
 * build's alone).
 */
function runnerConfigWeakening(path: string, before: string, after: string): Weakening[] {
  if (before.replace(/\s+/g, '') === after.replace(/\s+/g, '')) return [];
  if (VITE_CONFIG.test(path) && !VITEST_BLOCK.test(before) && !VITEST_BLOCK.test(after)) return [];
  return [
    {
      kind: 'test_config_changed',
      file: path,
      detail: `${before.trim() === '' ? 'created' : 'changed'} the test runner configuration ${path}, which decides which tests run and how`,
    },
  ];
}

/** What a change did to a file: `created` where it was empty (absent) before, `deleted` after. */
function changeVerb(before: string, after: string): string {
  return before === '' ? 'created' : after === '' ? 'deleted' : 'changed';
}

/**
 * Babel's configuration (`babel`), created, changed or deleted (whitespace aside): jest compiles
 * every test file, and the code it imports, through it (`babel-jest` is its default transform),
 * so a plugin there rewrites what the tests check while no test file changes.
 */
function babelConfigWeakening(path: string, before: string, after: string): Weakening[] {
  if (before.replace(/\s+/g, '') === after.replace(/\s+/g, '')) return [];
  return [
    {
      kind: 'test_config_changed',
      file: path,
      detail: `${changeVerb(before, after)} Babel's configuration ${path}, through which jest compiles every test file and the code it imports: a plugin there can rewrite what the tests check`,
    },
  ];
}

/** A section of a distribution's `entry_points.txt` declaring pytest plugins. */
const PYTEST_PLUGIN_ENTRY_POINTS = /^[ \t]*\[pytest11\][ \t]*$/m;

/**
 * Python code a test tool loads in place of its own or beside it (`python-tool`): a module named
 * as the tool, created, changed or deleted; bytecode added to the change (Python runs it instead
 * of its source); a distribution's entry points where they declare pytest plugins.
 */
function pythonToolWeakening(path: string, before: string, after: string): Weakening[] {
  if (before === after) return [];
  const finding = (detail: string): Weakening[] => [
    { kind: 'test_config_changed', file: path, detail },
  ];
  if (isPythonBytecode(path)) {
    return after === ''
      ? []
      : finding(
          `added the Python bytecode ${path} to the change: Python runs it instead of its source, so the tests may not have run the code the diff shows (leave bytecode out of the change: \`git rm --cached\`)`,
        );
  }
  if (path.endsWith('entry_points.txt')) {
    if (!PYTEST_PLUGIN_ENTRY_POINTS.test(before) && !PYTEST_PLUGIN_ENTRY_POINTS.test(after)) {
      return [];
    }
    return finding(
      `${changeVerb(before, after)} ${path}, whose [pytest11] entry points are plugins pytest loads into every test run`,
    );
  }
  return finding(
    `${changeVerb(before, after)} ${path}, a module Python loads in place of the test tool's own code or at its start (\`python -m\` puts the project first on the module path)`,
  );
}

/** npm's and yarn's settings that run code before a test script, or keep its hooks from running. */
const PACKAGE_MANAGER_CODE_SETTING =
  /^[ \t]*["']?(node-options|script-shell|ignore-scripts|yarn-path|yarnPath|plugins)["']?[ \t]*[=:]/;

/**
 * npm's or yarn's configuration (`package-manager`): the lines of its settings that run code
 * before every test script (`node-options`, `script-shell`, `yarnPath`, yarn's plugins) or skip
 * the `pretest` and `posttest` hooks (`ignore-scripts`), added, changed or removed. Other settings
 * (a registry, `legacy-peer-deps`) are not the tests' business.
 */
function packageManagerWeakening(path: string, before: string, after: string): Weakening[] {
  const codeSettings = (text: string): string[] =>
    text
      .split(/\r?\n/)
      .filter((line) => PACKAGE_MANAGER_CODE_SETTING.test(line))
      .map((line) => line.trim());
  const [was, now] = [codeSettings(before), codeSettings(after)];
  if (was.join('\n') === now.join('\n')) return [];
  const added = now.filter((line) => !was.includes(line));
  const removed = was.filter((line) => !now.includes(line));
  const lines = [...added.map((l) => `\`${l}\``), ...removed.map((l) => `\`${l}\` removed`)];
  return [
    {
      kind: 'test_config_changed',
      file: path,
      detail: `changed settings in ${path} that run code before every test script npm or yarn starts: ${lines.join(', ')}`,
    },
  ];
}

/**
 * What an edit of an existing test file, or of test configuration, did to weaken the tests.
 * `runnerFiles` are the files the project names as jest's or vitest's configuration or setup
 * (`jsTestConfigFiles`): a runner's configuration whatever their names.
 */
function editWeakening(
  change: Extract<TestFileChange, { status: 'modified' }>,
  runnerFiles: ReadonlySet<string>,
): Weakening[] {
  const { path } = change;
  switch (testConfigFileKind(path) ?? (runnerFiles.has(path) ? 'runner' : null)) {
    case 'pytest':
      return pytestConfigWeakening(path, change.before, change.after);
    case 'package.json':
      return packageJsonWeakening(path, change.before, change.after);
    case 'runner':
      return runnerConfigWeakening(path, change.before, change.after);
    case 'babel':
      return babelConfigWeakening(path, change.before, change.after);
    case 'python-tool':
      return pythonToolWeakening(path, change.before, change.after);
    case 'package-manager':
      return packageManagerWeakening(path, change.before, change.after);
    case 'cargo':
      return cargoConfigWeakening(path, change.before, change.after);
    case 'conftest':
    case null:
      break;
  }
  const probes = testProbeWeakening(path, change.before, change.after);
  if (path.endsWith('.rs')) {
    return [
      ...rustTestWeakening(path, change.before, change.after, isTestFile(path, 'rust')),
      ...probes,
    ];
  }
  // Code under test, listed for its probes: its own `.skip(` or `assert(` are not the tests'.
  if (probeLanguage(path) !== null) return probes;
  const found: Weakening[] = addedSkipMarkers(change.before, change.after).map((m) => ({
    kind: 'skip_marker',
    file: path,
    detail: `added ${m.added} \`${m.label}\` marker(s) to the existing test file ${path}`,
  }));
  if (isPythonTestModule(path)) {
    found.push(...pythonModuleWeakening(path, change.before, change.after));
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

/** A Python package's `__init__.py` (the base commit's, in a test directory: `base-checkout.ts`). */
function isPackageMarker(path: string): boolean {
  return path.split('/').at(-1) === '__init__.py';
}

/** Everything the change did to weaken the existing tests. */
export function detectWeakening(
  changes: readonly TestFileChange[],
  totals: RegressionTotals,
  runnerFiles: ReadonlySet<string> = new Set(),
): Weakening[] {
  const found: Weakening[] = [];
  for (const change of changes) {
    switch (change.status) {
      case 'deleted':
        found.push({
          kind: 'deleted',
          file: change.path,
          detail: isPackageMarker(change.path)
            ? `deleted ${change.path}, which made its test directory a package: unittest's discovery leaves a directory without it out, with its tests`
            : `deleted the existing test file ${change.path}`,
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
        found.push(...editWeakening(change, runnerFiles));
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
