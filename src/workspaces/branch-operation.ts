import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readChildFile } from 'src/process';

/** A rebase or a bisect under way on a branch, in one of the repository's worktrees. */
export interface BranchOperation {
  operation: 'rebase' | 'bisect';
  /** The file of the worktree's own git directory that says so. */
  file: string;
}

/** The git directories of the repository's worktrees: the main one's, then each linked one's. */
function worktreeGitDirs(gitDir: string): string[] {
  try {
    const linked = readdirSync(join(gitDir, 'worktrees'), { withFileTypes: true });
    return [
      gitDir,
      ...linked.filter((e) => e.isDirectory()).map((e) => join(gitDir, 'worktrees', e.name)),
    ];
  } catch {
    return [gitDir];
  }
}

/**
 * THE REBASE OR BISECT THAT HOLDS `branch` (`main`) in any worktree of the repository whose
 * common git directory is `gitDir`, found as git itself finds it before it moves a branch
 * (`git branch -f` refuses one "being rebased" or "being bisected"), or null. A rebase names the
 * branch's ref in `rebase-merge/head-name` (`rebase-apply/head-name`) and, once it ends, moves
 * it from where it was when the rebase began: moved by anyone else meanwhile, the rebase's
 * last step fails and leaves its user stuck half-way. A bisect names the branch in
 * `BISECT_START` and checks it out again at `git bisect reset`. The files are read without
 * following a link, bounded: the agent can write them too.
 */
export function branchOperation(gitDir: string, branch: string): BranchOperation | null {
  const read = (file: string): string | null => readChildFile(file, 4096)?.trim() ?? null;
  for (const dir of worktreeGitDirs(gitDir)) {
    for (const state of ['rebase-merge', 'rebase-apply']) {
      const file = join(dir, state, 'head-name');
      if (read(file) === `refs/heads/${branch}`) return { operation: 'rebase', file };
    }
    const file = join(dir, 'BISECT_START');
    if (read(file) === branch) return { operation: 'bisect', file };
  }
  return null;
}
