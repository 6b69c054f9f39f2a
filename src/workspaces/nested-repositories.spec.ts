import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexEntry } from 'src/workspaces/hidden-index-entries';
import {
  addAllArgs,
  gitlinksInLsFiles,
  gitlinksOf,
  holdsRepository,
  isBelow,
} from 'src/workspaces/nested-repositories';

const OID = 'a'.repeat(40);
const NO_STAT = { ctimeS: 0, ctimeNs: 0, mtimeS: 0, mtimeNs: 0, ino: 0, size: 0 };

const entry = (path: string, mode: number, stage = 0): IndexEntry => ({
  path,
  mode,
  oid: OID,
  stage,
  stat: NO_STAT,
  skipWorktree: false,
  assumeUnchanged: false,
});

describe('gitlinksOf', () => {
  it('names the gitlinks of an index once each, files and links left out', () => {
    const index = {
      hashBytes: 20,
      entries: [
        entry('a.txt', 0o100644),
        entry('link', 0o120000),
        entry('vendor/lib', 0o160000),
        entry('vendor/other', 0o160000, 2),
        entry('vendor/other', 0o160000, 3),
      ],
    };
    expect(gitlinksOf(index)).toEqual(['vendor/lib', 'vendor/other']);
  });
});

describe('gitlinksInLsFiles', () => {
  it('reads the gitlinks of `git ls-files --stage -z`, paths with any character', () => {
    const out = [
      `100644 ${OID} 0\ta.txt`,
      `160000 ${OID} 0\tvendor/lib`,
      `160000 ${OID} 0\tline\nbreak`,
      `160000 ${OID} 1\tvendor/lib`,
      '',
    ].join('\0');
    expect(gitlinksInLsFiles(out)).toEqual(['vendor/lib', 'line\nbreak']);
  });
});

describe('addAllArgs', () => {
  it('is a plain `git add -A -- .` without nested repositories', () => {
    expect(addAllArgs([])).toEqual(['add', '-A', '--', '.']);
  });

  it('leaves out each nested repository by its literal path from the top', () => {
    expect(addAllArgs(['vendor/lib', 'a*b'])).toEqual([
      'add',
      '-A',
      '--',
      '.',
      ':(top,exclude,literal)vendor/lib',
      ':(top,exclude,literal)a*b',
    ]);
  });
});

describe('isBelow', () => {
  it.each([
    ['', 'vendor/lib', true],
    ['vendor', 'vendor/lib', true],
    ['vendor/lib', 'vendor/lib', true],
    ['vend', 'vendor/lib', false],
    ['app', 'vendor/lib', false],
  ])('prefix %j, path %j: %s', (prefix, path, below) => {
    expect(isBelow(prefix, path)).toBe(below);
  });
});

describe('holdsRepository', () => {
  let top: string;
  beforeEach(() => {
    top = realpathSync(mkdtempSync(join(tmpdir(), 'nested-repos-')));
  });
  afterEach(() => rmSync(top, { recursive: true, force: true }));

  it('is a directory holding a `.git`, a directory or a file', () => {
    mkdirSync(join(top, 'vendor/lib/.git'), { recursive: true });
    mkdirSync(join(top, 'vendor/mod'), { recursive: true });
    writeFileSync(join(top, 'vendor/mod/.git'), 'gitdir: /elsewhere\n');
    expect(holdsRepository(top, 'vendor/lib')).toBe(true);
    expect(holdsRepository(top, 'vendor/mod')).toBe(true);
  });

  it('is not an empty directory (a submodule not checked out), a file or nothing', () => {
    mkdirSync(join(top, 'empty'));
    writeFileSync(join(top, 'file'), 'x\n');
    expect(holdsRepository(top, 'empty')).toBe(false);
    expect(holdsRepository(top, 'file')).toBe(false);
    expect(holdsRepository(top, 'gone/lib')).toBe(false);
  });

  it('is not reached through a link, where git does not look either', () => {
    mkdirSync(join(top, 'real/lib/.git'), { recursive: true });
    symlinkSync(join(top, 'real'), join(top, 'vendor'));
    symlinkSync(join(top, 'real/lib'), join(top, 'lib'));
    expect(holdsRepository(top, 'vendor/lib')).toBe(false);
    expect(holdsRepository(top, 'lib')).toBe(false);
  });
});
