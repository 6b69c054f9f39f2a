import {
  addedSkipMarkers,
  countAssertions,
  detectWeakening,
} from 'src/orchestrator/run/test-weakening';

const unknown = { total: null, names: null, skipped: null };
const none = { baseline: unknown, after: unknown };
const count = (total: number | null) => ({ total, names: null, skipped: null });

describe('detectWeakening', () => {
  it('finds a deleted and a renamed test file', () => {
    const found = detectWeakening(
      [
        { status: 'deleted', path: 'test/a.test.js' },
        { status: 'renamed', path: 'test/b.test.js', newPath: 'test/b.js.bak' },
      ],
      none,
    );
    expect(found.map((w) => [w.kind, w.file])).toEqual([
      ['deleted', 'test/a.test.js'],
      ['renamed', 'test/b.test.js'],
    ]);
    expect(found[1].detail).toContain('test/b.js.bak');
  });

  it.each([
    ["test('x', () => {});", "test.skip('x', () => {});", '.skip('],
    ["it('x', () => {});", "it.only('x', () => {});", '.only('],
    ["it('x', () => {});", "xit('x', () => {});", 'xit('],
    ["describe('x', () => {});", "xdescribe('x', () => {});", 'xdescribe('],
    ["test('x', () => {});", "test('x', { skip: true }, () => {});", '{ skip: true }'],
    ["test('x', () => {});", "test('x', { skip: !0 }, () => {});", '{ skip: true }'],
    ['def test_x(self):', '@pytest.mark.skip\ndef test_x(self):', '@pytest.mark.skip'],
    [
      '    def test_x(self):',
      "    @unittest.skip('later')\n    def test_x(self):",
      '@unittest.skip',
    ],
    ['func TestX(t *testing.T) {', 'func TestX(t *testing.T) {\n\tt.Skip("later")', 't.Skip('],
    ['#[test]\nfn x() {}', '#[test]\n#[ignore]\nfn x() {}', '#[ignore]'],
    ['def test_x(self):', "def test_x(self):\n    self.skipTest('no')", 'skipTest('],
    ['def test_x():', "def test_x():\n    pytest.xfail('known issue')", 'pytest.skip('],
    ['import pytest', "import pytest\nnumpy = pytest.importorskip('numpy')", 'pytest.skip('],
    [
      'from pytest import skip\ndef test_x():',
      "from pytest import skip\ndef test_x():\n    skip('later')",
      'skip( (imported from pytest)',
    ],
    [
      'from pytest import mark',
      'from pytest import mark\npytestmark = mark.xfail',
      'pytestmark = ...skip',
    ],
    [
      'def pytest_collection_modifyitems(items):',
      'def pytest_collection_modifyitems(items):\n    items[0].add_marker(xfail_mark)',
      'add_marker(',
    ],
    [
      '    def test_x(self):',
      '    @unittest.expectedFailure\n    def test_x(self):',
      '@unittest.skip',
    ],
    [
      'from unittest import expectedFailure',
      'from unittest import expectedFailure\n@expectedFailure\ndef test_x(self):',
      '@expectedFailure (imported from unittest)',
    ],
    ['def test_x():', "def test_x():\n    raise unittest.SkipTest('no')", 'SkipTest'],
    ['def test_x():', '@pytest.mark.xfail\ndef test_x():', '@pytest.mark.skip'],
    ['def test_x():', '@mark.skipif(True, reason="x")\ndef test_x():', '@pytest.mark.skip'],
  ])('finds an added marker: %s -> %s', (before, after, label) => {
    const found = detectWeakening([{ status: 'modified', path: 'test/x', before, after }], none);
    expect(found).toEqual([expect.objectContaining({ kind: 'skip_marker', file: 'test/x' })]);
    expect(found[0].detail).toContain(label);
  });

  it.each([
    [
      'a test emptied',
      "test('adds', () => {\n  assert.strictEqual(add(2, 3), 5);\n  assert(add(0, 0) === 0);\n});",
      "test('adds', () => {});",
      2,
    ],
    [
      'an expect dropped',
      'it("a", () => { expect(f()).toBe(1); expect(g()).toBe(2); });',
      'it("a", () => { expect(f()).toBe(1); });',
      1,
    ],
    [
      'a Python assert dropped',
      'def test_a():\n    assert f() == 1\n    assert g() == 2\n',
      'def test_a():\n    assert f() == 1\n',
      1,
    ],
    [
      'a unittest assertion dropped',
      '    def test_a(self):\n        self.assertEqual(f(), 1)\n',
      '    def test_a(self):\n        pass\n',
      1,
    ],
    ['a Go check dropped', 'if got != 1 {\n\tt.Errorf("got %d", got)\n}', '_ = got', 1],
    ['a Rust assertion dropped', 'assert_eq!(f(), 1);\nassert!(g());', 'assert!(g());', 1],
  ])('finds assertions removed from an existing test file: %s', (_what, before, after, removed) => {
    const found = detectWeakening([{ status: 'modified', path: 'test/x', before, after }], none);
    expect(found).toEqual([expect.objectContaining({ kind: 'fewer_assertions', file: 'test/x' })]);
    expect(found[0].detail).toContain(`removed ${removed} assertion(s)`);
  });

  it('counts each assertion once, whatever its spelling', () => {
    expect(countAssertions('assert (x)\nassert(y)\nassert z\n')).toBe(3);
    expect(countAssertions('expect(a).toBe(1); expect.soft(b).toBe(2);')).toBe(2);
    expect(countAssertions('with pytest.raises(ValueError):\n    self.assertRaises(E, f)\n')).toBe(
      2,
    );
    expect(countAssertions('require.Equal(t, 1, got)\nx := require.resolve\n')).toBe(1);
    // Pagination options are no skip.
    expect(addedSkipMarkers('', 'await repo.find({ skip: 1, take: 10 });')).toEqual([]);
  });

  it('reads a file of blank lines in linear time (an agent may write one of megabytes)', () => {
    const blank = '\n'.repeat(4_000_000);
    expect(countAssertions(blank)).toBe(0);
    expect(
      detectWeakening(
        [{ status: 'modified', path: 'conftest.py', before: '', after: blank }],
        none,
      ),
    ).toEqual([]);
  });

  it('does not count assertions added, moved or rewritten in place', () => {
    const before = "test('a', () => {\n  assert.strictEqual(f(), 1);\n});";
    const moved =
      "test('b', () => {});\ntest('a', () => {\n  assert.equal(f(), 1);\n  expect(g()).toBe(2);\n});";
    expect(
      detectWeakening([{ status: 'modified', path: 't', before, after: moved }], none),
    ).toEqual([]);
  });

  it('does not count markers that were there already, nor an unchanged test file', () => {
    const before = "test.skip('old', () => {});\ntest('a', () => {});";
    const after = "test.skip('old', () => {});\ntest('a', () => {});\ntest('b', () => {});";
    expect(detectWeakening([{ status: 'modified', path: 't', before, after }], none)).toEqual([]);
  });

  it('counts markers: a second skip is found even though one existed', () => {
    expect(
      addedSkipMarkers("test.skip('a', f);", "test.skip('a', f);\ntest.skip('b', f);"),
    ).toEqual([{ label: '.skip(', added: 1 }]);
  });

  it("reads a bare skip( as pytest's only where the file imports it from pytest, and pytestmark only with a skip", () => {
    const before = 'test("a", () => {});\n';
    const after = 'test("a", () => {});\ntest("b", () => of(1, 2).pipe(skip(1)));\n';
    expect(addedSkipMarkers(before, after)).toEqual([]);
    const own = 'from mylib import skip\n\ndef test_a():\n    assert skip(1) == 2\n';
    expect(addedSkipMarkers('from mylib import skip\n', own)).toEqual([]);
    const pytests = 'from pytest import skip\n\ndef test_a():\n    skip("x")\n';
    expect(addedSkipMarkers('from pytest import skip\n', pytests)).toEqual([
      { label: 'skip( (imported from pytest)', added: 1 },
    ]);
    // Imported in parentheses, over several lines.
    const inParens = 'from pytest import (\n    fixture,\n    skip,\n)\n';
    expect(addedSkipMarkers(inParens, `${inParens}\ndef test_a():\n    skip("x")\n`)).toEqual([
      { label: 'skip( (imported from pytest)', added: 1 },
    ]);
    expect(addedSkipMarkers('', 'pytestmark = pytest.mark.asyncio\n')).toEqual([]);
    expect(addedSkipMarkers('', 'pytestmark = [mark.xfail]\n')).toEqual([
      { label: 'pytestmark = ...skip', added: 1 },
    ]);
  });

  it('finds a regression suite that runs fewer tests than at the baseline, not more', () => {
    expect(detectWeakening([], { baseline: count(5), after: count(4) })).toEqual([
      expect.objectContaining({ kind: 'fewer_tests', file: null }),
    ]);
    expect(detectWeakening([], { baseline: count(5), after: count(6) })).toEqual([]);
  });

  it('finds a regression suite whose output stopped counting its tests (a test script made `exit 0`)', () => {
    const found = detectWeakening([], { baseline: count(5), after: count(null) });
    expect(found).toEqual([expect.objectContaining({ kind: 'fewer_tests', file: null })]);
    expect(found[0].detail).toContain('ran 5 test(s) at the base commit, and its output after');
    // Nothing to go by where the baseline did not count them either, or counted none.
    expect(detectWeakening([], none)).toEqual([]);
    expect(detectWeakening([], { baseline: count(0), after: count(null) })).toEqual([]);
  });

  it("says what a test directory's __init__.py deleted does: unittest's discovery leaves it out", () => {
    expect(
      detectWeakening([{ status: 'deleted', path: 'tests/__init__.py' }], none)[0].detail,
    ).toBe(
      "deleted tests/__init__.py, which made its test directory a package: unittest's discovery leaves a directory without it out, with its tests",
    );
  });

  it('by name where both runs name their tests: one dropped is found though another was added', () => {
    const found = detectWeakening([], {
      baseline: { total: 2, names: ['adds', 'adds negatives'], skipped: 0 },
      after: { total: 2, names: ['adds', 'multiplies'], skipped: 0 },
    });
    expect(found).toEqual([expect.objectContaining({ kind: 'fewer_tests' })]);
    expect(found[0].detail).toContain(
      'no longer runs 1 test(s) it ran at the base commit: adds negatives',
    );
  });

  it('finds a regression suite that skips more tests than at the baseline, however they were skipped', () => {
    const suite = (skipped: number | null, total = 3) => ({ total, names: null, skipped });
    const found = detectWeakening([], { baseline: suite(1), after: suite(2) });
    expect(found).toEqual([expect.objectContaining({ kind: 'skip_marker', file: null })]);
    expect(found[0].detail).toBe(
      'the regression suite skips 1 more of its tests than at the base commit (1 skipped of 3 before, 2 of 3 after)',
    );
    expect(detectWeakening([], { baseline: suite(2), after: suite(1) })).toEqual([]);
    expect(detectWeakening([], { baseline: suite(null), after: suite(3) })).toEqual([]);
    // A new test skipped where it cannot run is not an existing one skipped.
    expect(detectWeakening([], { baseline: suite(1), after: suite(2, 4) })).toEqual([]);
    expect(detectWeakening([], { baseline: suite(1), after: suite(3, 4) })).toHaveLength(1);
  });

  it('finds tests the regression suite deselects that it ran at the baseline, though new tests keep the totals', () => {
    const suite = (deselected: number | null | undefined, total = 2) => ({
      total,
      names: null,
      skipped: 0,
      deselected,
    });
    const found = detectWeakening([], { baseline: suite(0), after: suite(2, 2) });
    expect(found).toEqual([expect.objectContaining({ kind: 'fewer_tests', file: null })]);
    expect(found[0].detail).toBe(
      'the regression suite deselects 2 more of its tests than at the base commit (0 deselected before, 2 after): its options (`-k`, `-m`, `--deselect`) or a hook now leave them out',
    );
    // More tests run do not make up for those deselected.
    expect(detectWeakening([], { baseline: suite(1), after: suite(2, 5) })).toHaveLength(1);
    // As many as before, fewer, or not known (a baseline stored before they were counted).
    expect(detectWeakening([], { baseline: suite(1), after: suite(1) })).toEqual([]);
    expect(detectWeakening([], { baseline: suite(2), after: suite(0, 4) })).toEqual([]);
    expect(detectWeakening([], { baseline: suite(undefined), after: suite(2) })).toEqual([]);
    expect(detectWeakening([], { baseline: suite(0), after: suite(null) })).toEqual([]);
  });

  it('finds a marker a new conftest.py adds through an autouse fixture (an existing test xfailed)', () => {
    const conftest =
      'import pytest\n\n\n@pytest.fixture(autouse=True)\ndef _known_issue(request):\n    if request.node.name == "test_sub":\n        pytest.xfail("known issue")\n';
    expect(
      detectWeakening(
        [{ status: 'modified', path: 'conftest.py', before: '', after: conftest }],
        none,
      ),
    ).toContainEqual(
      expect.objectContaining({
        kind: 'skip_marker',
        file: 'conftest.py',
        detail: expect.stringContaining('`pytest.skip(`'),
      }),
    );
  });

  it('finds pytest hooks added to a conftest.py that can change which tests run or how they end', () => {
    const fixture = 'import pytest\n\n@pytest.fixture\ndef calc():\n    return 1\n';
    const forced = `${fixture}\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n    outcome = yield\n    outcome.get_result().outcome = "passed"\n`;
    const found = detectWeakening(
      [{ status: 'modified', path: 'tests/conftest.py', before: '', after: forced }],
      none,
    );
    expect(found).toEqual([
      expect.objectContaining({ kind: 'test_hooks', file: 'tests/conftest.py' }),
    ]);
    expect(found[0].detail).toContain(
      'added or changed pytest hooks in tests/conftest.py (pytest_runtest_makereport)',
    );
    // Fixtures are not hooks, a hook there already is not counted again, and a module outside the
    // test tree is not test configuration (a pytest plugin's own source).
    expect(
      detectWeakening(
        [{ status: 'modified', path: 'conftest.py', before: '', after: fixture }],
        none,
      ),
    ).toEqual([]);
    expect(
      detectWeakening(
        [{ status: 'modified', path: 'conftest.py', before: forced, after: `${forced}\n# note\n` }],
        none,
      ),
    ).toEqual([]);
    expect(
      detectWeakening(
        [{ status: 'modified', path: 'src/myplugin/hooks.py', before: '', after: forced }],
        none,
      ),
    ).toEqual([]);
  });

  /** The findings for one file changed from `before` to `after`: [kind, file, detail]. */
  const findings = (path: string, before: string, after: string) =>
    detectWeakening([{ status: 'modified', path, before, after }], none).map((w) => [
      w.kind,
      w.file,
      w.detail,
    ]);

  describe('test configuration created or changed', () => {
    const HOOK =
      'import pytest\n\n\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n    outcome = yield\n    rep = outcome.get_result()\n    if rep.failed:\n        rep.outcome = "passed"\n';

    it('pytest hooks in any Python module of the test tree, defined or bound, not only conftest.py', () => {
      expect(findings('tests/_plugin.py', '', HOOK)).toEqual([
        [
          'test_hooks',
          'tests/_plugin.py',
          'added or changed pytest hooks in tests/_plugin.py (pytest_runtest_makereport), which can change which tests run or how they end (`pytest_pyfunc_call` returning True passes every test unrun): only `pytest_configure` registering markers is not test configuration',
        ],
      ]);
      const bound = 'from tests import _plugin\n\npytest_collection_modifyitems = _plugin.drop\n';
      expect(findings('tests/helpers.py', '', bound)).toEqual([
        [
          'test_hooks',
          'tests/helpers.py',
          expect.stringContaining(
            'pytest hooks in tests/helpers.py (pytest_collection_modifyitems)',
          ),
        ],
      ]);
      expect(findings('test_calc.py', '', HOOK)).toHaveLength(1);
      // A comparison is no binding; a fixture is no hook.
      expect(findings('tests/helpers.py', '', 'ok = pytest_runtest_makereport == None\n')).toEqual(
        [],
      );
    });

    it('any pytest hook, not a list of them: pytest_pyfunc_call passing every test unrun', () => {
      const passAll =
        'import pytest\n\n\n@pytest.hookimpl(tryfirst=True)\ndef pytest_pyfunc_call(pyfuncitem):\n    return True\n';
      expect(findings('conftest.py', '', passAll)).toEqual([
        ['test_hooks', 'conftest.py', expect.stringContaining('(pytest_pyfunc_call)')],
      ]);
    });

    it('a conftest.py patching the code under test when pytest loads it, or an autouse fixture', () => {
      expect(
        findings('conftest.py', '', 'import calc\n\ncalc.mul = lambda a, b: a * b\n'),
      ).toContainEqual([
        'test_config_changed',
        'conftest.py',
        expect.stringContaining('added code that runs when pytest loads it'),
      ]);
      const autouse =
        'import pytest\n\n\n@pytest.fixture(autouse=True)\ndef _known_issue(request):\n    pass\n';
      expect(findings('conftest.py', '', autouse)).toEqual([
        ['test_config_changed', 'conftest.py', expect.stringContaining('made a fixture `autouse`')],
      ]);
    });

    it("unittest's load_tests added to a test package's __init__.py or a test module", () => {
      const loadTests =
        'def load_tests(loader, standard_tests, pattern):\n    return loader.discover("tests", pattern="test_mul*.py")\n';
      expect(findings('tests/__init__.py', '', loadTests)).toEqual([
        [
          'test_hooks',
          'tests/__init__.py',
          'added a unittest `load_tests` function to tests/__init__.py, which decides which tests of its module or package run',
        ],
      ]);
      expect(
        findings('tests/test_calc.py', 'import unittest\n', `import unittest\n\n${loadTests}`),
      ).toEqual([['test_hooks', 'tests/test_calc.py', expect.stringContaining('`load_tests`')]]);
      // One there already is not counted again.
      expect(findings('tests/__init__.py', loadTests, `${loadTests}\n# note\n`)).toEqual([]);
    });

    it.each([
      [
        'collect_ignore',
        'collect_ignore = ["test_calc.py"]\n',
        'collect_ignore = ["test_calc.py"]',
      ],
      [
        'collect_ignore_glob',
        'collect_ignore_glob = [\n    "test_c*.py",\n]\n',
        'collect_ignore_glob = [ "test_c*.py", ]',
      ],
      [
        'collect_ignore appended',
        'collect_ignore.append("test_calc.py")\n',
        'collect_ignore.append("test_calc.py")',
      ],
      [
        'pytest_plugins',
        'pytest_plugins = ["tests._plugin"]\n',
        'pytest_plugins = ["tests._plugin"]',
      ],
      [
        'a star import',
        'from tests._plugin import *  # noqa\n',
        'from tests._plugin import * # noqa',
      ],
      [
        'a hook imported',
        'from tests._plugin import pytest_runtest_makereport\n',
        'from tests._plugin import pytest_runtest_makereport',
      ],
      [
        'a hook imported in parentheses',
        'from tests._plugin import (\n    fixture_a,\n    pytest_collection_modifyitems,\n)\n',
        'from tests._plugin import ( fixture_a, pytest_collection_modifyitems, )',
      ],
    ])('in a conftest.py: %s', (_what, code, statement) => {
      const fixture = 'import pytest\n\n\n@pytest.fixture\ndef calc():\n    return 1\n';
      // A hook imported, or code run at import, is found as such too (`pytest-plugin-code.spec`).
      expect(findings('tests/conftest.py', fixture, `${code}\n${fixture}`)).toContainEqual([
        'test_config_changed',
        'tests/conftest.py',
        `changed in tests/conftest.py which tests pytest collects or which plugins (and their hooks) it loads: \`${statement}\``,
      ]);
    });

    it('in a conftest.py: statements there already, imports of other names and a changed list', () => {
      const before = 'import os\nfrom calc import add\n\ncollect_ignore = ["setup.py"]\n';
      expect(findings('conftest.py', before, `${before}\n# note\n`)).toEqual([]);
      expect(findings('conftest.py', before, `${before}from calc import mul\n`)).toEqual([]);
      expect(
        findings('conftest.py', before, before.replace('["setup.py"]', '["setup.py", "tests"]')),
      ).toEqual([
        ['test_config_changed', 'conftest.py', expect.stringContaining('collect_ignore')],
      ]);
      // In a test module only pytest_plugins loads anything.
      expect(findings('tests/test_a.py', '', 'from tests.helpers import *\n')).toEqual([]);
      expect(findings('tests/test_a.py', '', 'pytest_plugins = ["x"]\n')).toHaveLength(1);
    });

    it('reads a conftest.py of many statements, open brackets and all, in linear time', () => {
      const many = 'collect_ignore = [\n'.repeat(200_000);
      const started = Date.now();
      expect(findings('conftest.py', many, many)).toEqual([]);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('a plugin registered by hand in a Python module of the test tree', () => {
      const register =
        'def pytest_configure(config):\n    config.pluginmanager.register(Forgiving(), "forgiving")\n';
      expect(findings('tests/conftest.py', '', register)).toEqual([
        ['test_hooks', 'tests/conftest.py', expect.stringContaining('(pytest_configure)')],
        [
          'test_config_changed',
          'tests/conftest.py',
          expect.stringContaining("used pytest's plugin manager in tests/conftest.py"),
        ],
      ]);
    });

    it.each([
      [
        'pytest.ini',
        '',
        '[pytest]\naddopts = --deselect tests/test_calc.py::test_add\n',
        'the section [pytest] set to `present`; [pytest] addopts set to `--deselect tests/test_calc.py::test_add`',
      ],
      [
        'pyproject.toml',
        '[project]\nname = "calc"\n',
        '[project]\nname = "calc"\n\n[tool.pytest.ini_options]\naddopts = "-k \'not test_add\' -p no:cacheprovider"\n',
        'the section [tool.pytest.ini_options] set to `present`; [tool.pytest.ini_options] addopts set to `"-k \'not test_add\' -p no:cacheprovider"`',
      ],
      [
        'setup.cfg',
        '[metadata]\nname = calc\n\n[tool:pytest]\naddopts = -ra\n',
        '[metadata]\nname = calc\n\n[tool:pytest]\naddopts = -ra\n    -k "not test_add or test_add_zero"\n',
        '[tool:pytest] addopts `-ra` changed to `-ra -k "not test_add or test_add_zero"`',
      ],
      [
        'tox.ini',
        '[tox]\nenvlist = py311\n\n[pytest]\ntestpaths = tests\n',
        '[tox]\nenvlist = py311\n\n[pytest]\ntestpaths = tests/unit\n',
        '[pytest] testpaths `tests` changed to `tests/unit`',
      ],
      [
        'sub/pytest.toml',
        '[pytest]\npython_files = ["test_*.py"]\nnorecursedirs = ["build"]\n',
        '[pytest]\npython_files = ["check_*.py"]\n',
        '[pytest] python_files `["test_*.py"]` changed to `["check_*.py"]`; [pytest] norecursedirs removed (was `["build"]`)',
      ],
      [
        'pyproject.toml',
        '[tool.pytest]\ntestpaths = [\n  "tests",\n]\n',
        '[tool.pytest]\ntestpaths = [\n  "tests/fast",\n]\n',
        '[tool.pytest] testpaths `[ "tests", ]` changed to `[ "tests/fast", ]`',
      ],
      [
        'pytest.ini',
        '[pytest]\npythonpath = .\n',
        '[pytest]\npythonpath = stubs .\n',
        '[pytest] pythonpath `.` changed to `stubs .`',
      ],
      [
        'pyproject.toml',
        '[tool.pytest.ini_options]\nxfail_strict = true\n',
        '[tool.pytest.ini_options]\nxfail_strict = true\nusefixtures = ["patched_calc"]\n',
        '[tool.pytest.ini_options] usefixtures set to `["patched_calc"]`',
      ],
      [
        'pytest.ini',
        '[pytest]\nmarkers =\n    slow: slow tests\nfilterwarnings = error\n',
        '[pytest]\nmarkers =\n    net: the network\n',
        '[pytest] markers `slow: slow tests` changed to `net: the network`; [pytest] filterwarnings removed (was `error`)',
      ],
      [
        'pytest.ini',
        '',
        '[pytest]\nmarkers =\n    slow: slow tests\n',
        'the section [pytest] set to `present`',
      ],
    ])("pytest's options, any but markers added, in %s", (path, before, after, changes) => {
      expect(findings(path, before, after)).toEqual([
        [
          'test_config_changed',
          path,
          `changed pytest's options in ${path}, which decide which tests run and what they import and run against (only markers may be added): ${changes}`,
        ],
      ]);
    });

    it("not the rest of a pytest configuration file, nor another tool's sections", () => {
      const pyproject =
        '[project]\nname = "calc"\ndependencies = []\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n';
      expect(
        findings(
          'pyproject.toml',
          pyproject,
          pyproject
            .replace('dependencies = []', 'dependencies = ["requests>=2"]')
            .concat('markers = ["slow: slow tests"]\n\n[tool.ruff]\naddopts = "x"\n'),
        ),
      ).toEqual([]);
      expect(
        findings('setup.cfg', '', '[flake8]\naddopts = x\n[pytest]\naddopts = -k x\n'),
      ).toEqual([]);
      const markers = '[pytest]\nmarkers =\n    slow: slow tests\n';
      expect(findings('pytest.ini', markers, `${markers}    net: the network\n`)).toEqual([]);
      // An array of tables after the pytest section ends it: not a line of its last option.
      const options = '[tool.pytest.ini_options]\naddopts = "-q"\n';
      expect(
        findings(
          'pyproject.toml',
          options,
          `${options}\n[[tool.mypy.overrides]]\nmodule = "calc.*"\n`,
        ),
      ).toEqual([]);
    });

    const pkg = (fields: Record<string, unknown>) =>
      JSON.stringify({ name: 'p', private: true, ...fields }, null, 2);

    it.each([
      [
        'the test script narrowed',
        { scripts: { test: 'node --test' } },
        { scripts: { test: 'node --test test/multiply.test.js' } },
        'changed how the tests run in package.json: scripts.test `node --test` changed to `node --test test/multiply.test.js`',
      ],
      [
        'a pretest script added',
        { scripts: { test: 'node --test' } },
        { scripts: { pretest: 'rm test/math.test.js', test: 'node --test' } },
        'changed how the tests run in package.json: scripts.pretest set to `rm test/math.test.js`',
      ],
      [
        'a posttest removed and a test:unit script changed',
        { scripts: { test: 'jest', posttest: 'node check.js', 'test:unit': 'jest unit' } },
        { scripts: { test: 'jest', 'test:unit': 'jest unit/a.test.js' } },
        'changed how the tests run in package.json: scripts.posttest removed (was `node check.js`); scripts.test:unit `jest unit` changed to `jest unit/a.test.js`',
      ],
      [
        'its babel key',
        { scripts: { test: 'jest' } },
        { scripts: { test: 'jest' }, babel: { plugins: ['./strip-expect'] } },
        'changed how the tests run in package.json: babel set to `{"plugins":["./strip-expect"]}`',
      ],
      [
        'its jest key',
        { scripts: { test: 'jest' }, jest: { testEnvironment: 'node' } },
        {
          scripts: { test: 'jest' },
          jest: { testEnvironment: 'node', testPathIgnorePatterns: ['math'] },
        },
        'changed how the tests run in package.json: jest `{"testEnvironment":"node"}` changed to `{"testEnvironment":"node","testPathIgnorePatterns":["math"]}`',
      ],
    ])('package.json: %s', (_what, before, after, detail) => {
      expect(findings('package.json', pkg(before), pkg(after))).toEqual([
        ['test_config_changed', 'package.json', detail],
      ]);
    });

    it('not package.json dependencies, other scripts, a new test:* script, or one it cannot read', () => {
      const before = pkg({ scripts: { test: 'node --test', build: 'tsc' }, dependencies: {} });
      const after = pkg({
        scripts: { test: 'node --test', build: 'tsc -p .', 'test:watch': 'node --test --watch' },
        dependencies: { lodash: '^4.17.21' },
        devDependencies: { jest: '^29.0.0' },
      });
      expect(findings('package.json', before, after)).toEqual([]);
      expect(findings('package.json', before, '{ not json')).toEqual([]);
    });

    it('a file the project names as jest or vitest configuration or setup, whatever its name', () => {
      const patched = "expect.extend({ toBe: () => ({ pass: true, message: () => '' }) });\n";
      const runner = new Set(['jest.setup.js', 'config/jest.config.base.js']);
      const found = (path: string, before: string, after: string) =>
        detectWeakening([{ status: 'modified', path, before, after }], none, runner).map((w) => [
          w.kind,
          w.file,
          w.detail,
        ]);
      expect(found('jest.setup.js', '', patched)).toEqual([
        [
          'test_config_changed',
          'jest.setup.js',
          'created the test runner configuration jest.setup.js, which decides which tests run and how',
        ],
      ]);
      expect(found('config/jest.config.base.js', 'a: 1\n', 'a: 2\n')).toEqual([
        ['test_config_changed', 'config/jest.config.base.js', expect.stringMatching(/^changed /)],
      ]);
      // Not named so by the project: no configuration.
      expect(findings('jest.setup.js', '', patched)).toEqual([]);
    });

    it.each(['jest.config.js', 'packages/a/jest.config.ts', 'vitest.config.mts', '.mocharc.yml'])(
      'a test runner configuration file, created or changed: %s',
      (path) => {
        expect(
          findings(path, '', 'module.exports = { testMatch: ["**/multiply.test.js"] };\n'),
        ).toEqual([
          [
            'test_config_changed',
            path,
            `created the test runner configuration ${path}, which decides which tests run and how`,
          ],
        ]);
        expect(findings(path, 'a: 1\n', 'a: 2\n')).toEqual([
          ['test_config_changed', path, expect.stringMatching(/^changed the test runner/)],
        ]);
        expect(findings(path, 'a: 1\n', 'a:  1\n\n')).toEqual([]);
      },
    );

    it.each(['babel.config.js', '.babelrc', 'packages/a/.babelrc.json'])(
      "Babel's configuration, created, changed or deleted (jest compiles the tests with it): %s",
      (path) => {
        const rewrites = 'module.exports = { plugins: ["./strip-expect"] };\n';
        expect(findings(path, '', rewrites)).toEqual([
          [
            'test_config_changed',
            path,
            `created Babel's configuration ${path}, through which jest compiles every test file and the code it imports: a plugin there can rewrite what the tests check`,
          ],
        ]);
        expect(findings(path, 'a: 1\n', 'a: 2\n')).toEqual([
          ['test_config_changed', path, expect.stringMatching(/^changed Babel's/)],
        ]);
        expect(findings(path, 'a: 1\n', '')).toEqual([
          ['test_config_changed', path, expect.stringMatching(/^deleted Babel's/)],
        ]);
        expect(findings(path, 'a: 1\n', 'a:  1\n\n')).toEqual([]);
      },
    );

    it("vite.config.* is vitest's configuration where it holds a test block, else the build's alone", () => {
      const build = 'export default { plugins: [react()] };\n';
      const vitest = "export default { test: { include: ['test/**/*.test.js'] } };\n";
      const narrowed =
        "export default { test: { include: ['test/**/*.test.js'], exclude: ['test/calc.test.js'] } };\n";
      expect(findings('vite.config.ts', build, 'export default { plugins: [vue()] };\n')).toEqual(
        [],
      );
      // The word alone (a build's pattern, a comment) is no test block.
      const skipsTests =
        '// test files are not bundled\nexport default { build: { exclude: [/\\.test\\./] } };\n';
      expect(findings('vite.config.ts', skipsTests, skipsTests.replace('build', 'ssr'))).toEqual(
        [],
      );
      expect(findings('vite.config.js', vitest, narrowed)).toEqual([
        [
          'test_config_changed',
          'vite.config.js',
          expect.stringMatching(/^changed the test runner/),
        ],
      ]);
      expect(findings('vite.config.mts', build, vitest)).toEqual([
        [
          'test_config_changed',
          'vite.config.mts',
          expect.stringMatching(/^changed the test runner/),
        ],
      ]);
    });

    it.each(['unittest/__init__.py', 'pytest.py', 'sitecustomize.py'])(
      'a module Python loads in place of a test tool or at its start, created, changed or deleted: %s',
      (path) => {
        expect(findings(path, '', 'import sys\n')).toEqual([
          [
            'test_config_changed',
            path,
            `created ${path}, a module Python loads in place of the test tool's own code or at its start (\`python -m\` puts the project first on the module path)`,
          ],
        ]);
        expect(findings(path, 'a = 1\n', 'a = 2\n')).toEqual([
          ['test_config_changed', path, expect.stringMatching(/^changed /)],
        ]);
        expect(findings(path, 'a = 1\n', '')).toEqual([
          ['test_config_changed', path, expect.stringMatching(/^deleted /)],
        ]);
        expect(findings(path, 'a = 1\n', 'a = 1\n')).toEqual([]);
      },
    );

    it("a distribution's entry points, where they declare pytest plugins", () => {
      const path = 'zz.dist-info/entry_points.txt';
      expect(findings(path, '', '[pytest11]\nzz = zz_plugin\n')).toEqual([
        [
          'test_config_changed',
          path,
          `created ${path}, whose [pytest11] entry points are plugins pytest loads into every test run`,
        ],
      ]);
      expect(findings(path, '', '[console_scripts]\ncalc = calc:main\n')).toEqual([]);
    });

    it('bytecode added to the change, not bytecode it removed', () => {
      const path = '__pycache__/calc.cpython-311.pyc';
      expect(findings(path, '', '\u0000bytes')).toEqual([
        ['test_config_changed', path, expect.stringMatching(/^added the Python bytecode /)],
      ]);
      expect(findings(path, '\u0000bytes', '')).toEqual([]);
    });

    it("npm's and yarn's settings that run code before a test script, not the others", () => {
      expect(findings('.npmrc', '', 'node-options=--require ./.quiet.js\n')).toEqual([
        [
          'test_config_changed',
          '.npmrc',
          'changed settings in .npmrc that run code before every test script npm or yarn starts: `node-options=--require ./.quiet.js`',
        ],
      ]);
      expect(findings('.yarnrc.yml', 'yarnPath: .yarn/releases/yarn.cjs\n', '')).toEqual([
        [
          'test_config_changed',
          '.yarnrc.yml',
          expect.stringContaining('`yarnPath: .yarn/releases/yarn.cjs` removed'),
        ],
      ]);
      expect(findings('.npmrc', 'registry=https://a.example\n', 'legacy-peer-deps=true\n')).toEqual(
        [],
      );
    });
  });
});
