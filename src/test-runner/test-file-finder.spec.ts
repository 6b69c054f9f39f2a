import { execFileSync } from 'child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { loadConfig } from 'src/config';
import { NO_ISOLATION, ProcessLauncher } from 'src/process';
import { TestCommandRunner } from 'src/test-runner/test-command-runner';
import {
  FINDER_GIT_SETTINGS,
  gitTopOf,
  ignoredAmong,
  parsePorcelainV2,
  TestFileFinder,
  walkProject,
} from 'src/test-runner/test-file-finder';

const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures', 'projects');

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, {
    cwd,
    stdio: 'ignore',
    env: {
      PATH: process.env.PATH,
      HOME: cwd,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.com',
    },
  });
}

describe('TestFileFinder', () => {
  const launcher = new ProcessLauncher();
  const finder = new TestFileFinder(new TestCommandRunner(loadConfig({}), launcher, NO_ISOLATION));
  afterAll(() => launcher.onModuleDestroy());
  let dir: string;
  let project: string;
  const write = (rel: string, content = 'x'): void => {
    mkdirSync(dirname(join(project, rel)), { recursive: true });
    writeFileSync(join(project, rel), content);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cta-finder-'));
    project = join(dir, 'node-basic');
    cpSync(join(FIXTURES, 'node-basic'), project, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('without git: compares file snapshots and keeps only test files', async () => {
    write('test/old.test.js');
    const before = await finder.snapshot(project);
    expect(before.mode).toBe('files');
    write('test/new.test.js');
    write('test/a b.test.js');
    write('src/feature.js');
    write('node_modules/pkg/x.test.js');
    write('test/old.test.js', 'changed and longer');
    write('notes.md');
    expect((await finder.changes(project, before, 'node')).testFiles).toEqual([
      'test/a b.test.js',
      'test/new.test.js',
      'test/old.test.js',
    ]);
  });

  it('without git: an untouched tree has no changed tests', async () => {
    const before = await finder.snapshot(project);
    expect((await finder.changes(project, before, 'node')).testFiles).toEqual([]);
  });

  it('in a git repo: uses git status, ignoring .gitignore-d files and tests dirty before and untouched', async () => {
    write('.gitignore', 'ignored/\n');
    git(project, 'init', '-q');
    git(project, 'add', '-A');
    git(project, 'commit', '-q', '-m', 'init');
    write('test/dirty-before.test.js', 'draft');
    const before = await finder.snapshot(project);
    expect(before.mode).toBe('git');
    write('test/new.test.js');
    write('ignored/x.test.js');
    write('src/feature.js');
    write('test/math.test.js', 'modified tracked test');
    expect((await finder.changes(project, before, 'node')).testFiles).toEqual([
      'test/math.test.js',
      'test/new.test.js',
    ]);
  });

  it('in a git repo: a test dirty before and changed again counts; committed tests count', async () => {
    git(project, 'init', '-q');
    git(project, 'add', '-A');
    git(project, 'commit', '-q', '-m', 'init');
    write('test/draft.test.js', 'v1');
    utimesSync(join(project, 'test/draft.test.js'), new Date(2000, 1, 1), new Date(2000, 1, 1));
    const before = await finder.snapshot(project);
    write('test/draft.test.js', 'v2');
    write('test/committed.test.js');
    git(project, 'add', 'test/committed.test.js');
    git(project, 'commit', '-q', '-m', 'agent commit');
    expect((await finder.changes(project, before, 'node')).testFiles).toEqual([
      'test/committed.test.js',
      'test/draft.test.js',
    ]);
  });

  it('in a subdirectory of a repo: paths are relative to the project', async () => {
    git(dir, 'init', '-q');
    write('x', 'y');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'init');
    const before = await finder.snapshot(project);
    expect(before).toMatchObject({ mode: 'git', prefix: 'node-basic/' });
    writeFileSync(join(dir, 'outside.test.js'), 'x');
    write('test/inside.test.js');
    const changes = await finder.changes(project, before, 'node');
    expect(changes.testFiles).toEqual(['test/inside.test.js']);
    // The paths for the tested-tree record: the whole work tree's, from its top.
    expect([...(changes.treePaths ?? [])].sort()).toEqual([
      'node-basic/test/inside.test.js',
      'outside.test.js',
    ]);
  });

  it('in a subdirectory of a repo: names the links created or changed that lead outside the repository, not those inside it', async () => {
    git(dir, 'init', '-q');
    write('src/real.js');
    write('src/was-a-file.js');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'init');
    const before = await finder.snapshot(project);
    symlinkSync('/etc/hosts', join(project, 'src/absolute.js'));
    symlinkSync('../../../x.js', join(project, 'src/climbs.js'));
    symlinkSync('real.js', join(project, 'src/inside.js'));
    symlinkSync('../../top.js', join(project, 'src/to-top.js'));
    rmSync(join(project, 'src/was-a-file.js'));
    symlinkSync('/etc/hostname', join(project, 'src/was-a-file.js'));
    expect((await finder.changes(project, before, 'node')).outsideLinks).toEqual([
      'src/absolute.js -> /etc/hosts',
      'src/climbs.js -> ../../../x.js',
      'src/was-a-file.js -> /etc/hostname',
    ]);
  });

  it('in a git repo: names what git ignores that was created or changed since the snapshot, dependencies and caches left out', async () => {
    write('.gitignore', 'build/\nnode_modules/\n*.local.js\n');
    write('build/from-setup.js', 'setup');
    write('node_modules/dep/index.js');
    git(project, 'init', '-q');
    git(project, 'add', '-A');
    git(project, 'commit', '-q', '-m', 'init');
    const before = await finder.snapshot(project);
    expect((await finder.changes(project, before, 'node')).ignoredChanged).toEqual([]);
    write('node_modules/dep/index.js', 'reinstalled');
    write('src/impl.local.js');
    expect((await finder.changes(project, before, 'node')).ignoredChanged).toEqual([
      'src/impl.local.js',
    ]);
    write('build/helper.js', 'from the shell');
    expect((await finder.changes(project, before, 'node')).ignoredChanged).toEqual([
      'build/',
      'src/impl.local.js',
    ]);
  });

  it('parses porcelain v2 output: HEAD, changes, renames, deletions, conflicts, ignored and odd names', () => {
    const head = 'a'.repeat(40);
    const out = [
      `# branch.oid ${head}`,
      '# branch.head main',
      '? test/a b.test.js',
      '1 .M N... 100644 100644 100644 1111111 1111111 src/x.js',
      `2 R. N... 100644 100644 100644 ${'b'.repeat(40)} ${'b'.repeat(40)} R100 new name.test.js`,
      'old.test.js',
      '1 .D N... 100644 100644 000000 1111111 1111111 gone.js',
      '1 A. N... 000000 100644 100644 0000000 2222222 -x.test.js',
      'u UU N... 100644 100644 100644 100644 1 2 3 conflict.js',
      '! src/impl.local.js',
      '! node_modules/',
      '',
    ].join('\0');
    expect(parsePorcelainV2(out)).toEqual({
      head,
      paths: ['test/a b.test.js', 'src/x.js', 'new name.test.js', '-x.test.js', 'conflict.js'],
      // Every path named, for the tested-tree record: deletions and a rename's old path too.
      named: [
        'test/a b.test.js',
        'src/x.js',
        'new name.test.js',
        'old.test.js',
        'gone.js',
        '-x.test.js',
        'conflict.js',
      ],
      ignored: ['src/impl.local.js', 'node_modules/'],
    });
    expect(parsePorcelainV2('# branch.oid (initial)\0# branch.head main\0').head).toBeNull();
  });

  it('tells which files an ignored list names or holds (a directory ends in /)', () => {
    expect(
      ignoredAmong(
        ['src/a.local.js', 'build/out.js', 'buildx.js', 'src/a.js', 'build'],
        ['build/', 'src/a.local.js'],
      ),
    ).toEqual(['src/a.local.js', 'build/out.js']);
  });

  it('finds the top of the work tree by reading the file system', () => {
    expect(gitTopOf(project)).toBeNull();
    git(dir, 'init', '-q');
    expect(gitTopOf(project)).toBe(dir);
    expect(gitTopOf(dir)).toBe(dir);
  });

  it('asks git once per look (twice when HEAD moved)', async () => {
    git(project, 'init', '-q');
    git(project, 'add', '-A');
    git(project, 'commit', '-q', '-m', 'init');
    const runner = new TestCommandRunner(loadConfig({}), launcher, NO_ISOLATION);
    const calls: string[][] = [];
    const run = runner.run.bind(runner);
    runner.run = (spec) => {
      calls.push([...spec.argv]);
      return run(spec);
    };
    const counting = new TestFileFinder(runner);
    const before = await counting.snapshot(project);
    write('test/new.test.js');
    expect((await counting.changes(project, before, 'node')).testFiles).toEqual([
      'test/new.test.js',
    ]);
    expect(calls.map((argv) => argv[argv.indexOf('git') + 1 + FINDER_GIT_SETTINGS.length])).toEqual(
      ['status', 'status'],
    );
    git(project, 'add', '-A');
    git(project, 'commit', '-q', '-m', 'agent commit');
    expect((await counting.changes(project, before, 'node')).testFiles).toEqual([
      'test/new.test.js',
    ]);
    expect(calls).toHaveLength(4);
  });

  it('reports test configuration created or changed, and the Python test modules whose code configures the tests', async () => {
    git(project, 'init', '-q');
    git(project, 'add', '-A');
    git(project, 'commit', '-q', '-m', 'init');
    const runner = new TestCommandRunner(loadConfig({}), launcher, NO_ISOLATION);
    let calls = 0;
    const run = runner.run.bind(runner);
    runner.run = (spec) => {
      calls += 1;
      return run(spec);
    };
    const counting = new TestFileFinder(runner);
    const before = await counting.snapshot(project);
    write('package.json', '{"scripts":{"test":"node --test test/only.test.js"}}');
    write('pytest.ini', '[pytest]\naddopts = -k "not add"\n');
    write('jest.config.js', 'module.exports = {};\n');
    write('tests/__init__.py', 'def load_tests(loader, tests, pattern):\n    return tests\n');
    write('tests/_plugin.py', 'def pytest_runtest_makereport(item, call):\n    pass\n');
    write('tests/test_plain.py', 'def test_a():\n    assert True\n');
    write('tests/helpers.py', 'def helper():\n    return 1\n');
    write('src/myplugin.py', 'def pytest_runtest_makereport(item, call):\n    pass\n');
    write('node_modules/dep/package.json', '{}');
    const changes = await counting.changes(project, before, 'python');
    expect(changes.configFiles).toEqual([
      'jest.config.js',
      'package.json',
      'pytest.ini',
      'tests/__init__.py',
      'tests/_plugin.py',
    ]);
    expect(changes.testFiles).toEqual(['tests/test_plain.py']);
    // What the tests may read in their directories goes with them to the base commit.
    expect(changes.supportFiles).toEqual([
      'tests/__init__.py',
      'tests/_plugin.py',
      'tests/helpers.py',
    ]);
    // What says which dependencies to install: the project's own, not an installed package's.
    expect(changes.dependencyManifests).toEqual(['package.json']);
    // Read from the file system: still one git process per look.
    expect(calls).toBe(2);
  });

  it('bounds the file walk', async () => {
    for (let i = 0; i < 30; i += 1) write(`many/f${i}.js`);
    const walk = await walkProject(project, 10);
    expect(Object.keys(walk.files)).toHaveLength(10);
    expect(walk.truncated).toBe(true);
  });
});

describe('FINDER_GIT_SETTINGS', () => {
  it("lists as untracked what the repository's rules do not ignore, whatever the user's global excludes say", () => {
    const root = mkdtempSync(join(tmpdir(), 'finder-git-'));
    try {
      const home = join(root, 'home');
      mkdirSync(join(home, '.config', 'git'), { recursive: true });
      writeFileSync(join(home, '.config', 'git', 'ignore'), '*.log\n');
      const repo = join(root, 'repo');
      mkdirSync(repo);
      git(repo, 'init', '-q');
      writeFileSync(join(repo, 'run.log'), 'x\n');
      const status = execFileSync(
        'git',
        [...FINDER_GIT_SETTINGS, 'status', '--porcelain', '--untracked-files=all'],
        {
          cwd: repo,
          env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: '' },
          encoding: 'utf8',
        },
      );
      expect(status).toBe('?? run.log\n');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
