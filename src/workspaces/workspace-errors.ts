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
