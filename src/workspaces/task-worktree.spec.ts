import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAttachable, isTaskWorktree } from 'src/workspaces/task-worktree';

describe("a task's worktree wherever it lies", () => {
  const taskId = '0b7e6c1a-5d4f-4e3b-8a6c-1f2d3e4a5b6c';
  let dir: string;
  let repo: string;
  let gitDir: string;
  let worktree: string;
  const git = (cwd: string, ...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
      cwd,
      encoding: 'utf8',
    }).trim();

  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'task-worktree-')));
    repo = join(dir, 'repo');
    execFileSync('git', ['init', '-q', repo]);
    writeFileSync(join(repo, 'a.txt'), 'a\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'first');
    gitDir = join(repo, '.git');
    mkdirSync(join(dir, 'other-instance'));
    worktree = join(dir, 'other-instance', taskId);
    git(repo, 'worktree', 'add', '-q', '-b', 'cta/task', worktree);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("is the task's registered worktree, on its branch when one is asked for", () => {
    expect(isTaskWorktree(worktree, gitDir, {})).toBe(true);
    expect(isTaskWorktree(worktree, gitDir, { taskId, branch: 'cta/task' })).toBe(true);
    expect(isTaskWorktree(worktree, gitDir, { branch: 'main' })).toBe(false);
    expect(
      isTaskWorktree(worktree, gitDir, { taskId: '1b7e6c1a-5d4f-4e3b-8a6c-1f2d3e4a5b6c' }),
    ).toBe(false);
    // The repository's own checkout, or a worktree not named like a task: never.
    expect(isTaskWorktree(repo, gitDir, {})).toBe(false);
    const named = join(dir, 'feature');
    git(repo, 'worktree', 'add', '-q', '-b', 'feature', named);
    expect(isTaskWorktree(named, gitDir, {})).toBe(false);
  });

  it('is not one of another repository, whatever its own .git file says', () => {
    const other = join(dir, 'other');
    execFileSync('git', ['init', '-q', other]);
    expect(isTaskWorktree(worktree, join(other, '.git'), {})).toBe(false);
    expect(isAttachable(worktree, join(other, '.git'), taskId)).toBe(false);
  });

  it("is attachable while its directory is here and its creation complete; still the task's once gone", () => {
    expect(isAttachable(worktree, gitDir, taskId)).toBe(true);
    git(repo, 'worktree', 'lock', '--reason', 'initializing', worktree);
    expect(isAttachable(worktree, gitDir, taskId)).toBe(false);
    git(repo, 'worktree', 'unlock', worktree);

    rmSync(worktree, { recursive: true, force: true });
    expect(isAttachable(worktree, gitDir, taskId)).toBe(false);
    expect(isTaskWorktree(worktree, gitDir, { branch: 'cta/task' })).toBe(true);
    // A link in its place is not the workspace.
    symlinkSync(repo, worktree);
    expect(isAttachable(worktree, gitDir, taskId)).toBe(false);
  });
});
