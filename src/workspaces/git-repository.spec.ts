import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainError, ErrorCode } from 'src/common';
import { Git, GitOptions, GitResult } from 'src/workspaces/git';
import { inspectDirectory, locateDirectory } from 'src/workspaces/git-repository';

/** `Git.run` through a plain spawn: what these functions ask git and read from its answer. */
const git = {
  run: (args: readonly string[], options: GitOptions): Promise<GitResult> => {
    const result = spawnSync('git', [...args], { cwd: options.cwd });
    return Promise.resolve({
      exitCode: result.status,
      signal: result.signal,
      stdout: result.stdout,
      stderr: result.stderr.toString('utf8'),
    } as unknown as GitResult);
  },
} as unknown as Git;

function commitIn(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const run = (...args: string[]) =>
    spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir });
  run('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'a.txt'), 'a\n');
  run('add', '-A');
  run('commit', '-qm', 'first');
}

describe('git repository locations', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = realpathSync(mkdtempSync(join(tmpdir(), 'cta-git-repo-')));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('reads a project in a subdirectory of a repository, its branch and commit', async () => {
    commitIn(join(tmp, 'repo'));
    mkdirSync(join(tmp, 'repo', 'app'));
    const repo = await inspectDirectory(git, join(tmp, 'repo', 'app'));
    expect(repo).toMatchObject({
      toplevel: join(tmp, 'repo'),
      prefix: 'app',
      gitDir: join(tmp, 'repo', '.git'),
      branch: 'main',
      head: expect.stringMatching(/^[0-9a-f]{40}$/) as unknown,
    });
  });

  it('answers project_path_invalid, not an error from a misread answer, when the repository path has a line break', async () => {
    const top = join(tmp, 'top\nrepo');
    commitIn(top);
    mkdirSync(join(top, 'app'));
    for (const probe of [inspectDirectory, locateDirectory]) {
      for (const dir of [top, join(top, 'app')]) {
        const error = await probe(git, dir).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DomainError);
        expect(error).toMatchObject({ code: ErrorCode.ProjectPathInvalid });
      }
    }
    // A worktree at a plain path whose repository's git directory has the line break.
    const worktree = join(tmp, 'plain-worktree');
    spawnSync('git', ['worktree', 'add', '-q', worktree], { cwd: top });
    const error = await inspectDirectory(git, worktree).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.ProjectPathInvalid });
  });

  it('still finds no repository around a directory with a line break outside git', async () => {
    const dir = join(tmp, 'plain\ndir');
    mkdirSync(dir);
    await expect(inspectDirectory(git, dir)).resolves.toBeNull();
  });
});
