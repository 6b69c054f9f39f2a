import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gitdirPointer, pointerFileValue } from 'src/common/git-pointer-files';

describe('git pointer files', () => {
  it('takes the whole path after the prefix, less the line breaks that end it', () => {
    expect(gitdirPointer('gitdir: /r/.git/worktrees/w\n')).toBe('/r/.git/worktrees/w');
    expect(gitdirPointer('gitdir: /r/.git/worktrees/w\r\n')).toBe('/r/.git/worktrees/w');
    expect(gitdirPointer('gitdir: /a\rb/.git/worktrees/w\n')).toBe('/a\rb/.git/worktrees/w');
    expect(gitdirPointer('gitdir: /a\u2028b/w')).toBe('/a\u2028b/w');
    expect(gitdirPointer('gitdir:  /spaced /w \n')).toBe(' /spaced /w ');
    expect(pointerFileValue('../..\r\n\n')).toBe('../..');
    expect(pointerFileValue('/a\rb/.git\n')).toBe('/a\rb/.git');
  });

  it('names nothing without the prefix or without a path', () => {
    expect(gitdirPointer('')).toBeNull();
    expect(gitdirPointer('gitdir:\n')).toBeNull();
    expect(gitdirPointer('gitdir: \n')).toBeNull();
    expect(gitdirPointer(' gitdir: /r\n')).toBeNull();
    expect(gitdirPointer('ref: refs/heads/main\n')).toBeNull();
  });

  describe('against git, for linked work trees under paths a line-based reading cuts short', () => {
    let dir: string;
    beforeEach(() => (dir = realpathSync(mkdtempSync(join(tmpdir(), 'git-pointer-')))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it.each([
      ['a carriage return', 'cr\rx'],
      ['a line separator (U+2028)', 'ls\u2028x'],
      ['a trailing space', 'space '],
    ])('under %s, leads where git goes', (_what, name) => {
      const repo = join(dir, name);
      mkdirSync(repo);
      const git = (cwd: string, ...args: string[]): string =>
        execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
          cwd,
          encoding: 'utf8',
        }).replace(/\n$/, '');
      git(repo, 'init', '-q');
      writeFileSync(join(repo, 'a.txt'), 'a\n');
      git(repo, 'add', '-A');
      git(repo, 'commit', '-q', '-m', 'first');
      const worktree = join(repo, 'wt');
      git(repo, 'worktree', 'add', '-q', '-b', 'task', worktree);

      const own = gitdirPointer(readFileSync(join(worktree, '.git'), 'utf8'));
      expect(own).toBe(git(worktree, 'rev-parse', '--absolute-git-dir'));
      const common = pointerFileValue(readFileSync(join(own!, 'commondir'), 'utf8'));
      expect(resolve(own!, common)).toBe(
        git(worktree, 'rev-parse', '--path-format=absolute', '--git-common-dir'),
      );
      expect(pointerFileValue(readFileSync(join(own!, 'gitdir'), 'utf8'))).toBe(
        join(worktree, '.git'),
      );
    });
  });
});
