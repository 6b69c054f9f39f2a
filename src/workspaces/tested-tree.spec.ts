import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePorcelainV2 } from 'src/test-runner';
import { IndexFile, readIndex } from 'src/workspaces/hidden-index-entries';
import {
  blobId,
  changedSinceTested,
  recordTestedTree,
  TestedTree,
} from 'src/workspaces/tested-tree';

describe('tested tree', () => {
  let dir: string;
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
      cwd: dir,
      encoding: 'utf8',
    });
  const write = (path: string, content: string | Buffer): void => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  };
  const index = (): IndexFile => readIndex(readFileSync(join(dir, '.git/index')))!;
  /** What the round start records: the index and the paths `git status` names, hashed. */
  const record = (): Promise<TestedTree> => {
    const status = parsePorcelainV2(
      git('status', '--porcelain=v2', '-z', '--branch', '--untracked-files=all', '--', ':/'),
    );
    return recordTestedTree(dir, index(), { changed: status.named });
  };
  /** What the commit would hold: `git add -A`, then the index read. */
  const staged = (): IndexFile => {
    git('add', '-A');
    return index();
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tested-tree-'));
    git('init', '-q');
    write('src/math.js', 'module.exports = { add: (a, b) => a + b };\n');
    write('src/old.js', 'old\n');
    write('src/gone.js', 'gone\n');
    write('run.sh', '#!/bin/sh\n');
    write('README.md', 'readme\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'init');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hashes a blob as git does', () => {
    write('x.bin', Buffer.from([0, 1, 2, 255]));
    expect(blobId(readFileSync(join(dir, 'x.bin')), 20)).toBe(git('hash-object', 'x.bin').trim());
  });

  it('hashes a file larger than what is read at once (1 MiB) as git does, and one of none or one chunk', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i += 1) big[i] = (i * 31) % 251;
    write('data/big.bin', big);
    write('data/chunk.bin', big.subarray(0, 1024 * 1024));
    write('data/empty.bin', '');
    const tested = await record();
    for (const path of ['data/big.bin', 'data/chunk.bin', 'data/empty.bin']) {
      expect(tested.files.get(path)?.oid).toBe(git('hash-object', path).trim());
    }
    expect(await changedSinceTested(tested, staged(), dir)).toEqual([]);
  });

  it('records exactly what `git add -A` then stages: changed, new, staged, deleted, renamed, modes, links, hidden edits', async () => {
    write('src/math.js', 'module.exports = { add: (a, b) => a + b, sub: (a, b) => a - b };\n');
    write('test/math.test.js', 'test\n');
    write('src/staged.js', 'staged\n');
    git('add', 'src/staged.js');
    unlinkSync(join(dir, 'src/gone.js'));
    git('mv', 'src/old.js', 'src/new.js');
    chmodSync(join(dir, 'run.sh'), 0o755);
    symlinkSync('src/math.js', join(dir, 'link.js'));
    // Hidden from `git status`, committed as the work tree holds it (its mark cleared first).
    git('update-index', '--skip-worktree', 'README.md');
    write('README.md', 'edited while hidden\n');
    const tested = await record();
    git('update-index', '--no-skip-worktree', 'README.md');
    expect(await changedSinceTested(tested, staged(), dir)).toEqual([]);
  });

  it('names the files changed, created or deleted after the round started', async () => {
    write('src/math.js', 'module.exports = { sub: (a, b) => a - b };\n');
    write('test/math.test.js', 'test\n');
    const tested = await record();
    // The tests (or a process left running) rewrite a file, add one and delete one.
    write('src/math.js', 'module.exports = { sub: (a, b) => a * b };\n');
    write('src/late.js', 'late\n');
    unlinkSync(join(dir, 'src/old.js'));
    expect(await changedSinceTested(tested, staged(), dir)).toEqual([
      'src/late.js',
      'src/math.js',
      'src/old.js',
    ]);
  });

  it('takes a Cargo.lock that cargo test created beside a Cargo.toml during the round as tested, and no other', async () => {
    write('Cargo.toml', '[package]\nname = "rcalc"\n');
    write('crates/core/Cargo.toml', '[package]\nname = "core"\n');
    const tested = await record();
    // `cargo test` writes the lockfiles it finds missing; one without its Cargo.toml, or one that
    // was there and changed, is not its doing.
    write('Cargo.lock', 'version = 4\n');
    write('crates/core/Cargo.lock', 'version = 4\n');
    write('src/Cargo.lock', 'version = 4\n');
    expect(await changedSinceTested(tested, staged(), dir)).toEqual(['src/Cargo.lock']);
    const withLock = await record();
    write('Cargo.lock', 'version = 3\n');
    expect(await changedSinceTested(withLock, staged(), dir)).toEqual(['Cargo.lock']);
  });

  it('names a file clean at the round start and changed after it, and a mode changed after it', async () => {
    const tested = await record();
    write('README.md', 'rewritten by a snapshot update\n');
    chmodSync(join(dir, 'run.sh'), 0o755);
    expect(await changedSinceTested(tested, staged(), dir)).toEqual(['README.md', 'run.sh']);
  });

  it('takes a file git converts on the way in (end of line) as the one tested while its stat data is the same', async () => {
    write('.gitattributes', '*.txt text eol=lf\n');
    write('notes.txt', 'one\r\ntwo\r\n');
    const tested = await record();
    const after = staged();
    const notes = after.entries.find((e) => e.path === 'notes.txt')!;
    // Git stored it other than as its bytes ...
    expect(notes.oid).not.toBe(blobId(readFileSync(join(dir, 'notes.txt')), 20));
    // ... and the file is still the one tested.
    expect(await changedSinceTested(tested, after, dir)).toEqual([]);
  });

  it('takes a file git converts on the way in as the one tested when the tests wrote it again with the same bytes, and names it when with others', async () => {
    write('.gitattributes', '*.txt text eol=lf\n');
    write('notes.txt', 'one\r\ntwo\r\n');
    write('other.txt', 'one\r\n');
    const tested = await record();
    const changeTime = (): bigint => statSync(join(dir, 'notes.txt'), { bigint: true }).ctimeNs;
    const before = changeTime();
    // A snapshot test writes its fixture again: the same bytes, a later change time (written
    // until the clock the file system stamps with moved on).
    do write('notes.txt', 'one\r\ntwo\r\n');
    while (changeTime() === before);
    write('other.txt', 'one\r\nthree\r\n');
    expect(await changedSinceTested(tested, staged(), dir)).toEqual(['other.txt']);
  });

  it('compares the files of a plain directory that replaced a tracked file, one by one', async () => {
    unlinkSync(join(dir, 'README.md'));
    write('README.md/data.json', '{}\n');
    const tested = await record();
    expect(tested.unknown).toEqual([]);
    write('README.md/data.json', '{"rewritten": true}\n');
    expect(await changedSinceTested(tested, staged(), dir)).toEqual(['README.md/data.json']);
  });

  it('does not compare what lies in a directory where a file was expected (a nested repository)', async () => {
    mkdirSync(join(dir, 'vendor/lib'), { recursive: true });
    const nested = (...args: string[]): void => {
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
        cwd: join(dir, 'vendor/lib'),
      });
    };
    nested('init', '-q');
    writeFileSync(join(dir, 'vendor/lib/a.js'), 'a\n');
    nested('add', '-A');
    nested('commit', '-q', '-m', 'nested');
    const tested = await record();
    expect(tested.unknown).toEqual(['vendor/lib/']);
    expect(await changedSinceTested(tested, staged(), dir)).toEqual([]);
  });
});
