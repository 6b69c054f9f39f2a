import { isPythonBytecode } from 'src/common';
import { isCargoConfig } from 'src/test-runner/cargo-config';
import { rustTestLocation } from 'src/test-runner/rust-test-files';

/**
 * Which files count as test files, per ecosystem, and which directories are never looked into.
 * Paths are relative to the project, with `/` separators.
 */
export type TestEcosystem = 'node' | 'python' | 'go' | 'rust' | 'unknown';

/** Directories skipped by the file snapshot (and ignored in git status output). */
export const SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set([
  'node_modules',
  '.git',
  '.hg',
  '.svn',
  'dist',
  'build',
  'out',
  'coverage',
  '.nyc_output',
  'venv',
  '.venv',
  'env',
  '.env',
  '__pycache__',
  '.pytest_cache',
  '.mypy_cache',
  '.ruff_cache',
  '.tox',
  '.nox',
  'site-packages',
  'target',
  '.next',
  '.nuxt',
  '.cache',
  '.idea',
  '.vscode',
  '.claude',
]);

const JS_EXT = /\.(c|m)?(j|t)sx?$/;
const JS_TEST_NAME = /(\.|-|_)(test|spec)\.(c|m)?(j|t)sx?$|^test(-|_|\.)/;
const TEST_DIRS = new Set(['test', 'tests', '__tests__', 'spec']);

function segments(relPath: string): string[] {
  return relPath.split('/').filter((s) => s !== '' && s !== '.');
}

function isNodeTest(parts: string[], base: string): boolean {
  if (!JS_EXT.test(base) || base.endsWith('.d.ts')) return false;
  return JS_TEST_NAME.test(base) || parts.slice(0, -1).some((p) => TEST_DIRS.has(p));
}

function isPythonTest(base: string): boolean {
  return /^test.*\.py$/.test(base) || /_test\.py$/.test(base);
}

function isGoTest(base: string): boolean {
  return base.endsWith('_test.go');
}

function isRustTest(parts: string[]): boolean {
  return rustTestLocation(parts) !== null;
}

/**
 * Directories pytest does not collect from unless told to (its `norecursedirs` default: `.*`,
 * `build`, `dist`, `node_modules`, `venv`, `*.egg`, `CVS`, `_darcs`, `{arch}`), and installed
 * packages (`site-packages`: a virtual environment's, which pytest leaves out too).
 */
const PYTEST_UNCOLLECTED = new Set([
  'build',
  'dist',
  'node_modules',
  'venv',
  'site-packages',
  'CVS',
  '_darcs',
  '{arch}',
]);

/**
 * True when `relPath` lies where pytest does not look for tests, `conftest.py` files or modules
 * to import (PYTEST_UNCOLLECTED). Narrower than `isInSkippedDirectory`: pytest does collect from
 * `env`, `out`, `target`, `coverage` and the like, and a `conftest.py` there reaches every test.
 */
function isInPytestUncollected(relPath: string): boolean {
  return segments(relPath)
    .slice(0, -1)
    .some((p) => p.startsWith('.') || p.endsWith('.egg') || PYTEST_UNCOLLECTED.has(p));
}

/** True when `relPath` lies inside a directory the finders skip. */
export function isInSkippedDirectory(relPath: string): boolean {
  return segments(relPath)
    .slice(0, -1)
    .some((p) => SKIPPED_DIRECTORIES.has(p));
}

/** Directories whose files serve the tests beside them: recorded output, test data. */
const TEST_DATA_DIRS = new Set(['__snapshots__', 'testdata']);

/**
 * Where the tests that `relPath` serves are, when it is a file of a test directory that is no test
 * file (a helper, a fixture, expected output, a snapshot): the path up to its first test directory
 * (`test/golden/sum.txt`: `test`), or the directory holding its test data directory
 * (`src/__snapshots__/a.test.js.snap`: `src`, `.` at the top). Null for any other file.
 */
export function testSupportRoot(relPath: string): string | null {
  const parts = segments(relPath);
  if (
    parts.length < 2 ||
    isInSkippedDirectory(relPath) ||
    isTestFile(relPath, 'unknown') ||
    isPythonBytecode(relPath)
  ) {
    return null;
  }
  const dirs = parts.slice(0, -1);
  const at = dirs.findIndex((p) => TEST_DIRS.has(p) || TEST_DATA_DIRS.has(p));
  if (at < 0) return null;
  if (TEST_DIRS.has(dirs[at])) return dirs.slice(0, at + 1).join('/');
  return at === 0 ? '.' : dirs.slice(0, at).join('/');
}

/** True when `relPath` looks like a test file for `ecosystem` (any ecosystem for `unknown`). */
export function isTestFile(relPath: string, ecosystem: TestEcosystem): boolean {
  const parts = segments(relPath);
  if (parts.length === 0 || isInSkippedDirectory(relPath)) return false;
  const base = parts[parts.length - 1];
  switch (ecosystem) {
    case 'node':
      return isNodeTest(parts, base);
    case 'python':
      return isPythonTest(base);
    case 'go':
      return isGoTest(base);
    case 'rust':
      return isRustTest(parts);
    case 'unknown':
      return isNodeTest(parts, base) || isPythonTest(base) || isGoTest(base) || isRustTest(parts);
  }
}

/**
 * What a test configuration file configures (`testConfigFileKind`):
 * - `conftest`: pytest's `conftest.py` (fixtures, hooks, `collect_ignore`, `pytest_plugins`);
 * - `pytest`: a file pytest reads its options from (`pytest.ini`, `.pytest.ini`, `pytest.toml`,
 *   `.pytest.toml`, `tox.ini`, `setup.cfg`, `pyproject.toml`), where a section of it is pytest's;
 * - `package.json`: npm's test scripts (`test`, `pretest`, `posttest`) and its `jest` or `mocha`
 *   key, among much else;
 * - `runner`: a JavaScript test runner's own configuration (`jest.config.*`, `vitest.config.*`,
 *   `vitest.workspace.*`, `vite.config.*`: vitest reads its `test` block, `.mocharc*`); what a
 *   project names as such elsewhere is found from its files (`js-test-config.ts`);
 * - `babel`: Babel's configuration (`babel.config.*`, `.babelrc`, `.babelrc.*`), through which
 *   jest compiles every test file and the code it imports (`babel-jest`, its default transform,
 *   loads it): a plugin there can rewrite what a test checks (`expect(add(-2, -3))` made
 *   `expect(-5)`) with no test file, and no jest configuration, changed;
 * - `package-manager`: npm's and yarn's configuration (`.npmrc`, `.yarnrc`, `.yarnrc.yml`), whose
 *   `node-options`, `script-shell`, `yarnPath` or plugins run code before every test script;
 * - `python-tool`: Python code the test tools load in place of their own or beside it: a
 *   top-level module or package of the project named as a test tool or its plugin manager
 *   (`unittest.py`, `pytest/__init__.py`, `_pytest`, `pluggy`: `python -m` puts the working
 *   directory first on the module path), a top-level `sitecustomize.py` or `usercustomize.py`,
 *   the `entry_points.txt` of a distribution's metadata (`*.dist-info`, `*.egg-info`: pytest
 *   loads the plugins one declares), and Python bytecode (which Python runs instead of its
 *   source);
 * - `cargo`: Cargo's build and test configuration (`.cargo/config.toml`, `build.rs`,
 *   `rust-toolchain*`, `Cargo.toml`: `isCargoConfig`), of the project or any of its packages.
 */
export type TestConfigFileKind =
  | 'conftest'
  | 'pytest'
  | 'package.json'
  | 'runner'
  | 'babel'
  | 'package-manager'
  | 'python-tool'
  | 'cargo';

/** The sections pytest reads its options from, by file name. */
export const PYTEST_CONFIG_SECTIONS: Readonly<Record<string, readonly string[]>> = {
  'pytest.ini': ['pytest'],
  '.pytest.ini': ['pytest'],
  'pytest.toml': ['pytest'],
  '.pytest.toml': ['pytest'],
  'tox.ini': ['pytest'],
  'setup.cfg': ['tool:pytest'],
  'pyproject.toml': ['tool.pytest.ini_options', 'tool.pytest'],
};

/**
 * Top-level modules a Python test tool imports for its own code (or, for the customisation
 * modules, Python at its start), as the project would hold them in place of the real ones: only
 * at the top (the module path's first entry is the project under `python -m`), and a package
 * only by its `__init__.py` (a directory without one hides nothing of the same name).
 */
const PYTHON_TOOL_FILES = new Set(
  ['unittest', 'pytest', '_pytest', 'pluggy', 'sitecustomize', 'usercustomize'].flatMap((name) => [
    `${name}.py`,
    `${name}/__init__.py`,
  ]),
);
const DISTRIBUTION_METADATA = /\.(dist|egg)-info$/;

/** Whether the file `relPath` (its `parts`) is `python-tool` code (`TestConfigFileKind`). */
function isPythonToolCode(relPath: string, parts: readonly string[]): boolean {
  if (PYTHON_TOOL_FILES.has(parts.join('/')) || isPythonBytecode(relPath)) return true;
  return (
    parts[parts.length - 1] === 'entry_points.txt' &&
    parts.length >= 2 &&
    DISTRIBUTION_METADATA.test(parts[parts.length - 2])
  );
}

const JS_RUNNER_CONFIG =
  /^(jest\.config|vitest\.(config|workspace)|vite\.config)\.(c|m)?(j|t)s(on)?$|^\.mocharc(\.[a-z]+)?$/;
const BABEL_CONFIG = /^babel\.config\.(c|m)?(j|t)s(on)?$|^\.babelrc(\.(c|m)?js(on)?)?$/;
const PACKAGE_MANAGER_CONFIG = /^\.npmrc$|^\.yarnrc(\.yml)?$/;

/**
 * What the file at `relPath` configures for a test tool (`TestConfigFileKind`), or null: not a
 * test configuration file, or inside a directory the finders skip (a dependency's own; for
 * pytest's files, a directory pytest does not collect from: `isInPytestUncollected`).
 */
export function testConfigFileKind(relPath: string): TestConfigFileKind | null {
  const parts = segments(relPath);
  if (parts.length === 0) return null;
  const base = parts[parts.length - 1];
  if (base === 'conftest.py' || base in PYTEST_CONFIG_SECTIONS) {
    if (isInPytestUncollected(relPath)) return null;
    return base === 'conftest.py' ? 'conftest' : 'pytest';
  }
  if (isPythonToolCode(relPath, parts)) {
    return isInPytestUncollected(relPath) ? null : 'python-tool';
  }
  if (isInSkippedDirectory(relPath)) return null;
  if (isCargoConfig(parts)) return 'cargo';
  if (base === 'package.json') return 'package.json';
  if (PACKAGE_MANAGER_CONFIG.test(base)) return 'package-manager';
  if (BABEL_CONFIG.test(base)) return 'babel';
  return JS_RUNNER_CONFIG.test(base) ? 'runner' : null;
}

/**
 * A file that configures how a test tool selects or runs the tests (`testConfigFileKind`): the
 * agent's changes to it are looked at as changes to the tests (`ProjectChanges.configFiles`).
 */
export const isTestConfigFile = (relPath: string): boolean => testConfigFileKind(relPath) !== null;

/**
 * A Python module of the test tree: a `conftest.py`, a Python test file, or any `.py` file in a
 * test directory (`test`, `tests`, `testing`, ...) such as a package's `__init__.py` or a helper,
 * outside the directories pytest does not collect from (`isInPytestUncollected`). Pytest hooks
 * and unittest's `load_tests` there can change which tests run.
 */
export function isPythonTestModule(relPath: string): boolean {
  const parts = segments(relPath);
  if (parts.length === 0 || isInPytestUncollected(relPath)) return false;
  const base = parts[parts.length - 1];
  if (!base.endsWith('.py')) return false;
  return (
    base === 'conftest.py' ||
    isPythonTest(base) ||
    parts.slice(0, -1).some((p) => TEST_DIRS.has(p) || p === 'testing')
  );
}

/**
 * Python code that may change which tests run or how they end: a pytest hook or unittest's
 * `load_tests` defined or bound (`as pytest_x` too), `collect_ignore`, `pytest_plugins`, pytest's
 * plugin manager used. A quick look (a test module without any of it is not test configuration);
 * `test-weakening.ts` says what each change did.
 */
export const PYTHON_TEST_CONFIG_CODE =
  /^[ \t]*(?:def[ \t]+)?(?:pytest_\w+|load_tests)[ \t]*[(=]|^[ \t]*(?:collect_ignore|pytest_plugins)\b|\bas[ \t]+pytest_\w+|\bpluginmanager\b/m;
