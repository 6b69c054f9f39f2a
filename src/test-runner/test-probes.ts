import {
  isInSkippedDirectory,
  isPythonTestModule,
  isTestFile,
  testConfigFileKind,
  testSupportRoot,
} from 'src/test-runner/test-file-patterns';

/**
 * CODE UNDER TEST THAT TELLS WHETHER IT RUNS UNDER TEST. The tests run the code under test; code
 * that asks whether it is under test (`process.env.JEST_WORKER_ID ? a + b : a - b`, Rust's
 * `if cfg!(test) { a + b } else { a - b }`) can pass every existing test and do otherwise
 * everywhere else: the suite then says nothing of it. These are the ways each language's code
 * asks that, looked for in the code under test (a source file outside the tests and their
 * directories; in a Rust source file, outside its test modules: `test-probe-weakening.ts`):
 *
 * - JavaScript and TypeScript: the variables jest, vitest and `node --test` set in the processes
 *   they run the tests in (`JEST_WORKER_ID`, `VITEST*`, `NODE_TEST_CONTEXT`), `NODE_ENV` compared
 *   with `'test'` (jest sets it), the runner's globals looked for or reached (`typeof expect`,
 *   `globalThis.jest`), `expect.extend(` (code that loads with the tests can patch every
 *   assertion), `import.meta.vitest` and vitest's internals (`__vitest_`);
 * - Python: pytest's variables (`PYTEST_CURRENT_TEST`, `PYTEST_VERSION`, `PYTEST_XDIST_WORKER`),
 *   pytest or unittest looked for among the loaded modules (`"pytest" in sys.modules`), and the
 *   `sys._called_from_test` flag pytest's documentation shows a `conftest.py` setting;
 * - Rust (comments and strings blanked): `cfg!(test)` (any `cfg!` naming `test`), a `cfg` or
 *   `cfg_attr` with `not(test)` (the item kept out of the test build, as a `#[cfg(test)]` twin
 *   takes its place), `cfg_attr(test, path = ...)` (another file compiled under test) and a
 *   `use` compiled only under test (an import by name shadows a glob import of the same name).
 *
 * A quick look that lists a file (`holdsTestProbe`, `ProjectChanges.configFiles`); what a change
 * added is counted against the base commit (`test-probe-weakening.ts`).
 */

export type ProbeLanguage = 'js' | 'python' | 'rust';

export interface TestProbe {
  label: string;
  pattern: RegExp;
}

const JS_PROBES: readonly TestProbe[] = [
  { label: 'JEST_WORKER_ID', pattern: /\bJEST_WORKER_ID\b/g },
  { label: 'VITEST', pattern: /\bVITEST(?:_[A-Z_]+)?\b/g },
  { label: 'NODE_TEST_CONTEXT', pattern: /\bNODE_TEST_CONTEXT\b/g },
  {
    label: "NODE_ENV compared with 'test'",
    pattern: /\bNODE_ENV\b[^;\n]{0,40}?['"`]test['"`]|['"`]test['"`][^;\n]{0,40}?\bNODE_ENV\b/g,
  },
  {
    label: 'typeof a test global',
    pattern:
      /\btypeof\s+(?:jest|expect|vi|describe|it|test|beforeAll|beforeEach|afterAll|afterEach)\b/g,
  },
  {
    label: 'a test global reached',
    pattern: /\b(?:globalThis|global|window|self)\s*(?:\.\s*|\[\s*['"`])(?:jest|expect|vi)\b/g,
  },
  { label: 'expect.extend(', pattern: /\bexpect\s*\.\s*extend\s*\(/g },
  { label: 'import.meta.vitest', pattern: /\bimport\s*\.\s*meta\s*\.\s*vitest\b/g },
  { label: '__vitest_', pattern: /\b__vitest_\w*/g },
];

const PYTHON_PROBES: readonly TestProbe[] = [
  { label: 'PYTEST_* variable', pattern: /\bPYTEST_(?:CURRENT_TEST|VERSION|XDIST_WORKER)\b/g },
  {
    label: 'a test tool among sys.modules',
    pattern:
      /['"](?:_?pytest|unittest)['"]\s+(?:not\s+)?in\s+sys\.modules\b|\bsys\.modules(?:\.get)?\s*[([]\s*['"](?:_?pytest|unittest)['"]/g,
  },
  { label: '_called_from_test', pattern: /\b_called_from_test\b/g },
];

const RUST_PROBES: readonly TestProbe[] = [
  { label: 'cfg!(test)', pattern: /\bcfg!\s*\([^;{}]*?\btest\b/g },
  {
    label: 'cfg(not(test))',
    pattern: /#!?\[\s*cfg(?:_attr)?\s*\([^\]]*?\bnot\s*\([^\]]*?\btest\b/g,
  },
  {
    label: 'cfg_attr(test, path = ...)',
    pattern: /#!?\[\s*cfg_attr\s*\([^,\]]*\btest\b[^\]]*\bpath\s*=/g,
  },
  {
    label: 'use only under test',
    pattern: /#\[\s*cfg\s*\([^\]]*\btest\b[^\]]*\]\s*(?:pub(?:\([^)]*\))?\s+)?use\b/g,
  },
];

export const TEST_PROBES: Readonly<Record<ProbeLanguage, readonly TestProbe[]>> = {
  js: JS_PROBES,
  python: PYTHON_PROBES,
  rust: RUST_PROBES,
};

const LANGUAGE_BY_EXTENSION: Readonly<Record<string, ProbeLanguage>> = {
  js: 'js',
  jsx: 'js',
  mjs: 'js',
  cjs: 'js',
  ts: 'js',
  tsx: 'js',
  mts: 'js',
  cts: 'js',
  py: 'python',
  rs: 'rust',
};

/**
 * A test setup file by its name (`jest.setup.js`, `vitest.setup.ts`, `setupTests.js`): the tests'
 * own, where the runner's configuration loads it (`jsTestConfigFiles`), not code under test.
 */
const TEST_SETUP_NAME = /^(?:(?:jest|vitest|test)[.-]setup|setupTests)\.[a-z]+$/i;

/**
 * The language of `relPath` where it is code under test: a JavaScript, TypeScript, Python or Rust
 * source file that is no test file, test setup file nor test configuration (a `conftest.py`, a
 * `jest.config.js`), outside the test directories and their data (`testSupportRoot`) and the
 * directories the finders skip (a dependency's own). Null for any other file. A Rust source file
 * may hold unit tests: only its code outside them is looked at.
 */
export function probeLanguage(relPath: string): ProbeLanguage | null {
  const extension = /\.([a-z]+)$/.exec(relPath)?.[1] ?? '';
  const language = LANGUAGE_BY_EXTENSION[extension] ?? null;
  if (language === null || isInSkippedDirectory(relPath)) return null;
  if (testSupportRoot(relPath) !== null || testConfigFileKind(relPath) !== null) return null;
  if (TEST_SETUP_NAME.test(relPath.split('/').at(-1) ?? '')) return null;
  return isPythonTestModule(relPath) || isTestFile(relPath, 'unknown') ? null : language;
}

/** How many times each probe of `language` occurs in `code`, by label (those that do). */
export function countProbes(language: ProbeLanguage, code: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { label, pattern } of TEST_PROBES[language]) {
    const n = [...code.matchAll(pattern)].length;
    if (n > 0) counts.set(label, n);
  }
  return counts;
}

/** Whether `text`, the code under test at `relPath` (`probeLanguage`), holds any probe: a quick look. */
export function holdsTestProbe(relPath: string, text: string): boolean {
  const language = probeLanguage(relPath);
  return language !== null && countProbes(language, text).size > 0;
}
