import { pytestPluginWeakening } from 'src/orchestrator/run/pytest-plugin-code';

/** The findings for a conftest.py (or, `conftest` false, another module) from `before` to `after`. */
const found = (after: string, before = '', conftest = true) =>
  pytestPluginWeakening(conftest ? 'conftest.py' : 'tests/helpers.py', before, after, conftest).map(
    (w) => [w.kind, w.detail],
  );

const FIXTURE =
  'import pytest\n\nimport calc\n\n\n@pytest.fixture\ndef calc_mod():\n    """The module."""\n    return calc\n';

describe('pytestPluginWeakening', () => {
  describe('hooks (H1)', () => {
    it('any pytest_* hook defined, not only those of a list', () => {
      const passAll =
        'import pytest\n\n@pytest.hookimpl(tryfirst=True)\ndef pytest_pyfunc_call(pyfuncitem):\n    return True\n';
      expect(found(passAll)).toEqual([
        [
          'test_hooks',
          expect.stringContaining(
            'added or changed pytest hooks in conftest.py (pytest_pyfunc_call)',
          ),
        ],
      ]);
      for (const hook of [
        'pytest_sessionstart(session)',
        'pytest_fixture_setup(fixturedef, request)',
        'pytest_generate_tests(metafunc)',
        'pytest_itemcollected(item)',
        'pytest_load_initial_conftests(early_config, parser, args)',
      ]) {
        expect(found(`def ${hook}:\n    pass\n`, '', false)).toEqual([
          ['test_hooks', expect.stringContaining(hook.split('(')[0])],
        ]);
      }
    });

    it('a hook bound however: assigned, imported, a method of a plugin class', () => {
      expect(found('from tests.plugin import call as pytest_pyfunc_call\n')).toContainEqual([
        'test_hooks',
        expect.stringContaining('pytest_pyfunc_call'),
      ]);
      expect(found('pytest_pyfunc_call = lambda pyfuncitem: True\n', '', false)).toHaveLength(1);
      expect(found('a, pytest_pyfunc_call = 1, f\n', '', false)).toHaveLength(1);
      expect(
        found('class Plugin:\n    def pytest_runtest_call(self, item):\n        pass\n', '', false),
      ).toHaveLength(1);
    });

    it('a hook there already and unchanged is not found again; one changed is', () => {
      const hook = 'def pytest_collection_modifyitems(items):\n    items.sort()\n';
      expect(found(`${hook}\n\n# note\n`, hook, false)).toEqual([]);
      expect(found(hook.replace('items.sort()', 'items.clear()'), hook, false)).toHaveLength(1);
    });

    it('not pytest_configure that only registers markers, nor a pytest_* module used', () => {
      const markers =
        'import pytest_asyncio\nfrom pytest_mock import MockerFixture\n\n\ndef pytest_configure(config):\n    """Markers."""\n    config.addinivalue_line("markers", "slow: a slow test")\n    config.addinivalue_line(\n        "markers", "net: needs the network"\n    )\n\n\n@pytest_asyncio.fixture\nasync def client():\n    return 1\n';
      expect(found(markers)).toEqual([]);
      expect(
        found(markers.replace('"net: needs the network"', '"net", f"{setup()}"'), '', false),
      ).toHaveLength(1);
      expect(
        found(
          'def pytest_configure(config):\n    config.addinivalue_line("python_files", "*.py")\n',
          '',
          false,
        ),
      ).toHaveLength(1);
      // A name in a string or comment binds nothing.
      expect(found('# pytest_pyfunc_call\nNOTE = "pytest_pyfunc_call"\n', '', false)).toEqual([]);
    });

    it('not pytest_addoption that only adds options with literal arguments', () => {
      const runslow =
        'def pytest_addoption(parser):\n    """Options."""\n    parser.addoption(\n        "--runslow", action="store_true", default=False, help="run slow tests"\n    )\n    parser.addoption("--level", type=int, default=-1)\n';
      expect(found(runslow)).toEqual([]);
      // Code among the arguments: an action class pytest makes when it parses the options.
      expect(found(runslow.replace('action="store_true"', 'action=Forgive'))).toHaveLength(1);
      expect(found(runslow.replace('default=False', 'default=setup()'))).toHaveLength(1);
      expect(
        found(`${runslow}    parser.getgroup("x").addoption("--y")\n`, '', false),
      ).toHaveLength(1);
      expect(found(`${runslow}    patch()\n`, '', false)).toHaveLength(1);
    });
  });

  describe('in a conftest.py (H1 dodges, M2)', () => {
    it.each([
      [
        'globals().update',
        'globals().update({"pytest_pyfunc_call": lambda pyfuncitem: True})\n',
        'names bound or read by other means',
      ],
      [
        'exec',
        'exec("def pytest_pyfunc_call(pyfuncitem): return True")\n',
        'names bound or read by other means',
      ],
      [
        'setattr on the module',
        'import sys\nsetattr(sys.modules[__name__], "pytest_" + "pyfunc_call", f)\n',
        'names bound or read by other means',
      ],
      ['vars()', 'vars()["pytest_pyfunc_call"] = f\n', 'names bound or read by other means'],
      [
        'a plugin manager alias',
        'def pytest_configure(config):\n    pm = config.pluginmanager\n    pm.register(Forgiving())\n',
        "pytest's plugin manager",
      ],
      [
        'import_plugin',
        '@pytest.fixture\ndef f(request):\n    request.config.pluginmanager.import_plugin("tests.forgiving")\n',
        "pytest's plugin manager",
      ],
      [
        'config.option written',
        '@pytest.fixture(scope="session")\ndef f(pytestconfig):\n    pytestconfig.option.deselect = ["tests/test_calc.py::test_sub"]\n',
        "pytest's options written",
      ],
      [
        'session.exitstatus',
        '@pytest.fixture(scope="session")\ndef f(request):\n    yield\n    request.session.exitstatus = 0\n',
        "the run's outcome or report written",
      ],
      [
        'terminalreporter',
        '@pytest.fixture\ndef f(request):\n    request.config.pluginmanager.get_plugin("terminalreporter").reportchars = ""\n',
        "the run's outcome or report written",
      ],
    ])('%s', (_what, code, label) => {
      expect(
        found(code)
          .map(([, detail]) => detail)
          .join('\n'),
      ).toContain(label);
    });

    it('code that runs at import and patches the code under test (M2)', () => {
      const patched = `${FIXTURE}\ncalc.mul = lambda a, b: a * b\n`;
      expect(found(patched)).toEqual([
        [
          'test_config_changed',
          expect.stringContaining(
            'added code that runs when pytest loads it, before every test, other than imports, definitions and plain assignments: `calc.mul = lambda a, b: a * b`',
          ),
        ],
        ['test_config_changed', expect.stringContaining('patched a module it imports')],
      ]);
      for (const line of [
        'sys.path.insert(0, "stubs")',
        'sys.modules["calc"] = stub',
        '_ = sys.path.insert(0, "stubs")',
        'install()',
        '_ready = install()',
        'if True:\n    calc.mul = f',
        'class Patch:\n    calc.mul = f',
        'with open("x") as f:\n    pass',
        'x = 1; calc.mul = f',
      ]) {
        const text = `import sys\nimport calc\n\n\ndef install():\n    return 1\n\n\n${line}\n`;
        expect([
          line,
          found(text)
            .map(([, d]) => d)
            .join('\n'),
        ]).toEqual([line, expect.stringContaining('added code that runs when pytest loads it')]);
      }
    });

    it('an autouse fixture, and an existing function changed', () => {
      const autouse =
        '@pytest.fixture(autouse=True)\ndef _known_issue(request):\n    if request.node.name == "test_sub":\n        pytest.xfail("known issue")\n';
      expect(found(`${FIXTURE}\n${autouse}`, FIXTURE)).toEqual([
        ['test_config_changed', expect.stringContaining('made a fixture `autouse`')],
      ]);
      expect(
        found(`${FIXTURE}@pytest.fixture(**{"autouse": True})\ndef f():\n    pass\n`, FIXTURE),
      ).toHaveLength(1);
      expect(
        found(`${FIXTURE}@pytest.fixture(autouse=False)\ndef f():\n    pass\n`, FIXTURE),
      ).toEqual([]);
      expect(found(FIXTURE.replace('return calc', 'return FakeCalc()'), FIXTURE)).toEqual([
        [
          'test_config_changed',
          expect.stringContaining('changed `calc_mod`, there at the base commit'),
        ],
      ]);
    });

    it('a patch of an imported module in a plain fixture', () => {
      expect(
        found(
          `${FIXTURE}\n@pytest.fixture\ndef m(monkeypatch):\n    monkeypatch.setattr(calc, "mul", f)\n`,
          FIXTURE,
        ),
      ).toEqual([['test_config_changed', expect.stringContaining('patched a module it imports')]]);
      expect(
        found(
          `${FIXTURE}\n@pytest.fixture\ndef m(monkeypatch):\n    monkeypatch.setattr("calc.mul", f)\n`,
          FIXTURE,
        ),
      ).toHaveLength(1);
    });

    it('not plain fixtures, imports, definitions, docstrings and plain assignments (an honest conftest)', () => {
      const honest = `"""Fixtures for the calculator tests."""\nfrom __future__ import annotations\n\nimport os\nfrom pathlib import Path\n\nimport pytest\n\nimport calc\n\ntry:\n    import numpy\nexcept ImportError:  # pragma: no cover\n    numpy = None\n\nHERE = Path(__file__).parent\nDATA: Path = HERE / "data"\nLIMIT = int(os.environ.get("LIMIT", "3"))\n__all__ = ["pair"]\npytest.register_assert_rewrite("tests.helpers")\n\n\nclass Pair:\n    """Two numbers."""\n\n    def __init__(self, a: int, b: int) -> None:\n        self.a = a; self.b = b\n\n\n@pytest.fixture(scope="module", params=[(2, 3), (0, 5)])\ndef pair(request) -> Pair:\n    return Pair(*request.param)\n\n\n@pytest.fixture\ndef product(pair, monkeypatch):\n    monkeypatch.setenv("LIMIT", "9")\n    return calc.add(pair.a, pair.b)\n`;
      expect(found(honest)).toEqual([]);
      expect(
        found(`${FIXTURE}\n\n@pytest.fixture\ndef pair():\n    return (2, 3)\n`, FIXTURE),
      ).toEqual([]);
    });

    it('reads a conftest.py of deep nesting and open brackets without overflowing', () => {
      const deep = Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}if x:`).join('\n');
      expect(found(`${deep}\n${' '.repeat(3000)}calc.mul = f\n`).length).toBeGreaterThan(0);
      const started = Date.now();
      found('collect_ignore = [\n'.repeat(200_000));
      expect(Date.now() - started).toBeLessThan(5000);
    });
  });
});
