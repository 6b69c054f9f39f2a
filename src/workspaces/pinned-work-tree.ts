import { dirname } from 'node:path';
import type { GitOptions } from 'src/workspaces/git';
import { registeredEntry } from 'src/workspaces/worktree-files';

/**
 * Where the server's git runs for a directory of a work tree: the directory, and where it lies in
 * a task's worktree, that worktree's entry in its repository and the worktree itself, given to
 * git (`--git-dir`, `--work-tree`) so that it reads no `.git` on its way. Each `.git` there is the
 * agent's to write, in a sandbox too: the worktree's `.git` file pointed at a git directory of its
 * own (at any time, by a process of its tests), or a `.git` planted in a project's subdirectory,
 * whose configuration holds a clean filter that the verification's `git diff` would run outside
 * the sandbox.
 */
export type GitPlace = Pick<GitOptions, 'cwd' | 'gitDir' | 'workTree'>;

/**
 * `directory` as a `GitPlace`: pinned to the nearest worktree at or above it that the repository
 * whose common git directory is `commonDir` lists (`registeredEntry`, read from the repository,
 * not from a `.git`); unpinned (git finds its repository as usual) in a checkout it lists none
 * for: the repository's own, where a task runs in place.
 */
export function gitPlaceOf(directory: string, commonDir: string | null): GitPlace {
  if (commonDir === null) return { cwd: directory };
  for (let dir = directory; ; dir = dirname(dir)) {
    const entry = registeredEntry(dir, commonDir);
    if (entry !== null) return { cwd: directory, gitDir: entry, workTree: dir };
    if (dirname(dir) === dir) return { cwd: directory };
  }
}

/** The pinned git directory and work tree of `place`, or null where it is not pinned. */
export function pinOf(place: GitPlace): { gitDir: string; workTree: string } | null {
  return place.gitDir !== undefined && place.workTree !== undefined
    ? { gitDir: place.gitDir, workTree: place.workTree }
    : null;
}
