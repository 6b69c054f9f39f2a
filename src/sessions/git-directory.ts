import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';

/** What a repository's HEAD file holds: a symbolic ref under refs/, or a commit id. */
const HEAD_CONTENT = /^(ref: refs\/|[0-9a-f]{40}\s*$|[0-9a-f]{64}\s*$)/;

function isDirectory(place: string): boolean {
  return statSync(place, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** A HEAD longer than this is none git wrote. */
const MAX_HEAD_BYTES = 256;

/**
 * The start of `dir/HEAD` when it is a regular file (through links, as git reads it); opened
 * without blocking, so that a FIFO standing there cannot hold the event loop. Most directories
 * looked at have none (every parent of a project is looked at, at each of its tasks' creation
 * and start): a `stat` that finds none costs 1.2 µs, an `open` that throws 8.4.
 */
function readHead(dir: string): string | null {
  const head = path.join(dir, 'HEAD');
  let fd: number;
  try {
    if (statSync(head, { throwIfNoEntry: false })?.isFile() !== true) return null;
    fd = openSync(head, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    if (!fstatSync(fd).isFile()) return null;
    const buffer = Buffer.alloc(MAX_HEAD_BYTES);
    return buffer.subarray(0, readSync(fd, buffer, 0, MAX_HEAD_BYTES, 0)).toString('utf8');
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * True when `dir` is a git directory as git itself tells one (`is_git_directory` in git's
 * setup.c): a HEAD naming a ref or a commit beside `objects` and `refs` directories. A `.git`
 * is one, and so is a bare repository, whatever its name. A few small calls made at once, not
 * through the thread pool: each would wake the event loop.
 */
export function isGitDirectory(dir: string): boolean {
  const head = readHead(dir);
  if (head === null || !HEAD_CONTENT.test(head)) return false;
  return isDirectory(path.join(dir, 'objects')) && isDirectory(path.join(dir, 'refs'));
}

/** The git directory `real` (canonical) is or lies inside, nearest first; null when none. */
export function enclosingGitDirectory(real: string): string | null {
  for (let dir = real; ; dir = path.dirname(dir)) {
    if (isGitDirectory(dir)) return dir;
    if (path.dirname(dir) === dir) return null;
  }
}
