import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { gitReadPaths } from 'src/test-runner/git-read-paths';

describe('gitReadPaths', () => {
  let root: string;
  const git = (cwd: string, ...args: string[]): void => {
    execFileSync('git', args, {
      cwd,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@t',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@t',
      },
    });
  };

  beforeEach(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'git-read-paths-')));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("a linked work tree: its .git file, its git directory and the repository's common one", () => {
    const repo = join(root, 'repo');
    mkdirSync(join(repo, 'app'), { recursive: true });
    writeFileSync(join(repo, 'app', 'a.txt'), 'a\n');
    git(repo, 'init', '-q');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'base');
    const tree = join(root, 'tree');
    git(repo, 'worktree', 'add', '-q', tree);
    expect(gitReadPaths(tree, tree)).toEqual([
      join(repo, '.git', 'worktrees', 'tree'),
      join(repo, '.git'),
    ]);
    expect(gitReadPaths(tree, join(tree, 'app'))).toEqual([
      join(tree, '.git'),
      join(repo, '.git', 'worktrees', 'tree'),
      join(repo, '.git'),
    ]);
  });

  it('a repository in place: its .git only when the project lies below the top', () => {
    const repo = join(root, 'repo');
    mkdirSync(join(repo, 'app'), { recursive: true });
    git(repo, 'init', '-q');
    expect(gitReadPaths(repo, repo)).toEqual([]);
    expect(gitReadPaths(repo, join(repo, 'app'))).toEqual([join(repo, '.git')]);
  });

  it('a .git pointing nowhere, or at what is not a git directory: nothing beyond what exists', () => {
    const tree = join(root, 'tree');
    mkdirSync(tree);
    writeFileSync(join(tree, '.git'), 'gitdir: ../missing\n');
    expect(gitReadPaths(tree, tree)).toEqual([]);
    const data = join(root, 'server-data');
    mkdirSync(data);
    writeFileSync(join(data, 'commondir'), '.\n');
    writeFileSync(join(tree, '.git'), `gitdir: ${data}\n`);
    expect(gitReadPaths(tree, tree)).toEqual([]);
  });
});
