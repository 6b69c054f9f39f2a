import {
  testSupportRoot,
  isInSkippedDirectory,
  isPythonTestModule,
  isTestFile,
  PYTHON_TEST_CONFIG_CODE,
  TestConfigFileKind,
  testConfigFileKind,
  TestEcosystem,
} from 'src/test-runner/test-file-patterns';

describe('isTestFile', () => {
  it.each<[string, TestEcosystem, boolean]>([
    ['test/math.test.js', 'node', true],
    ['src/math.spec.ts', 'node', true],
    ['src/math_test.mjs', 'node', true],
    ['test/helpers.js', 'node', true],
    ['__tests__/a.tsx', 'node', true],
    ['src/math.js', 'node', false],
    ['src/types.d.ts', 'node', false],
    ['test/data.json', 'node', false],
    ['node_modules/x/a.test.js', 'node', false],
    ['tests/test_calc.py', 'python', true],
    ['calc_test.py', 'python', true],
    ['tests/conftest.py', 'python', false],
    ['tests/__init__.py', 'python', false],
    ['calc.py', 'python', false],
    ['.venv/lib/test_x.py', 'python', false],
    ['tests/test_calc.py', 'node', false],
    ['pkg/calc_test.go', 'go', true],
    ['pkg/calc.go', 'go', false],
    ['tests/integration.rs', 'rust', true],
    ['src/lib.rs', 'rust', false],
    ['tests/test_calc.py', 'unknown', true],
    ['test/a.test.js', 'unknown', true],
    ['README.md', 'unknown', false],
  ])('%s (%s) -> %s', (path, ecosystem, expected) => {
    expect(isTestFile(path, ecosystem)).toBe(expected);
  });

  it('knows the skipped directories', () => {
    expect(isInSkippedDirectory('a/node_modules/b.js')).toBe(true);
    expect(isInSkippedDirectory('dist/a.test.js')).toBe(true);
    expect(isInSkippedDirectory('src/dist.test.js')).toBe(false);
  });
});

describe('testSupportRoot', () => {
  it.each<[string, string | null]>([
    ['test/golden/sum.txt', 'test'],
    ['pkg/tests/helpers.py', 'pkg/tests'],
    ['tests/fixtures/cases.json', 'tests'],
    ['src/__snapshots__/view.test.js.snap', 'src'],
    ['__snapshots__/view.test.js.snap', '.'],
    ['pkg/testdata/input.txt', 'pkg'],
  ])('a file of a test directory that is no test file serves the tests there: %s', (path, root) => {
    expect(testSupportRoot(path)).toBe(root);
  });

  it.each([
    'test/math.test.js',
    'test/helpers.js',
    'tests/test_calc.py',
    'src/math.js',
    'README.md',
    'node_modules/x/test/data.json',
    'tests/helpers.pyc',
    'tests/fixtures/old.pyo',
  ])('any other file serves no tests: %s', (path) => {
    expect(testSupportRoot(path)).toBeNull();
  });
});

describe('test configuration files', () => {
  it.each<[string, TestConfigFileKind | null]>([
    ['conftest.py', 'conftest'],
    ['tests/conftest.py', 'conftest'],
    ['pytest.ini', 'pytest'],
    ['.pytest.ini', 'pytest'],
    ['pytest.toml', 'pytest'],
    ['tox.ini', 'pytest'],
    ['setup.cfg', 'pytest'],
    ['sub/pyproject.toml', 'pytest'],
    ['package.json', 'package.json'],
    ['packages/a/package.json', 'package.json'],
    ['jest.config.js', 'runner'],
    ['jest.config.ts', 'runner'],
    ['jest.config.json', 'runner'],
    ['vitest.config.mts', 'runner'],
    ['vite.config.js', 'runner'],
    ['vite.config.mts', 'runner'],
    ['vitest.workspace.ts', 'runner'],
    ['.mocharc', 'runner'],
    ['.mocharc.yml', 'runner'],
    ['babel.config.js', 'babel'],
    ['babel.config.cjs', 'babel'],
    ['babel.config.json', 'babel'],
    ['.babelrc', 'babel'],
    ['src/.babelrc.js', 'babel'],
    ['node_modules/x/.babelrc', null],
    ['.npmrc', 'package-manager'],
    ['packages/a/.npmrc', 'package-manager'],
    ['.yarnrc', 'package-manager'],
    ['.yarnrc.yml', 'package-manager'],
    ['node_modules/x/package.json', null],
    ['node_modules/x/.npmrc', null],
    ['out/package.json', null],
    ['.venv/lib/site-packages/numpy/conftest.py', null],
    ['env/lib/python3.11/site-packages/numpy/conftest.py', null],
    ['node_modules/x/conftest.py', null],
    ['build/lib/conftest.py', null],
    ['pkg.egg/conftest.py', null],
    // Python code the test tools load in place of their own, or beside it
    ['unittest/__init__.py', 'python-tool'],
    ['pytest.py', 'python-tool'],
    ['_pytest/__init__.py', 'python-tool'],
    ['pluggy.py', 'python-tool'],
    ['sitecustomize.py', 'python-tool'],
    ['usercustomize.py', 'python-tool'],
    ['zz_helper.dist-info/entry_points.txt', 'python-tool'],
    ['src/calc.egg-info/entry_points.txt', 'python-tool'],
    ['__pycache__/calc.cpython-311.pyc', 'python-tool'],
    ['pkg/legacy.pyc', 'python-tool'],
    ['.venv/lib/python3.11/site-packages/pytest/__init__.py', null],
    ['.venv/lib/python3.11/site-packages/__pycache__/x.cpython-311.pyc', null],
    ['lib/site-packages/x.dist-info/entry_points.txt', null],
    ['entry_points.txt', null],
    // only at the top, and a package only by its __init__.py: test layouts with these names are tests
    ['unittest/case.py', null],
    ['tests/unittest/test_math.py', null],
    ['tests/pytest/test_capture.py', null],
    ['test/unittest/a.test.js', null],
    ['mylib/contrib/pytest.py', null],
    ['src/usercustomize.py', null],
    ['docs/pytest/index.md', null],
    ['docs/unittest.md', null],
    ['src/pytest_helpers.py', null],
    // pytest collects from these, and a conftest.py there reaches every test it runs
    ['tests/env/conftest.py', 'conftest'],
    ['out/conftest.py', 'conftest'],
    ['target/conftest.py', 'conftest'],
    ['coverage/pytest.ini', 'pytest'],
    ['package-lock.json', null],
    ['src/setup.py', null],
    ['tests/test_calc.py', null],
  ])('%s -> %s', (path, kind) => {
    expect(testConfigFileKind(path)).toBe(kind);
  });

  it.each<[string, boolean]>([
    ['conftest.py', true],
    ['tests/__init__.py', true],
    ['tests/_plugin.py', true],
    ['pkg/testing/helpers.py', true],
    ['test_calc.py', true],
    ['calc_test.py', true],
    ['calc.py', false],
    ['src/myplugin/hooks.py', false],
    ['tests/data.json', false],
    ['.venv/lib/tests/x.py', false],
    ['site-packages/pkg/tests/x.py', false],
    ['tests/env/helpers.py', true],
    ['target/tests/x.py', true],
  ])('a Python module of the test tree: %s -> %s', (path, expected) => {
    expect(isPythonTestModule(path)).toBe(expected);
  });

  it('tells Python code that may configure the tests from a plain test module', () => {
    for (const code of [
      'def pytest_runtest_makereport(item, call):\n',
      '    def pytest_collection_modifyitems(items):\n',
      'pytest_runtest_makereport = other\n',
      'def load_tests(loader, tests, pattern):\n',
      'pytest_plugins = ["x"]\n',
      'collect_ignore = ["x"]\n',
      '    config.pluginmanager.register(p)\n',
      '    pm = config.pluginmanager\n',
      'from tests.plugin import passing as pytest_pyfunc_call\n',
    ]) {
      expect([code, PYTHON_TEST_CONFIG_CODE.test(code)]).toEqual([code, true]);
    }
    expect(
      PYTHON_TEST_CONFIG_CODE.test(
        'import unittest\n\nclass T(unittest.TestCase):\n    def test_a(self):\n        self.assertTrue(pytest_like)\n',
      ),
    ).toBe(false);
  });
});
