import { DomainError, ErrorCode } from 'src/common';

/**
 * A workspace could not be created, re-attached, committed or removed (a git command failed, the
 * directory is not the worktree it should be). Internal: a run that meets it fails its task with
 * `workspace_error`; the sweep logs it and tries again later.
 */
export class WorkspaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkspaceError';
  }
}

/**
 * A resumed task's workspace and branch are both missing here: it worked on another machine (whose
 * disk holds its work), or both were removed. Checking a new branch out at the base commit would
 * carry on as if nothing had been done, the work dropped without a word, so nothing is checked
 * out. Internal: a run that meets it fails its task with `workspace_missing`.
 */
export class WorkspaceMissingError extends WorkspaceError {
  constructor(message: string) {
    super(message);
    this.name = 'WorkspaceMissingError';
  }
}

/**
 * The repository's git configuration, hooks or `info/` files (`GitConfigFingerprint`) changed
 * since the task's workspace was ready for its agent (other than in the user's own settings,
 * `isUserSetting`): a filter, hook or driver set there would run in the server's `git add`, in
 * the merge and in the user's own git, and none of it is in the diff a reviewer reads. Nothing was run: the commit (or removal) is refused, and a run that meets it
 * fails its task with `git_config_changed`.
 */
export class GitConfigChangedError extends WorkspaceError {
  constructor(
    readonly gitDir: string,
    /** From the common git directory, sorted. */
    readonly paths: readonly string[],
    /**
     * The task that failed on this change, when it is another task's (`GitConfigQuarantine`: a
     * task is not started from it); null: a change since this task's own fingerprint.
     */
    readonly failedTask: FailedTask | null = null,
  ) {
    super(
      failedTask === null
        ? gitConfigChangedMessage(gitDir, paths)
        : quarantineMessage(gitDir, paths, failedTask),
    );
    this.name = 'GitConfigChangedError';
  }

  /**
   * The change as an answer to a request: 409 `git_config_changed` with its `details`, its message
   * followed by `then` when given.
   */
  asConflict(then: string | null = null): DomainError {
    return new DomainError(
      ErrorCode.GitConfigChanged,
      then === null ? this.message : `${this.message}: ${then}`,
      this.details(),
    );
  }

  /**
   * `check` as an answer to a request: what it throws as a `GitConfigChangedError` becomes that
   * change's 409 (`asConflict(then)`); anything else goes on as it is.
   */
  static async refusing(check: Promise<void>, then: string | null = null): Promise<void> {
    try {
      await check;
    } catch (error) {
      if (!(error instanceof GitConfigChangedError)) throw error;
      throw error.asConflict(then);
    }
  }

  /**
   * What an answer or a task's `error` record says of it: the files, and whose change it is when
   * that task may be named to whoever reads it.
   */
  details(): Record<string, unknown> {
    return this.failedTask?.named === true
      ? { files: this.paths, failed_task: this.failedTask.id }
      : { files: this.paths };
  }
}

/**
 * Another task of the repository that failed on the change: its id, and whether whoever is told of
 * the change (a request's key, a task's owner reading its record) may see that task (`canSee`).
 * Not named, neither its id nor the advice to delete it is given (the task is another key's, for
 * which the API answers 404): its owner or an administrator has to act.
 */
export interface FailedTask {
  id: string;
  named: boolean;
}

/**
 * Which of the repository's git files at `gitDir` changed since the task's workspace was ready, and
 * why the server's git does not run through them, in words.
 */
function gitConfigChangedMessage(gitDir: string, paths: readonly string[]): string {
  return (
    `The repository's git configuration changed since the task's workspace was set up (in ${gitDir}: ${listed(paths)}; upstreams, remotes and user.name/email aside): ` +
    'a filter, hook or driver set there would run in git without showing in the diff, so the ' +
    "server's git did not run through it"
  );
}

/** Why a task does not start from a change to the repository's git configuration that failed `failedTask`. */
function quarantineMessage(
  gitDir: string,
  paths: readonly string[],
  failedTask: FailedTask,
): string {
  const why =
    "a filter, hook or driver set there would run in the server's git for the repository's tasks (a checkout, a setup command, a commit, a merge), so none of it runs until then. ";
  if (!failedTask.named) {
    return (
      `The repository's git configuration still holds a change that failed a task of the repository that is not this key's (in ${gitDir}: ${listed(paths)}): ` +
      why +
      "An administrator, or that task's owner, has to undo the change, or delete that task to accept the configuration as it is now"
    );
  }
  return (
    `The repository's git configuration still holds the change that failed task ${failedTask.id} (in ${gitDir}: ${listed(paths)}): ` +
    why +
    `Undo the change, or delete task ${failedTask.id} to accept the configuration as it is now`
  );
}

const listed = (paths: readonly string[]): string =>
  paths.slice(0, 20).join(', ') + (paths.length > 20 ? ', ...' : '');
