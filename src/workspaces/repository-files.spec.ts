import { execFileSync, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
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
import { projectCheckout, projectLocation } from 'src/workspaces/repository-files';

const uid = process.geteuid!();

/** Runs git in `cwd`; its output, trimmed. */
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** A repository at `dir` with one commit on `main`. */
function repository(dir: string): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'commit', '-q', '--allow-empty', '-m', 'first');
  return dir;
}

/** What git says in `cwd`, as `inspectDirectory` asks it; null where it answers no commit. */
function gitSays(cwd: string) {
  const result = spawnSync(
    'git',
    [
      'rev-parse',
      '--path-format=absolute',
      '--show-toplevel',
      '--show-prefix',
      '--git-common-dir',
      'HEAD^{commit}',
      '--symbolic-full-name',
      'HEAD',
    ],
    { cwd, encoding: 'utf8' },
  );
  if (result.status !== 0) return null;
  const [toplevel, prefix, common, head, ref] = result.stdout.split('\n');
  return {
    toplevel: realpathSync(toplevel),
    prefix: prefix.replace(/\/$/, ''),
    gitDir: realpathSync(common),
    head,
    branch: ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null,
  };
}

describe('where a project is in its repository, read from the files', () => {
  let dir: string;
  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'repository-files-')));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The files' answer is git's, and there is one. */
  const expectGitsAnswer = (place: string) =>
    expect({ place, files: projectCheckout(place, uid) }).toEqual({
      place,
      files: gitSays(place) ?? 'git answers nothing',
    });

  it("gives git's answer: the top, a subdirectory, a linked worktree, a separate git directory, a path through a link, a worktree entry reached through a link", () => {
    const repo = repository(join(dir, 'repo'));
    mkdirSync(join(repo, 'app', 'src'), { recursive: true });
    git(repo, 'worktree', 'add', '-q', '-b', 'cta/task', join(dir, 'wt'));
    mkdirSync(join(dir, 'wt', 'app'));
    const separate = join(dir, 'separate');
    execFileSync('git', ['init', '-q', '--separate-git-dir', join(dir, 'separate.git'), separate]);
    git(separate, 'commit', '-q', '--allow-empty', '-m', 'first');
    symlinkSync(join(repo, 'app'), join(dir, 'linked-app'));
    // The worktree's `.git` file leads to its entry through a link elsewhere: `commondir`'s
    // `../..` is taken from the entry's real place, as git takes it.
    mkdirSync(join(dir, 'elsewhere', 'x'), { recursive: true });
    symlinkSync(join(repo, '.git', 'worktrees', 'wt'), join(dir, 'elsewhere', 'x', 'entry'));
    git(repo, 'worktree', 'add', '-q', '-b', 'linked', join(dir, 'wt2'));
    writeFileSync(join(dir, 'wt2', '.git'), `gitdir: ${join(dir, 'elsewhere', 'x', 'entry')}\n`);
    for (const place of [
      repo,
      join(repo, 'app', 'src'),
      join(dir, 'wt'),
      join(dir, 'wt', 'app'),
      separate,
      join(dir, 'linked-app'),
      join(dir, 'wt2'),
    ]) {
      expectGitsAnswer(place);
    }
    expect(projectCheckout(join(dir, 'wt', 'app'), uid)).toMatchObject({
      toplevel: join(dir, 'wt'),
      prefix: 'app',
      gitDir: join(repo, '.git'),
      branch: 'cta/task',
    });
  });

  it("reads HEAD's commit from a loose or a packed ref, and a detached HEAD's; its place alone where the branch has no commit yet", () => {
    const repo = repository(join(dir, 'repo'));
    expectGitsAnswer(repo);
    git(repo, 'pack-refs', '--all');
    expectGitsAnswer(repo);
    git(repo, 'checkout', '-q', '--detach');
    expectGitsAnswer(repo);
    expect(projectCheckout(repo, uid)).toMatchObject({ branch: null });
    git(repo, 'checkout', '-q', '--orphan', 'unborn');
    expect(projectCheckout(repo, uid)).toBeNull();
    expect(projectLocation(repo, uid)).toEqual({
      toplevel: repo,
      prefix: '',
      gitDir: join(repo, '.git'),
    });
  });

  it('leaves git to answer (null) where the repository is not found as git finds it', () => {
    const repo = repository(join(dir, 'outer'));
    // Outside any repository, inside a git directory, not there, not a directory.
    mkdirSync(join(dir, 'plain'));
    expect(projectCheckout(join(dir, 'plain'), uid)).toBeNull();
    expect(projectCheckout(join(repo, '.git', 'refs'), uid)).toBeNull();
    expect(projectCheckout(join(dir, 'missing'), uid)).toBeNull();
    writeFileSync(join(dir, 'file'), '');
    expect(projectCheckout(join(dir, 'file'), uid)).toBeNull();
    expect(projectCheckout(join(dir, 'x'.repeat(300)), uid)).toBeNull();
    // A nested `.git` git would not take (no `refs`): git looks further up, to the outer one.
    const inner = repository(join(repo, 'in'));
    git(inner, 'pack-refs', '--all');
    rmSync(join(inner, '.git', 'refs'), { recursive: true });
    expect(gitSays(inner)).toMatchObject({ toplevel: repo, prefix: 'in' });
    expect(projectCheckout(inner, uid)).toBeNull();
    // A `.git` directory with a `commondir` of its own: git follows it.
    const other = repository(join(dir, 'other'));
    writeFileSync(join(other, '.git', 'commondir'), `${join(repo, '.git')}\n`);
    expect(projectCheckout(other, uid)).toBeNull();
    // A git directory between the project and the outer repository, its HEAD a dangling link:
    // git takes it for one, and the project for inside it.
    const bare = join(repo, 'bare');
    mkdirSync(join(bare, 'objects'), { recursive: true });
    mkdirSync(join(bare, 'refs'));
    symlinkSync('refs/heads/main', join(bare, 'HEAD'));
    mkdirSync(join(bare, 'work'));
    expect(gitSays(join(bare, 'work'))).toBeNull();
    expect(projectCheckout(join(bare, 'work'), uid)).toBeNull();
  });

  it('leaves git to answer (null) for a .git file git reads otherwise, and a HEAD or ref it would refuse', () => {
    const repo = repository(join(dir, 'repo'));
    const wt = join(dir, 'wt');
    git(repo, 'worktree', 'add', '-q', '-b', 'task', wt);
    const entry = join(repo, '.git', 'worktrees', 'wt');
    expectGitsAnswer(wt);
    for (const text of [
      `gitdir: ${entry} \n`,
      `gitdir:  ${entry}\n`,
      `# a comment\ngitdir: ${entry}\n`,
      `gitdir: ${entry}\nmore\n`,
    ]) {
      writeFileSync(join(wt, '.git'), text);
      expect({ text, files: projectCheckout(wt, uid) }).toEqual({ text, files: null });
    }
    writeFileSync(join(wt, '.git'), `gitdir: ${entry}\n`);
    const head = readFileSync(join(entry, 'HEAD'), 'utf8');
    const commit = git(repo, 'rev-parse', 'HEAD');
    for (const [name, text] of [
      ['task.lock', `ref: refs/heads/task.lock\n`],
      ['a..b', `ref: refs/heads/a..b\n`],
      ['../tags/v', `ref: refs/heads/../tags/v\n`],
      ['with space', `ref: refs/heads/with space\n`],
      ['64 hex digits in a SHA-1 repository', `${commit}${'0'.repeat(24)}\n`],
    ]) {
      const ref = /^ref: (.*)\n$/.exec(text)?.[1];
      if (ref !== undefined && !ref.includes(' ')) {
        mkdirSync(join(repo, '.git', ref, '..'), { recursive: true });
        writeFileSync(join(repo, '.git', ref), `${commit}\n`);
      }
      writeFileSync(join(entry, 'HEAD'), text);
      expect({ name, files: projectCheckout(wt, uid) }).toEqual({ name, files: null });
    }
    writeFileSync(join(entry, 'HEAD'), head);
    expectGitsAnswer(wt);
  });

  it('leaves git to answer (null) for a configuration that may move the work tree, or that git may read otherwise', () => {
    const repo = repository(join(dir, 'repo'));
    const config = join(repo, '.git', 'config');
    const plain = readFileSync(config, 'utf8');
    for (const added of [
      '[core]\n\tworktree = /elsewhere\n',
      '[core]\n\tbare = true\n',
      '[core]\n\tbare\n',
      '[core] bare = true\n',
      '[core]\n\tbare = false;x\n',
      '[core]\n\trepositoryformatversion = 2\n',
      '[extensions]\n\trefStorage = files\n',
      '[include]\n\tpath = other\n',
      '[includeIf "gitdir:/x/"]\n\tpath = other\n',
      '[core]\n\tbare # the default\n',
      '[core]\n\tsshCommand = ssh \\\n\t-v\n',
      '[user]\n\tname = "unterminated\n',
      '[user]\n\tname = a\\qb\n',
    ]) {
      writeFileSync(config, `${plain}${added}`);
      expect({ added, files: projectCheckout(repo, uid) }).toEqual({ added, files: null });
    }
    writeFileSync(config, `${plain}[core]\n\tbare = false # as git init writes it\n`);
    expectGitsAnswer(repo);
    appendFileSync(config, '[remote "origin"]\n\turl = https://example.com/x.git\n');
    expectGitsAnswer(repo);
  });

  it("follows a link before the `..` after it, as git does, in a .git file and in a worktree's commondir", () => {
    const mine = repository(join(dir, 'mine'));
    const theirs = repository(join(dir, 'other', 'theirs'));
    git(theirs, 'commit', '-q', '--allow-empty', '-m', 'second');
    mkdirSync(join(dir, 'other', 'deep'));
    /**
     * In `from`, `up` leads to `other/deep` and `theirs/.git` to the other repository: the path
     * returned, `up/../theirs/.git`, is `other/theirs/.git` through the link, that one as text.
     */
    const misleading = (from: string): string => {
      symlinkSync(join(dir, 'other', 'deep'), join(from, 'up'));
      mkdirSync(join(from, 'theirs'));
      symlinkSync(join(mine, '.git'), join(from, 'theirs', '.git'));
      return 'up/../theirs/.git';
    };
    const proj = join(dir, 'proj');
    mkdirSync(proj);
    writeFileSync(join(proj, '.git'), `gitdir: ${misleading(proj)}\n`);
    expect(gitSays(proj)).toMatchObject({ gitDir: join(theirs, '.git') });
    expectGitsAnswer(proj);
    const wt = join(dir, 'wt');
    git(theirs, 'worktree', 'add', '-q', '-b', 'task', wt);
    const entry = join(theirs, '.git', 'worktrees', 'wt');
    writeFileSync(join(entry, 'commondir'), `${misleading(entry)}\n`);
    expect(gitSays(wt)).toMatchObject({ gitDir: join(theirs, '.git') });
    expectGitsAnswer(wt);
  });

  it('leaves git to answer (null) for files too large to read whole, or not valid UTF-8, and packed refs not as git writes them', () => {
    const repo = repository(join(dir, 'repo'));
    const config = join(repo, '.git', 'config');
    const plain = readFileSync(config, 'utf8');
    // Past 64 KiB in bytes though not in characters: what comes after is not read.
    const filler = '[x]\n' + '\tdescription = café\n'.repeat(3500);
    writeFileSync(config, `${plain}${filler}[core]\n\tworktree = /elsewhere\n`);
    expect(projectCheckout(repo, uid)).toBeNull();
    writeFileSync(config, `${plain}[core]\n\x0bbare = false\n`);
    expect(projectCheckout(repo, uid)).toBeNull();
    writeFileSync(config, `${plain}[extensions.objectformat]\n`);
    expect(projectCheckout(repo, uid)).toBeNull();
    writeFileSync(config, plain);
    expectGitsAnswer(repo);
    // A branch name that is not UTF-8 would be read as another's.
    const head = readFileSync(join(repo, '.git', 'HEAD'));
    const commit = git(repo, 'rev-parse', 'HEAD');
    writeFileSync(join(repo, '.git', 'refs', 'heads', 'x\uFFFD'), `${commit}\n`);
    writeFileSync(join(repo, '.git', 'HEAD'), Buffer.from('ref: refs/heads/x\xff\n', 'latin1'));
    expect(projectCheckout(repo, uid)).toBeNull();
    writeFileSync(join(repo, '.git', 'HEAD'), head);
    rmSync(join(repo, '.git', 'refs', 'heads', 'x\uFFFD'));
    // packed-refs: twice the branch, out of order, a line not ended, a line git does not write.
    git(repo, 'pack-refs', '--all');
    const packedFile = join(repo, '.git', 'packed-refs');
    const packed = readFileSync(packedFile, 'utf8');
    expectGitsAnswer(repo);
    const other = `${'1'.repeat(40)} refs/heads/main`;
    for (const text of [
      `${packed}${other}\n`,
      `${packed}${'1'.repeat(40)} refs/heads/a\n`,
      packed.slice(0, -1),
      `${packed}garbage\n`,
    ]) {
      writeFileSync(packedFile, text);
      expect({ text, files: projectCheckout(repo, uid) }).toEqual({ text, files: null });
    }
    writeFileSync(packedFile, packed);
    expectGitsAnswer(repo);
    // A .git file longer than git reads one.
    const wt = join(dir, 'wt');
    git(repo, 'worktree', 'add', '-q', '-b', 'task', wt);
    const pointer = readFileSync(join(wt, '.git'), 'utf8');
    writeFileSync(join(wt, '.git'), `${pointer}${'\n'.repeat(5000)}`);
    expect(projectCheckout(wt, uid)).toBeNull();
  });

  const asRoot = uid === 0 ? it : it.skip;

  it('leaves git to answer (null) for a nested repository whose objects its owner may not enter (git, as that owner, would look further up)', () => {
    const outer = repository(join(dir, 'outer'));
    const inner = repository(join(outer, 'inner'));
    expectGitsAnswer(inner);
    chmodSync(join(inner, '.git', 'objects'), 0o600);
    try {
      expect(projectCheckout(inner, uid)).toBeNull();
    } finally {
      chmodSync(join(inner, '.git', 'objects'), 0o755);
    }
  });

  asRoot(
    "leaves git to answer (null) for a repository whose real git directory is another user's",
    () => {
      const repo = join(dir, 'repo');
      execFileSync('git', ['init', '-q', '--separate-git-dir', join(dir, 'store.git'), repo]);
      symlinkSync(join(dir, 'store.git'), join(dir, 'link'));
      writeFileSync(join(repo, '.git'), `gitdir: ${join(dir, 'link')}\n`);
      git(repo, 'commit', '-q', '--allow-empty', '-m', 'again');
      expectGitsAnswer(repo);
      execFileSync('chown', ['-R', '65534', join(dir, 'store.git')]);
      expect(projectCheckout(repo, uid)).toBeNull();
    },
  );

  asRoot(
    'leaves git to answer (null) when git runs as another user than this process (RUN_AS_USER), whatever the files say',
    () => {
      const repo = repository(join(dir, 'repo'));
      expectGitsAnswer(repo);
      execFileSync('chown', ['-R', `${uid + 1}`, repo]);
      expect(projectCheckout(repo, uid + 1)).toBeNull();
      expect(projectLocation(repo, uid + 1)).toBeNull();
    },
  );

  asRoot(
    'leaves git to answer (null) across a file system boundary, where git stops looking',
    () => {
      const repo = repository(join(dir, 'repo'));
      const mount = join(repo, 'mnt');
      mkdirSync(mount);
      if (spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', mount]).status !== 0) return;
      try {
        mkdirSync(join(mount, 'sub'));
        expect(gitSays(join(mount, 'sub'))).toBeNull();
        expect(projectCheckout(join(mount, 'sub'), uid)).toBeNull();
      } finally {
        spawnSync('umount', [mount]);
      }
    },
  );
});
