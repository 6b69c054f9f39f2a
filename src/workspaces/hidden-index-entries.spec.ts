import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hiddenIndexEntries, hiddenInLsFiles } from 'src/workspaces/hidden-index-entries';

describe('hidden index entries', () => {
  let dir: string;
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
      cwd: dir,
      encoding: 'utf8',
    });

  /** A repository whose index is of `version` (and object format), with files marked. */
  function markedIndex(version: number, objectFormat = 'sha1'): Buffer {
    git('init', '-q', `--object-format=${objectFormat}`);
    mkdirSync(join(dir, 'src/deep'), { recursive: true });
    for (const file of ['a.txt', 'src/b.js', 'src/deep/c.js', 'src/deep/d.js', 'z.txt']) {
      writeFileSync(join(dir, file), `${file}\n`);
    }
    git('add', '-A');
    git('update-index', '--skip-worktree', 'src/deep/c.js');
    git('update-index', '--assume-unchanged', 'src/b.js');
    git('update-index', '--skip-worktree', 'z.txt');
    git('update-index', '--assume-unchanged', 'z.txt');
    git('update-index', `--index-version=${version}`);
    return readFileSync(join(dir, '.git/index'));
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hidden-index-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([3, 4])(
    'reads the skip-worktree and assume-unchanged entries of an index of version %i',
    (version) => {
      expect(hiddenIndexEntries(markedIndex(version))).toEqual({
        skipWorktree: ['src/deep/c.js', 'z.txt'],
        assumeUnchanged: ['src/b.js', 'z.txt'],
      });
    },
  );

  it('reads an index of a SHA-256 repository', () => {
    expect(hiddenIndexEntries(markedIndex(3, 'sha256'))).toEqual({
      skipWorktree: ['src/deep/c.js', 'z.txt'],
      assumeUnchanged: ['src/b.js', 'z.txt'],
    });
  });

  it('finds nothing hidden in an index of version 2 with no marks, as git writes it', () => {
    git('init', '-q');
    writeFileSync(join(dir, 'a.txt'), 'a\n');
    git('add', '-A');
    const index = readFileSync(join(dir, '.git/index'));
    expect(index.readUInt32BE(4)).toBe(2);
    expect(hiddenIndexEntries(index)).toEqual({ skipWorktree: [], assumeUnchanged: [] });
  });

  it('agrees with git ls-files -v', () => {
    const index = markedIndex(3);
    expect(hiddenInLsFiles(git('ls-files', '-v', '-z'))).toEqual(hiddenIndexEntries(index));
  });

  it('leaves a split index to git: its other entries are in another file', () => {
    markedIndex(3);
    git('update-index', '--split-index');
    expect(hiddenIndexEntries(readFileSync(join(dir, '.git/index')))).toBeNull();
  });

  it('says it cannot read what is no index (git is asked instead)', () => {
    expect(hiddenIndexEntries(Buffer.from('not an index'))).toBeNull();
    const index = markedIndex(3);
    expect(hiddenIndexEntries(index.subarray(0, 100))).toBeNull();
  });
});
