import {
  chownSync,
  closeSync,
  constants,
  Dir,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdtempSync,
  opendirSync,
  openSync,
  read,
  readdirSync,
  readSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { smallDirectoryEntries } from 'src/common';
import { ChildIsolation } from 'src/process/child-isolation';
import { isDirectoryInUse, isProcessAlive } from 'src/process/process-group';

/**
 * A fresh temporary directory a child may write into (a JUnit report): private to the server,
 * or, when children run as another user, owned by that user (and still closed to everyone else).
 * One `mkdir` (and `chown`), made at once: through the thread pool each would be a wake-up of the
 * event loop. Its name, `<prefix><this server's pid>-<random>`, says whose it is
 * (`orphanedChildTempDirs`).
 */
export function childTempDir(isolation: ChildIsolation, prefix: string): string {
  const dir = serverTempDir(prefix);
  if (isolation.identity !== null) chownSync(dir, isolation.identity.uid, isolation.identity.gid);
  return dir;
}

/** A fresh temporary directory of the server's, named as `childTempDir` names its own. */
function serverTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}${process.pid}-`));
}

/**
 * A directory as `childTempDir` makes one, with files the server writes there first (`fill`
 * writes them, and returns their paths) while it is still the server's alone: the children's user
 * gets it and them only after, so nothing a child does can send those writes elsewhere (a
 * directory it owns in `/tmp` it may rename, and put a link in its place). On failure the
 * directory is removed.
 */
export async function filledChildTempDir(
  isolation: ChildIsolation,
  prefix: string,
  fill: (dir: string) => Promise<readonly string[]>,
): Promise<string> {
  const dir = serverTempDir(prefix);
  try {
    const files = await fill(dir);
    const owner = isolation.identity;
    if (owner !== null) {
      for (const path of [...files, dir]) chownSync(path, owner.uid, owner.gid);
    }
    return dir;
  } catch (error) {
    await removeChildTempDir(dir);
    throw error;
  }
}

/** Entries a child's temporary directory may hold to be removed at once (`removeChildTempDir`). */
const REMOVE_AT_ONCE_ENTRIES = 64;

/**
 * Removes a directory of `childTempDir` and what a child wrote in it. The usual case, a few files
 * (a JUnit report), is removed at once: a `readdir`, an `unlink` each and a `rmdir`, where
 * `fs.promises.rm` sends five or more calls through the thread pool, each a wake-up of the loop.
 * A directory in it, more than REMOVE_AT_ONCE_ENTRIES entries (a child can write anything there)
 * or anything that fails go through `fs.promises.rm`, which never holds the loop for long.
 */
export async function removeChildTempDir(dir: string): Promise<void> {
  if (removedAtOnce(dir)) return;
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

function removedAtOnce(dir: string): boolean {
  const names = plainEntries(dir);
  if (names === 'gone') return true;
  if (names === null) return false;
  try {
    for (const name of names) unlinkSync(join(dir, name));
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * The names in `dir` when it holds at most REMOVE_AT_ONCE_ENTRIES entries and no directory; null
 * when it holds more, a directory, or cannot be read; 'gone' when it is not there.
 */
function plainEntries(dir: string): string[] | null | 'gone' {
  let entries: Dir;
  try {
    const stat = lstatSync(dir, { throwIfNoEntry: false });
    if (stat === undefined) return 'gone';
    // A link put in its place is removed by `rm`, which never follows it.
    if (!stat.isDirectory()) return null;
    const small = smallDirectoryEntries(dir, stat.size);
    if (small !== null) {
      const plain = small.length <= REMOVE_AT_ONCE_ENTRIES && !small.some((e) => e.isDirectory());
      return plain ? small.map((entry) => entry.name) : null;
    }
    entries = opendirSync(dir);
  } catch {
    return null;
  }
  const names: string[] = [];
  try {
    for (let entry = entries.readSync(); entry !== null; entry = entries.readSync()) {
      if (entry.isDirectory() || names.length === REMOVE_AT_ONCE_ENTRIES) return null;
      names.push(entry.name);
    }
  } catch {
    return null;
  } finally {
    entries.closeSync();
  }
  return names;
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Files up to this size are read at once by `readChildFileAsync`; larger ones a read at a time. */
const READ_AT_ONCE_BYTES = 256 * 1024;

/**
 * Opens `path` for reading, refusing to follow a symbolic link or to open anything but a regular
 * file. Null when there is no such regular file.
 */
function openRegularFile(path: string): { fd: number; size: number; uid: number } | null {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch {
    return null;
  }
  const stat = fstatSync(fd);
  if (stat.isFile()) return { fd, size: stat.size, uid: stat.uid };
  closeSync(fd);
  return null;
}

/**
 * Writes `bytes` over a file a child keeps (its git index), in place: only an existing regular
 * file that `owner` owns and that has no other name (a hard link), opened without following a
 * symbolic link or waiting on a FIFO. Whatever the child made of the path or the directories on
 * the way (a link to a file of another user), the server then writes only what `owner` could
 * write itself. Throws when refused, before anything is written.
 */
export function rewriteChildFile(path: string, bytes: Buffer, owner: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.uid !== owner || stat.nlink !== 1) {
      throw new Error(
        `${path} is not a regular file of the children's user with one name: not written`,
      );
    }
    ftruncateSync(fd, 0);
    for (let written = 0; written < bytes.length; ) {
      written += writeSync(fd, bytes, written, bytes.length - written, written);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a file a child wrote, at most `maxBytes` of it, refusing to follow a symbolic link or to
 * read anything but a regular file: a child cannot make the server read another file for it
 * (`report.xml -> /etc/shadow`). Null when there is no such regular file.
 */
export function readChildFile(path: string, maxBytes: number): string | null {
  const file = openRegularFile(path);
  if (file === null) return null;
  try {
    return readOpened(file.fd, Math.min(maxBytes, file.size));
  } finally {
    closeSync(file.fd);
  }
}

/**
 * The first `size` bytes of an open file as text. The buffer is sized by the file, not by the cap:
 * a read allocates what it returns, never megabytes of zeros. (What the file gains after the
 * fstat is not read.)
 */
function readOpened(fd: number, size: number): string {
  return readOpenedBytes(fd, size).toString('utf8');
}

function readOpenedBytes(fd: number, size: number): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  let length = 0;
  while (length < buffer.length) {
    const got = readSync(fd, buffer, length, buffer.length - length, null);
    if (got === 0) break;
    length += got;
  }
  return buffer.subarray(0, length);
}

const readAsync = promisify(read);

/**
 * `readChildFile` without holding the event loop for a large file: the same refusals, the same
 * bound. The open and the `fstat` are made at once, and so is the read of a file up to
 * READ_AT_ONCE_BYTES (a JUnit report, a test file: each call through the thread pool is a
 * wake-up of the loop); a larger one is read through the thread pool.
 */
export async function readChildFileAsync(path: string, maxBytes: number): Promise<string | null> {
  const file = openRegularFile(path);
  if (file === null) return null;
  try {
    return (await readOpenedAsync(file.fd, Math.min(maxBytes, file.size))).toString('utf8');
  } finally {
    closeSync(file.fd);
  }
}

/**
 * A file a child wrote, whole, as `readChildFileAsync` reads it (the same refusals, a small file
 * read at once); null also when it is larger than `maxBytes`: for a file only its whole content
 * makes sense of (git's index).
 */
export async function readWholeChildFileAsync(
  path: string,
  maxBytes: number,
): Promise<Buffer | null> {
  const file = openRegularFile(path);
  if (file === null) return null;
  try {
    return file.size > maxBytes ? null : await readOpenedAsync(file.fd, file.size);
  } finally {
    closeSync(file.fd);
  }
}

/**
 * The first `size` bytes of an open file: read at once up to READ_AT_ONCE_BYTES, else through the
 * thread pool.
 */
async function readOpenedAsync(fd: number, size: number): Promise<Buffer> {
  if (size <= READ_AT_ONCE_BYTES) return readOpenedBytes(fd, size);
  const buffer = Buffer.allocUnsafe(size);
  let length = 0;
  while (length < buffer.length) {
    const { bytesRead } = await readAsync(fd, buffer, length, buffer.length - length, null);
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  return buffer.subarray(0, length);
}

/** How much of a file `copyChildFile` holds in memory at a time. */
const COPY_CHUNK_BYTES = 1024 * 1024;

/**
 * Copies a file a child wrote to `target`, byte for byte, refusing to follow a symbolic link at
 * either end or to read anything but a regular file (as `readChildFile`), and, with `owner`, a
 * file another user owns: where the child could have chosen the path (a link on the way to it),
 * the copy then holds nothing it could not read itself. False when there is no such file;
 * throws when it is larger than `maxBytes` (a prefix of it could be taken for the whole), when
 * `owner` does not own it, or when `target` is a symbolic link.
 */
export async function copyChildFile(
  path: string,
  target: string,
  maxBytes: number,
  owner?: number,
): Promise<boolean> {
  const file = openRegularFile(path);
  if (file === null) return false;
  try {
    if (owner !== undefined && file.uid !== owner) {
      throw new Error(
        `${path} is not the children's user's (owned by uid ${file.uid}): not copied`,
      );
    }
    if (file.size > maxBytes) {
      throw new Error(`${path} is larger than ${maxBytes} bytes (${file.size}): not copied`);
    }
    const out = await open(
      target,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      0o644,
    );
    try {
      // The size the file had when it was opened, no more: a child appending to it meanwhile
      // cannot make the copy grow past the bound.
      const buffer = Buffer.allocUnsafe(Math.min(COPY_CHUNK_BYTES, Math.max(1, file.size)));
      for (let copied = 0; copied < file.size; ) {
        const want = Math.min(buffer.length, file.size - copied);
        const { bytesRead } = await readAsync(file.fd, buffer, 0, want, null);
        if (bytesRead === 0) break;
        await out.write(buffer, 0, bytesRead);
        copied += bytesRead;
      }
    } finally {
      await out.close();
    }
    return true;
  } finally {
    closeSync(file.fd);
  }
}

/**
 * The directories of `childTempDir` with `prefix` that a server which is gone left behind (it was
 * killed before it removed them), and that no process works in: a running server's are never
 * among them, whichever server asks.
 */
export function orphanedChildTempDirs(prefix: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir());
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const pid = entry.startsWith(prefix)
      ? /^(\d+)-/.exec(entry.slice(prefix.length))?.[1]
      : undefined;
    if (pid === undefined || isProcessAlive(Number(pid))) return [];
    const dir = join(tmpdir(), entry);
    return isDirectoryInUse(dir) ? [] : [dir];
  });
}

/** Removes the orphaned directories of `childTempDir` with any of `prefixes`; how many there were. */
export async function removeOrphanedChildTempDirs(...prefixes: string[]): Promise<number> {
  const orphans = prefixes.flatMap((prefix) => orphanedChildTempDirs(prefix));
  for (const dir of orphans) await removeChildTempDir(dir);
  return orphans.length;
}
