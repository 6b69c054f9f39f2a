import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isPlainlyOnBranch,
  leadsTo,
  looseRef,
  ownIndexLock,
  registeredEntry,
} from 'src/workspaces/worktree-files';

describe('worktree files', () => {
  let dir: string;
  let repo: string;
  let worktree: string;
  const git = (cwd: string, ...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
      cwd,
      encoding: 'utf8',
    }).trim();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'worktree-files-'));
    repo = join(dir, 'repo');
    worktree = join(dir, 'wt');
    execFileSync('git', ['init', '-q', repo]);
    writeFileSync(join(repo, 'a.txt'), 'a\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'first');
    git(repo, 'worktree', 'add', '-q', '-b', 'cta/task', worktree);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('sees a worktree on its branch with nothing under way, through its .git file', () => {
    expect(isPlainlyOnBranch(worktree, 'refs/heads/cta/task')).toBe(true);
    expect(isPlainlyOnBranch(worktree, 'refs/heads/other')).toBe(false);
  });

  it('is unsure (false) when a merge is under way, HEAD is detached, or .git is not a plain file', () => {
    const gitDir = git(worktree, 'rev-parse', '--absolute-git-dir');
    writeFileSync(join(gitDir, 'MERGE_HEAD'), git(worktree, 'rev-parse', 'HEAD'));
    expect(isPlainlyOnBranch(worktree, 'refs/heads/cta/task')).toBe(false);
    rmSync(join(gitDir, 'MERGE_HEAD'));

    git(worktree, 'checkout', '-q', '--detach');
    expect(isPlainlyOnBranch(worktree, 'refs/heads/cta/task')).toBe(false);
    git(worktree, 'checkout', '-q', 'cta/task');

    // A FIFO where the .git file was: read without waiting on it, and so unknown.
    rmSync(join(worktree, '.git'));
    execFileSync('mkfifo', [join(worktree, '.git')]);
    expect(isPlainlyOnBranch(worktree, 'refs/heads/cta/task')).toBe(false);
  });

  it("finds the worktree's own index lock, not one its .git file was pointed at elsewhere", () => {
    const gitDir = git(worktree, 'rev-parse', '--absolute-git-dir');
    expect(ownIndexLock(worktree)).toBeNull();
    writeFileSync(join(gitDir, 'index.lock'), '');
    expect(ownIndexLock(worktree)).toBe(join(gitDir, 'index.lock'));
    // The main repository's lock: its .git is no worktree's, and a .git file rewritten to point
    // there is not the one git registered for this worktree.
    writeFileSync(join(repo, '.git', 'index.lock'), '');
    expect(ownIndexLock(repo)).toBeNull();
    writeFileSync(join(worktree, '.git'), `gitdir: ${join(repo, '.git')}\n`);
    expect(ownIndexLock(worktree)).toBeNull();
    // Nor another worktree's: its git directory names that worktree, not this one.
    const other = join(dir, 'other');
    git(repo, 'worktree', 'add', '-q', '-b', 'cta/other', other);
    const otherGitDir = git(other, 'rev-parse', '--absolute-git-dir');
    writeFileSync(join(otherGitDir, 'index.lock'), '');
    writeFileSync(join(worktree, '.git'), `gitdir: ${otherGitDir}\n`);
    expect(ownIndexLock(worktree)).toBeNull();
    expect(ownIndexLock(other)).toBe(join(otherGitDir, 'index.lock'));
    // Nor through a .git file hard-linked to the other worktree's.
    rmSync(join(worktree, '.git'));
    linkSync(join(other, '.git'), join(worktree, '.git'));
    expect(ownIndexLock(worktree)).toBeNull();
  });

  it("finds the worktree's entry in its repository whatever its .git file says, and whether the file leads there", () => {
    const common = join(repo, '.git');
    const entry = registeredEntry(worktree, common);
    expect(entry).toBe(realpathSync(git(worktree, 'rev-parse', '--absolute-git-dir')));
    expect(leadsTo(worktree, entry!)).toBe(true);
    const other = join(dir, 'other');
    git(repo, 'worktree', 'add', '-q', '-b', 'cta/other', other);
    for (const pointer of [common, git(other, 'rev-parse', '--absolute-git-dir')]) {
      writeFileSync(join(worktree, '.git'), `gitdir: ${pointer}\n`);
      expect(registeredEntry(worktree, common)).toBe(entry);
      expect(leadsTo(worktree, entry!)).toBe(false);
    }
    rmSync(join(worktree, '.git'));
    mkdirSync(join(worktree, '.git'));
    expect(leadsTo(worktree, entry!)).toBe(false);
    // Not a worktree of this repository.
    expect(registeredEntry(join(dir, 'elsewhere'), common)).toBeNull();
  });

  it.each([
    ['a carriage return', 'cr\rx'],
    ['a line separator (U+2028)', 'ls\u2028x'],
  ])('reads the files of a worktree whose path holds %s as git does', (_what, name) => {
    const odd = join(dir, name);
    execFileSync('git', ['init', '-q', odd]);
    writeFileSync(join(odd, 'a.txt'), 'a\n');
    git(odd, 'add', '-A');
    git(odd, 'commit', '-q', '-m', 'first');
    const oddWorktree = join(odd, 'wt');
    git(odd, 'worktree', 'add', '-q', '-b', 'cta/task', oddWorktree);
    expect(isPlainlyOnBranch(oddWorktree, 'refs/heads/cta/task')).toBe(true);
    const entry = registeredEntry(oddWorktree, join(odd, '.git'));
    expect(entry).toBe(realpathSync(git(oddWorktree, 'rev-parse', '--absolute-git-dir')));
    expect(leadsTo(oddWorktree, entry!)).toBe(true);
  });

  it("reads a loose ref's object id, and nothing from a packed or missing one", () => {
    const head = git(repo, 'rev-parse', 'HEAD');
    expect(looseRef(join(repo, '.git'), 'refs/heads/cta/task')).toBe(head);
    git(repo, 'pack-refs', '--all');
    expect(looseRef(join(repo, '.git'), 'refs/heads/cta/task')).toBeNull();
    expect(looseRef(join(repo, '.git'), 'refs/heads/none')).toBeNull();
  });
});
