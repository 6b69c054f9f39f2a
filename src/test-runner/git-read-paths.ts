import { existsSync } from 'fs';
import { join, resolve, sep } from 'path';
import { gitdirPointer, pointerFileValue } from 'src/common';
import { readChildFile } from 'src/process';

/** Largest `.git` or `commondir` file read (a path and a newline). */
const MAX_POINTER_BYTES = 4096;

/** True when `path` is `dir` or lies below it. */
function inside(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/**
 * What a `git` command run in `projectPath` must be able to read outside it, where a sandbox
 * shows a command only its own directory: the `.git` of the work tree's top when the project
 * lies below it, and for a linked work tree (a task's worktree: `.git` is a file saying
 * `gitdir: <dir>`) that git directory and the repository's common one (its `commondir`), when they
 * look like them (a `HEAD`, an `objects` directory). Read from the file system (the pointer files
 * as a child may have written them: regular files only, no link followed); only paths that exist.
 */
export function gitReadPaths(top: string, projectPath: string): string[] {
  const dotGit = join(top, '.git');
  const paths = [dotGit];
  const pointer = readChildFile(dotGit, MAX_POINTER_BYTES);
  const gitDir = pointer === null ? null : gitdirPointer(pointer);
  if (gitDir) {
    // Only what looks like a work tree's git directory and its repository's: the pointer is the
    // agent's to write, and what is shown here is shown over the sandbox's masks.
    const dir = resolve(top, gitDir);
    const commonText = readChildFile(join(dir, 'commondir'), MAX_POINTER_BYTES);
    const common = commonText === null ? '' : pointerFileValue(commonText);
    const commonDir = common ? resolve(dir, common) : null;
    if (
      existsSync(join(dir, 'HEAD')) &&
      commonDir !== null &&
      existsSync(join(commonDir, 'objects'))
    ) {
      paths.push(dir, commonDir);
    }
  }
  return [...new Set(paths)].filter((p) => !inside(projectPath, p) && existsSync(p));
}
