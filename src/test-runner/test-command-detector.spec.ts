import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import {
  argvForFile,
  detectTestCommand,
  fileArgument,
  planForFiles,
  planFromCommand,
  TestCommandPlan,
} from 'src/test-runner/test-command-detector';

describe('test command detection', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cta-detect-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const files = (tree: Record<string, string>): void => {
    for (const [rel, content] of Object.entries(tree)) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), content);
      if (rel.startsWith('node_modules/.bin/')) chmodSync(join(dir, rel), 0o755);
    }
  };
  const pkg = (content: object): string => JSON.stringify(content);
  const summary = (plan: TestCommandPlan | null): [string, string[], string[]] | null =>
    plan === null
      ? null
      : [
          plan.framework,
          plan.suiteArgv.map((a) => a.replace(dir, '<dir>')),
          plan.fileArgv.map((a) => a.replace(dir, '<dir>')),
        ];

  it.each<[string, Record<string, string>, [string, string[], string[]] | null]>([
    [
      'npm test running node --test',
      { 'package.json': pkg({ scripts: { test: 'node --test' } }) },
      ['node-test', ['npm', 'test'], ['node', '--test']],
    ],
    [
      'npm test with another runner',
      { 'package.json': pkg({ scripts: { test: 'mocha' } }) },
      ['npm-test', ['npm', 'test'], ['npm', 'test', '--']],
    ],
    [
      'jest script with jest installed',
      {
        'package.json': pkg({ scripts: { test: 'jest --ci' }, devDependencies: { jest: '29' } }),
        'node_modules/.bin/jest': '',
      },
      ['jest', ['npm', 'test'], ['<dir>/node_modules/.bin/jest', '--runTestsByPath']],
    ],
    [
      'jest dependency without a script',
      { 'package.json': pkg({ devDependencies: { jest: '29' } }), 'node_modules/.bin/jest': '' },
      [
        'jest',
        ['<dir>/node_modules/.bin/jest'],
        ['<dir>/node_modules/.bin/jest', '--runTestsByPath'],
      ],
    ],
    [
      'vitest script',
      {
        'package.json': pkg({ scripts: { test: 'vitest' }, devDependencies: { vitest: '1' } }),
        'node_modules/.bin/vitest': '',
      },
      ['vitest', ['npm', 'test'], ['<dir>/node_modules/.bin/vitest', 'run']],
    ],
    [
      'jest script naming its configuration: the file runs with it',
      {
        'package.json': pkg({ scripts: { test: 'jest --config config/jest.config.base.js' } }),
        'node_modules/.bin/jest': '',
      },
      [
        'jest',
        ['npm', 'test'],
        [
          '<dir>/node_modules/.bin/jest',
          '--config',
          'config/jest.config.base.js',
          '--runTestsByPath',
        ],
      ],
    ],
    [
      'vitest script naming its configuration with -c',
      {
        'package.json': pkg({ scripts: { test: 'vitest run -c conf/vitest.ts' } }),
        'node_modules/.bin/vitest': '',
      },
      [
        'vitest',
        ['npm', 'test'],
        ['<dir>/node_modules/.bin/vitest', 'run', '--config', 'conf/vitest.ts'],
      ],
    ],
    [
      'jest named but not installed -> npm test',
      { 'package.json': pkg({ scripts: { test: 'jest' } }) },
      ['npm-test', ['npm', 'test'], ['npm', 'test', '--']],
    ],
    [
      'node project without a test script -> node --test',
      { 'package.json': pkg({ name: 'x' }) },
      ['node-test', ['node', '--test'], ['node', '--test']],
    ],
    [
      "npm's placeholder script -> node --test",
      { 'package.json': pkg({ scripts: { test: 'echo "Error: no test specified" && exit 1' } }) },
      ['node-test', ['node', '--test'], ['node', '--test']],
    ],
    [
      'pytest.ini',
      { 'pytest.ini': '[pytest]\n' },
      ['pytest', ['python3', '-m', 'pytest'], ['python3', '-m', 'pytest']],
    ],
    [
      'conftest.py in tests',
      { 'requirements.txt': '', 'tests/conftest.py': '' },
      ['pytest', ['python3', '-m', 'pytest'], ['python3', '-m', 'pytest']],
    ],
    [
      'pyproject with tool.pytest',
      { 'pyproject.toml': '[project]\nname="x"\n\n[tool.pytest.ini_options]\n' },
      ['pytest', ['python3', '-m', 'pytest'], ['python3', '-m', 'pytest']],
    ],
    [
      'setup.cfg tool:pytest',
      { 'setup.cfg': '[tool:pytest]\n' },
      ['pytest', ['python3', '-m', 'pytest'], ['python3', '-m', 'pytest']],
    ],
    [
      'python without pytest config -> unittest',
      { 'pyproject.toml': '[project]\nname="x"\n' },
      ['unittest', ['python3', '-m', 'unittest'], ['python3', '-m', 'unittest']],
    ],
    ['go.mod', { 'go.mod': 'module x\n' }, ['go-test', ['go', 'test', './...'], ['go', 'test']]],
    [
      'Cargo.toml',
      { 'Cargo.toml': '[package]\n' },
      ['cargo-test', ['cargo', 'test'], ['cargo', 'test']],
    ],
    [
      'Cargo.toml beside a Python script and a requirements.txt -> cargo test',
      { 'Cargo.toml': '[package]\n', 'gen.py': '', 'requirements.txt': '' },
      ['cargo-test', ['cargo', 'test'], ['cargo', 'test']],
    ],
    [
      'Cargo.toml with pytest configured (a mixed Rust and Python project) -> pytest',
      { 'Cargo.toml': '[package]\n', 'pyproject.toml': '[tool.pytest.ini_options]\n' },
      ['pytest', ['python3', '-m', 'pytest'], ['python3', '-m', 'pytest']],
    ],
    [
      'broken package.json -> node --test',
      { 'package.json': '{ nope' },
      ['node-test', ['node', '--test'], ['node', '--test']],
    ],
    [
      'bare Python module and tests -> unittest',
      { 'calc.py': '', 'tests/test_calc.py': '' },
      ['unittest', ['python3', '-m', 'unittest'], ['python3', '-m', 'unittest']],
    ],
    ['nothing recognisable', { 'README.md': 'hi' }, null],
  ])('%s', (_name, tree, expected) => {
    files(tree);
    const got = summary(detectTestCommand(dir));
    expect(got).toEqual(expected);
  });

  it('does not follow a package.json the agent made a link to another file', () => {
    const outside = mkdtempSync(join(tmpdir(), 'cta-detect-outside-'));
    try {
      writeFileSync(join(outside, 'package.json'), pkg({ scripts: { test: 'node --test' } }));
      expect(detectTestCommand(outside)?.framework).toBe('node-test');
      symlinkSync(join(outside, 'package.json'), join(dir, 'package.json'));
      expect(detectTestCommand(dir)).toBeNull();
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('falls back to the file type when nothing is detected', () => {
    expect(planForFiles(dir, ['tests/test_a.py'])?.framework).toBe('unittest');
    expect(planForFiles(dir, ['a.test.js'])?.framework).toBe('node-test');
    expect(planForFiles(dir, ['a.rb'])).toBeNull();
    expect(planForFiles(dir, [])).toBeNull();
  });

  it('describes the command and conventions for the prompt', () => {
    files({ 'package.json': pkg({ scripts: { test: 'node --test' } }) });
    const plan = detectTestCommand(dir);
    expect(plan?.display).toBe('node --test <test file>');
    expect(plan?.conventions).toMatch(/node:test/);
  });
});

describe('session test commands', () => {
  it.each<[string, string]>([
    ['node --test', 'node-test'],
    ['python3 -m pytest -q', 'pytest'],
    ['pytest', 'pytest'],
    ['python -m unittest', 'unittest'],
    ['node --test --test-reporter=tap', 'custom'],
    ['pytest --junitxml=x.xml', 'custom'],
    ['make test', 'custom'],
  ])('%s is run as %s', (line, framework) => {
    expect(planFromCommand(line, 'unknown').framework).toBe(framework);
  });

  it('rejects a command that needs a shell', () => {
    expect(() => planFromCommand('npm test && rm -rf ~', 'node')).toThrow(/without a shell/);
  });
});

describe('argv for one file', () => {
  const junit = '/tmp/r.xml';
  const plan = (line: string): TestCommandPlan => planFromCommand(line, 'unknown');

  it('passes the file as its own argument, never as an option', () => {
    expect(fileArgument('-rf.test.js')).toBe('./-rf.test.js');
    expect(fileArgument('test/a b.test.js')).toBe('test/a b.test.js');
    expect(argvForFile(plan('make check'), '--help', junit).argv).toEqual([
      'make',
      'check',
      './--help',
    ]);
  });

  it('asks node --test for a junit report next to the spec output', () => {
    expect(argvForFile(plan('node --test'), 'test/a b.test.js', junit)).toEqual({
      argv: [
        'node',
        '--test',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        '--test-reporter=junit',
        '--test-reporter-destination=/tmp/r.xml',
        'test/a b.test.js',
      ],
      file: 'test/a b.test.js',
      junitPath: junit,
    });
  });

  it('asks pytest for an xunit1 report and no cache', () => {
    expect(argvForFile(plan('python3 -m pytest'), '-x_test.py', junit).argv).toEqual([
      'python3',
      '-m',
      'pytest',
      '-p',
      'no:cacheprovider',
      '-o',
      'junit_family=xunit1',
      '--junitxml=/tmp/r.xml',
      './-x_test.py',
    ]);
  });

  it('runs unittest by file path', () => {
    const inv = argvForFile(plan('python3 -m unittest'), 'tests/test_a.py', junit);
    expect(inv).toEqual({
      argv: ['python3', '-m', 'unittest', './tests/test_a.py'],
      file: 'tests/test_a.py',
      junitPath: null,
    });
  });

  it("asks jest and vitest for their own JSON results, outside the project (not jest-junit's)", () => {
    const jest: TestCommandPlan = {
      ...plan('/p/node_modules/.bin/jest --runTestsByPath'),
      framework: 'jest',
    };
    expect(argvForFile(jest, '-a.test.js', junit)).toEqual({
      argv: [
        '/p/node_modules/.bin/jest',
        '--runTestsByPath',
        '--json',
        '--outputFile=/tmp/r.json',
        './-a.test.js',
      ],
      file: '-a.test.js',
      junitPath: '/tmp/r.json',
      reportFormat: 'jest-json',
    });
    const vitest: TestCommandPlan = {
      ...plan('/p/node_modules/.bin/vitest run'),
      framework: 'vitest',
    };
    expect(argvForFile(vitest, 'test/a.test.js', junit)).toEqual({
      argv: [
        '/p/node_modules/.bin/vitest',
        'run',
        '--reporter=default',
        '--reporter=json',
        '--outputFile.json=/tmp/r.json',
        'test/a.test.js',
      ],
      file: 'test/a.test.js',
      junitPath: '/tmp/r.json',
      reportFormat: 'jest-json',
    });
  });

  it('runs go tests by package and cargo integration tests by name', () => {
    const go: TestCommandPlan = { ...plan('go test'), framework: 'go-test' };
    expect(argvForFile(go, 'pkg/a/x_test.go', junit).argv).toEqual(['go', 'test', './pkg/a']);
    expect(argvForFile(go, 'x_test.go', junit).argv).toEqual(['go', 'test', './']);
    const cargo: TestCommandPlan = { ...plan('cargo test'), framework: 'cargo-test' };
    expect(argvForFile(cargo, 'tests/api.rs', junit).argv).toEqual([
      'cargo',
      'test',
      '--test',
      'api',
    ]);
    expect(argvForFile(cargo, 'src/lib.rs', junit).argv).toEqual(['cargo', 'test']);
    expect(argvForFile(cargo, 'crates/core/tests/mul.rs', junit).argv).toEqual([
      'cargo',
      'test',
      '--manifest-path',
      'crates/core/Cargo.toml',
      '--test',
      'mul',
    ]);
    // A session's `cargo test` is recognised, so its files run by target too.
    const custom = planFromCommand('cargo test --release', 'rust');
    expect(custom.framework).toBe('cargo-test');
    expect(argvForFile(custom, 'tests/api.rs', junit).argv).toEqual([
      'cargo',
      'test',
      '--release',
      '--test',
      'api',
    ]);
  });
});
