import { realpathSync, statSync } from 'node:fs';

/**
 * The directory a child process was to run in cannot be found, is not a directory any more, or
 * now resolves elsewhere (a symlink swapped in). Internal: a run that meets it fails its task with
 * `project_unavailable`; it never reaches a client as such.
 */
export class WorkingDirectoryGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkingDirectoryGoneError';
  }
}

/**
 * `dir`'s real path, which must be an existing directory; with `exact`, `dir` must already be
 * that real path (re-checked right before spawning, so no symlink can be swapped in). `server`
 * names this server in the message of a directory not found (`serverName`): it may exist on the
 * server that accepted the task (instances that share a database need not see the same
 * directories), so its absence here is not told as its deletion.
 */
export function checkWorkingDirectory(dir: string, server: string, exact = false): string {
  let real: string;
  try {
    // realpath(3), one call, where the JavaScript one lstat()s each part of the path.
    real = realpathSync.native(dir);
  } catch {
    throw new WorkingDirectoryGoneError(
      `directory ${dir} cannot be found on this server (${server})`,
    );
  }
  if (exact && real !== dir) {
    throw new WorkingDirectoryGoneError(
      `directory ${dir} now resolves to ${real}; refusing to run there`,
    );
  }
  if (!statSync(real).isDirectory()) {
    throw new WorkingDirectoryGoneError(`${dir} is not a directory`);
  }
  return real;
}
