import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { chown, mkdtemp, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildIsolation } from 'src/process/child-isolation';

/**
 * A fresh temporary directory a child may write into (a JUnit report): private to the server,
 * or, when children run as another user, owned by that user (and still closed to everyone else).
 */
export async function childTempDir(isolation: ChildIsolation, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  if (isolation.identity !== null) await chown(dir, isolation.identity.uid, isolation.identity.gid);
  return dir;
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Reads a file a child wrote, at most `maxBytes` of it, refusing to follow a symbolic link or to
 * read anything but a regular file: a child cannot make the server read another file for it
 * (`report.xml -> /etc/shadow`). Null when there is no such regular file.
 */
export function readChildFile(path: string, maxBytes: number): string | null {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch {
    return null;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return null;
    // Sized by the file, not by the cap: a read allocates what it returns, never megabytes of
    // zeros. (What the file gains after the fstat is not read.)
    const buffer = Buffer.allocUnsafe(Math.min(maxBytes, stat.size));
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** `readChildFile` without blocking the event loop: the same refusals, the same bound. */
export async function readChildFileAsync(path: string, maxBytes: number): Promise<string | null> {
  const file = await open(path, READ_FLAGS).catch(() => null);
  if (file === null) return null;
  try {
    const stat = await file.stat();
    if (!stat.isFile()) return null;
    const buffer = Buffer.allocUnsafe(Math.min(maxBytes, stat.size));
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await file.close();
  }
}
