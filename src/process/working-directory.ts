import { realpathSync, statSync } from 'node:fs';

/**
 * The directory a child process was to run in is gone, is not a directory any more, or now
 * resolves elsewhere (a symlink swapped in). Internal: a run that meets it fails its task with
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
 * that real path (re-checked right before spawning, so no symlink can be swapped in).
 */
export function checkWorkingDirectory(dir: string, exact = false): string {
  let real: string;
  try {
    // realpath(3), one call, where the JavaScript one lstat()s each part of the path.
    real = realpathSync.native(dir);
  } catch {
    throw new WorkingDirectoryGoneError(`directory ${dir} does not exist any more`);
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
