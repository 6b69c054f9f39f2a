import { execFileSync } from 'child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { loadConfig } from 'src/config';
import { TestCommandRunner } from 'src/test-runner/test-command-runner';
import { parsePorcelainZ, TestFileFinder, walkProject } from 'src/test-runner/test-file-finder';
import { NO_ISOLATION } from 'src/process';

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
  const finder = new TestFileFinder(new TestCommandRunner(loadConfig({}), NO_ISOLATION));
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
    expect(await finder.changedTestFiles(project, before, 'node')).toEqual([
      'test/a b.test.js',
      'test/new.test.js',
      'test/old.test.js',
    ]);
  });

  it('without git: an untouched tree has no changed tests', async () => {
    const before = await finder.snapshot(project);
    expect(await finder.changedTestFiles(project, before, 'node')).toEqual([]);
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
    expect(await finder.changedTestFiles(project, before, 'node')).toEqual([
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
    expect(await finder.changedTestFiles(project, before, 'node')).toEqual([
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
    expect(await finder.changedTestFiles(project, before, 'node')).toEqual(['test/inside.test.js']);
  });

  it('parses porcelain -z output with renames, deletions and odd names', () => {
    const out = [
      '?? test/a b.test.js',
      ' M src/x.js',
      'R  new.test.js',
      'old.test.js',
      ' D gone.js',
      'A  -x.test.js',
      '',
    ].join('\0');
    expect(parsePorcelainZ(out)).toEqual([
      'test/a b.test.js',
      'src/x.js',
      'new.test.js',
      '-x.test.js',
    ]);
  });

  it('bounds the file walk', () => {
    for (let i = 0; i < 30; i += 1) write(`many/f${i}.js`);
    const walk = walkProject(project, 10);
    expect(Object.keys(walk.files)).toHaveLength(10);
    expect(walk.truncated).toBe(true);
  });
});
