import { lstatSync } from 'node:fs';
import { basename } from 'node:path';
import { WorkspaceRoot } from 'src/workspaces/workspace-root';
import { entryBranch, isInitializing, registeredEntry } from 'src/workspaces/worktree-files';

/**
 * A TASK'S WORKTREE WHEREVER IT LIES. Instances that share a database but not WORKSPACES_DIR
 * hand tasks to each other (a shutdown, a death): the task's workspace then lies under another
 * instance's WORKSPACES_DIR, and its branch is checked out there (git refuses a second checkout
 * of it). What is recorded on the task (its path, repository and branch: the server's own writes)
 * is trusted only as far as the repository confirms it: a directory named after a task that the
 * repository registered as its worktree, found through the entries in the repository's git
 * directory (`registeredEntry`), never through the worktree's own `.git` file (the agent's to
 * write). Read from the files, without starting git.
 */

/**
 * True when `path` is a task's worktree in the repository whose common git directory is
 * `gitDir`: named like a workspace (after `taskId`, when given) and registered there, with
 * `branch` checked out when given. Its directory may be gone: git lists it until pruned.
 */
export function isTaskWorktree(
  path: string,
  gitDir: string,
  want: { taskId?: string; branch?: string },
): boolean {
  return taskWorktreeEntry(path, gitDir, want) !== null;
}

/** The repository's entry of the task's worktree at `path` (`isTaskWorktree`); null when none. */
function taskWorktreeEntry(
  path: string,
  gitDir: string,
  want: { taskId?: string; branch?: string },
): string | null {
  const name = basename(path);
  if (!WorkspaceRoot.isWorkspaceName(name)) return null;
  if (want.taskId !== undefined && name !== want.taskId) return null;
  const entry = registeredEntry(path, gitDir);
  if (entry === null) return null;
  return want.branch === undefined || entryBranch(entry) === `refs/heads/${want.branch}`
    ? entry
    : null;
}

/**
 * True when task `taskId`'s workspace at `path` can be re-attached to on this host: its task's
 * worktree in `gitDir` (`isTaskWorktree`), its directory here (a directory, not a link), and its
 * creation complete.
 */
export function isAttachable(path: string, gitDir: string, taskId: string): boolean {
  if (!isPlainDirectory(path)) return false;
  const entry = taskWorktreeEntry(path, gitDir, { taskId });
  return entry !== null && !isInitializing(entry);
}

function isPlainDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}
