import { execFileSync } from 'node:child_process';
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isPlainlyOnBranch,
  leadsTo,
  looseRef,
  ownIndexLock,
  projectCheckout,
  projectLocation,
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

  it("reads a loose ref's object id, and nothing from a packed or missing one", () => {
    const head = git(repo, 'rev-parse', 'HEAD');
    expect(looseRef(join(repo, '.git'), 'refs/heads/cta/task')).toBe(head);
    git(repo, 'pack-refs', '--all');
    expect(looseRef(join(repo, '.git'), 'refs/heads/cta/task')).toBeNull();
    expect(looseRef(join(repo, '.git'), 'refs/heads/none')).toBeNull();
  });

  describe('where a project is in its repository, and what is checked out there', () => {
    const uid = process.geteuid!();
    /** What git says, as `locateDirectory` asks it. */
    const gitSays = (cwd: string) => {
      const [toplevel, prefix, common] = git(
        cwd,
        'rev-parse',
        '--path-format=absolute',
        '--show-toplevel',
        '--show-prefix',
        '--git-common-dir',
      ).split('\n');
      return {
        toplevel: realpathSync(toplevel),
        prefix: prefix.replace(/\/$/, ''),
        gitDir: realpathSync(common),
      };
    };

    it('reads what git says from the files: the top, a subdirectory, a linked worktree, a separate git directory, a path through a link', () => {
      mkdirSync(join(repo, 'app', 'src'), { recursive: true });
      mkdirSync(join(worktree, 'app'));
      const separate = join(dir, 'separate');
      execFileSync('git', [
        'init',
        '-q',
        '--separate-git-dir',
        join(dir, 'separate.git'),
        separate,
      ]);
      symlinkSync(join(repo, 'app'), join(dir, 'linked-app'));
      const places = [
        repo,
        join(repo, 'app', 'src'),
        worktree,
        join(worktree, 'app'),
        separate,
        join(dir, 'linked-app'),
      ];
      for (const place of places) {
        expect({ place, location: projectLocation(place, uid) }).toEqual({
          place,
          location: gitSays(place),
        });
      }
      expect(projectLocation(join(worktree, 'app'), uid)).toEqual({
        toplevel: realpathSync(worktree),
        prefix: 'app',
        gitDir: realpathSync(join(repo, '.git')),
      });
    });

    it("reads HEAD's branch and commit from a loose or a packed ref, and a detached HEAD's commit", () => {
      const head = git(repo, 'rev-parse', 'HEAD');
      const branch = git(repo, 'symbolic-ref', '--short', 'HEAD');
      const location = {
        toplevel: realpathSync(repo),
        prefix: '',
        gitDir: realpathSync(join(repo, '.git')),
      };
      expect(projectCheckout(repo, uid)).toEqual({ ...location, head, branch });
      git(repo, 'pack-refs', '--all');
      expect(projectCheckout(repo, uid)).toEqual({ ...location, head, branch });
      expect(projectCheckout(worktree, uid)).toMatchObject({ head, branch: 'cta/task' });
      git(repo, 'checkout', '-q', '--detach');
      expect(projectCheckout(repo, uid)).toEqual({ ...location, head, branch: null });
    });

    it('leaves git to answer (null) wherever the files leave a doubt', () => {
      // Another user's repository: git refuses it unless safe.directory says otherwise.
      expect(projectLocation(repo, uid + 1)).toBeNull();
      // A branch with no commit yet.
      git(repo, 'checkout', '-q', '--orphan', 'unborn');
      expect(projectLocation(repo, uid)).not.toBeNull();
      expect(projectCheckout(repo, uid)).toBeNull();
      // Outside any repository, and inside a git directory.
      mkdirSync(join(dir, 'plain'));
      expect(projectLocation(join(dir, 'plain'), uid)).toBeNull();
      expect(projectLocation(join(repo, '.git', 'refs'), uid)).toBeNull();
      expect(projectLocation(join(dir, 'missing'), uid)).toBeNull();
      // A .git file that is no `gitdir:` pointer, and one that is a link.
      writeFileSync(join(worktree, '.git'), 'not a pointer\n');
      expect(projectLocation(worktree, uid)).toBeNull();
      rmSync(join(worktree, '.git'));
      symlinkSync(join(repo, '.git'), join(worktree, '.git'));
      expect(projectLocation(worktree, uid)).toBeNull();
      // A configuration that may put the work tree elsewhere, or says there is none.
      const config = join(repo, '.git', 'config');
      expect(projectLocation(repo, uid)).not.toBeNull();
      for (const setting of ['worktree = /elsewhere', 'bare = true', 'bare', 'bare = yes ; so']) {
        git(repo, 'config', 'core.bare', 'false');
        writeFileSync(config, `${readFileSync(config, 'utf8')}[core]\n\t${setting}\n`);
        expect({ setting, location: projectLocation(repo, uid) }).toEqual({
          setting,
          location: null,
        });
        git(
          repo,
          'config',
          '--unset-all',
          setting.startsWith('worktree') ? 'core.worktree' : 'core.bare',
        );
      }
      git(repo, 'config', 'include.path', 'other');
      expect(projectLocation(repo, uid)).toBeNull();
      git(repo, 'config', '--unset', 'include.path');
      expect(projectLocation(repo, uid)).not.toBeNull();
      // A .git directory git would not take (no HEAD) above the project.
      mkdirSync(join(dir, 'broken', '.git'), { recursive: true });
      mkdirSync(join(dir, 'broken', 'app'));
      expect(projectLocation(join(dir, 'broken', 'app'), uid)).toBeNull();
    });
  });
});
