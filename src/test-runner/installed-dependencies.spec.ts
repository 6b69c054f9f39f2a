import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  changedDependencies,
  DependencyMark,
  isDependencyManifest,
  markDependencies,
  packageOf,
} from 'src/test-runner/installed-dependencies';

describe('installed dependencies changed since their mark', () => {
  let top: string;
  const write = (rel: string, content = 'x'): void => {
    mkdirSync(dirname(join(top, rel)), { recursive: true });
    writeFileSync(join(top, rel), content);
  };
  /** The mark, then a wait past the file system clock's tick: what follows is after it. */
  const mark = async (directory = top): Promise<DependencyMark> => {
    const taken = await markDependencies(top, directory);
    await sleep(30);
    return taken;
  };
  beforeEach(() => {
    top = mkdtempSync(join(tmpdir(), 'installed-deps-'));
    write('node_modules/dep/index.js', 'exports.check = (a, b) => { if (a !== b) throw 0; };');
    write('node_modules/@scope/lib/index.js');
    write('.venv/lib/python3.12/site-packages/six.py');
    write('.venv/lib/python3.12/site-packages/dep/__init__.py');
  });
  afterEach(() => rmSync(top, { recursive: true, force: true }));

  it('marks the dependency directories at the top and down to the project, leaving no file', async () => {
    write('pkg/app/node_modules/x/index.js');
    write('pkg/node_modules/y/index.js');
    const taken = await markDependencies(top, join(top, 'pkg', 'app'));
    expect(taken.places).toEqual(['.', 'pkg', 'pkg/app']);
    expect(taken.dirs).toEqual([
      'node_modules',
      '.venv',
      'pkg/node_modules',
      'pkg/app/node_modules',
    ]);
    expect(taken.ctimeMs).toBeGreaterThan(0);
    expect(readdirSync(top).filter((name) => name.startsWith('.cta-'))).toEqual([]);
  });

  it('finds nothing in a tree left alone', async () => {
    const taken = await mark();
    expect(await changedDependencies(top, taken)).toEqual({ changed: [], truncated: false });
  });

  it('finds a file written in place, its modification time set back', async () => {
    const taken = await mark();
    write('node_modules/dep/index.js', 'exports.check = () => {};');
    utimesSync(join(top, 'node_modules/dep/index.js'), new Date(1000), new Date(1000));
    write('.venv/lib/python3.12/site-packages/six.py', 'y');
    expect((await changedDependencies(top, taken)).changed).toEqual([
      '.venv/lib/python3.12/site-packages/six.py',
      'node_modules/dep',
    ]);
  });

  it('finds a new entry, by its package and the directory it was added to', async () => {
    const taken = await mark();
    write('node_modules/@scope/other/index.js');
    write('node_modules/added/lib/deep.js');
    expect((await changedDependencies(top, taken)).changed).toEqual([
      'node_modules',
      'node_modules/@scope',
      'node_modules/@scope/other',
      'node_modules/added',
    ]);
  });

  it('finds a removed entry by its directory, and a mode changed', async () => {
    write('node_modules/dep/extra.js');
    const taken = await mark();
    rmSync(join(top, 'node_modules/dep/extra.js'));
    chmodSync(join(top, 'node_modules/@scope/lib/index.js'), 0o600);
    expect((await changedDependencies(top, taken)).changed).toEqual([
      'node_modules/@scope/lib',
      'node_modules/dep',
    ]);
  });

  it('finds a dependency directory created or removed as a whole, and does not follow links', async () => {
    const taken = await mark(top);
    rmSync(join(top, '.venv'), { recursive: true });
    const outside = mkdtempSync(join(tmpdir(), 'installed-deps-outside-'));
    try {
      symlinkSync(outside, join(top, 'venv'));
      expect((await changedDependencies(top, taken)).changed).toEqual(['.venv']);
      write('sub/x.js');
      const inSub = await mark(join(top, 'sub'));
      write('sub/node_modules/dep/index.js');
      writeFileSync(join(outside, 'written.py'), '');
      expect((await changedDependencies(top, inSub)).changed).toEqual(['sub/node_modules']);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('leaves out the caches tools write as they run, and a directory changed only by making one', async () => {
    const taken = await mark();
    write('node_modules/.vite/vitest/results.json');
    write('node_modules/.cache/babel/x.json');
    write('.venv/lib/python3.12/site-packages/dep/__pycache__/__init__.cpython-312.pyc');
    expect(await changedDependencies(top, taken)).toEqual({ changed: [], truncated: false });
    // A file removed after the cache was made is a change.
    await sleep(30);
    rmSync(join(top, '.venv/lib/python3.12/site-packages/dep/__init__.py'));
    expect((await changedDependencies(top, taken)).changed).toEqual([
      '.venv/lib/python3.12/site-packages/dep',
    ]);
  });

  it('stops at its bound and says so', async () => {
    for (let i = 0; i < 20; i += 1) write(`node_modules/many/f${i}.js`);
    const taken = await mark();
    expect(await changedDependencies(top, taken, 10)).toEqual({ changed: [], truncated: true });
    write('node_modules/dep/index.js', 'patched');
    expect(await changedDependencies(top, taken, 1000)).toEqual({
      changed: ['node_modules/dep'],
      truncated: false,
    });
  });

  it.each<[string, string]>([
    ['node_modules', 'node_modules'],
    ['node_modules/dep/lib/x.js', 'node_modules/dep'],
    ['node_modules/@scope/lib/x.js', 'node_modules/@scope/lib'],
    ['node_modules/@scope', 'node_modules/@scope'],
    ['node_modules/a/node_modules/b/x.js', 'node_modules/a/node_modules/b'],
    ['.venv/lib/python3.12/site-packages/dep/core.py', '.venv/lib/python3.12/site-packages/dep'],
    ['.venv/bin/pytest', '.venv/bin/pytest'],
  ])('%s belongs to %s', (path, pkg) => {
    expect(packageOf(path)).toBe(pkg);
  });

  it.each<[string, boolean]>([
    ['package.json', true],
    ['packages/a/package-lock.json', true],
    ['yarn.lock', true],
    ['requirements-dev.txt', true],
    ['pyproject.toml', true],
    ['uv.lock', true],
    ['src/package.js', false],
    ['node_modules/dep/package.json', false],
    ['notes/requirements.md', false],
  ])('%s says which dependencies are installed: %s', (path, manifest) => {
    expect(isDependencyManifest(path)).toBe(manifest);
  });
});
