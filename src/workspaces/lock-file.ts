import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { setImmediate } from 'node:timers/promises';
import { currentProcess, isProcessGone, ProcessIdentity } from 'src/process';

/**
 * A LOCK FILE SHARED BY PROCESSES ON ONE HOST (server instances working on one repository), that
 * a crash never leaves blocking:
 *
 * - Taken by creating the file exclusively (`O_CREAT|O_EXCL`) with its holder's identity (host:
 *   HOST_ID or the hostname, PID namespace, pid and the pid's start time) in it.
 * - The holder touches it every `staleMs / 4`. A lock is stale, and taken over, when its holder
 *   is a process of this host that is gone (at once: no waiting after a crash), or when it was
 *   not touched for `staleMs` (a holder elsewhere that died, or one whose file was never
 *   written).
 * - A stale lock is moved aside with `rename` (atomic) and checked to be the very file judged
 *   stale (its inode); a fresh lock moved by mistake in a race is linked back.
 * - Released by unlinking it, only while it is still the holder's own file (its token).
 *
 * Its file operations are synchronous: each is one system call on a file of a few hundred bytes
 * in the repository's git directory, cheaper for the event loop than the bookkeeping of an
 * asynchronous one (a 200-byte read: 16 µs of CPU, against 167 through `fs.promises` and the
 * thread pool; test/bench/RESULTS.md). The lock is read without following a symbolic link or
 * waiting on a FIFO (`O_NOFOLLOW`, `O_NONBLOCK`; only a regular file's content counts), at most
 * `MAX_RECORD_BYTES`: a file put there by another hand cannot hang or flood the server.
 */

export interface LockFileOptions {
  /**
   * This machine's name (`hostId`: HOST_ID, else the hostname): a holder is judged by its pid
   * only when it names this machine.
   */
  host: string;
  /** A lock not touched for this long is stale. */
  staleMs: number;
  /** Longest wait for a live holder before giving up with `LockTimeoutError`. */
  waitMs: number;
  /** Told when a held lock is found taken over (its holder looked dead or hung). */
  onLost?: (path: string) => void;
  /** Told when a stale lock is taken over. */
  onStale?: (path: string, holder: ProcessIdentity | null) => void;
}

export interface HeldLock {
  release(): Promise<void>;
}

/** The lock stayed held by a live process for longer than the wait allowed. */
export class LockTimeoutError extends Error {
  constructor(
    readonly path: string,
    readonly holder: ProcessIdentity | null,
    waitedMs: number,
  ) {
    super(
      `${path} stayed locked for ${waitedMs} ms` +
        (holder ? ` by pid ${holder.pid} on ${holder.host}` : ''),
    );
    this.name = 'LockTimeoutError';
  }
}

interface LockRecord extends ProcessIdentity {
  token: string;
}

interface Holder {
  ino: number;
  mtimeMs: number;
  text: string;
  record: LockRecord | null;
}

/** Longest lock record read; a record is about 200 bytes. */
const MAX_RECORD_BYTES = 4096;

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

function parseRecord(text: string): LockRecord | null {
  try {
    const value = JSON.parse(text) as Partial<LockRecord> | null;
    if (
      value === null ||
      typeof value.host !== 'string' ||
      typeof value.pidNamespace !== 'string' ||
      typeof value.pid !== 'number' ||
      typeof value.token !== 'string'
    ) {
      return null;
    }
    return {
      host: value.host,
      pidNamespace: value.pidNamespace,
      pid: value.pid,
      startTime: typeof value.startTime === 'string' ? value.startTime : null,
      token: value.token,
    };
  } catch {
    return null;
  }
}

function readHolder(path: string): Holder | null {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (error) {
    if (errno(error) === 'ENOENT') return null;
    if (errno(error) !== 'ELOOP') throw error;
    // A symbolic link (dangling or not) where the lock goes: a holder with no record, stale
    // once the link is old enough, and then moved aside like any other.
    const link = lstatSync(path);
    return { ino: link.ino, mtimeMs: link.mtimeMs, text: '', record: null };
  }
  try {
    const stat = fstatSync(fd);
    let text = '';
    if (stat.isFile()) {
      const buffer = Buffer.allocUnsafe(Math.min(stat.size, MAX_RECORD_BYTES));
      text = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
    }
    return { ino: stat.ino, mtimeMs: stat.mtimeMs, text, record: parseRecord(text) };
  } finally {
    closeSync(fd);
  }
}

/** The token of the lock at `path`; null when there is none or it cannot be read. */
function tokenIn(path: string): string | null {
  try {
    return readHolder(path)?.record?.token ?? null;
  } catch {
    return null;
  }
}

function isStale(holder: Holder, options: LockFileOptions): boolean {
  if (holder.record !== null && isProcessGone(holder.record, options.host)) return true;
  return Date.now() - holder.mtimeMs > options.staleMs;
}

/**
 * Moves a stale lock aside, making sure it is the file judged stale (same inode, modification
 * time and content; a new holder's file differs in its token and time even on a reused inode).
 */
function breakStale(path: string, holder: Holder, token: string): boolean {
  const aside = `${path}.stale-${token}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if (errno(error) === 'ENOENT') return false;
    throw error;
  }
  try {
    const moved = readHolder(aside);
    const same =
      moved !== null &&
      moved.ino === holder.ino &&
      moved.mtimeMs === holder.mtimeMs &&
      moved.text === holder.text;
    if (same) return true;
    // Between the look and the move another process took the lock: give it back.
    ignoreFailure(() => linkSync(aside, path));
    return false;
  } finally {
    ignoreFailure(() => unlinkSync(aside));
  }
}

function ignoreFailure(operation: () => void): void {
  try {
    operation();
  } catch {
    // The caller goes on either way.
  }
}

/** Creates `path` with `content` unless it exists; false when it existed. */
function createExclusive(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (error) {
    if (errno(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    writeFileSync(fd, content);
    return true;
  } catch (error) {
    ignoreFailure(() => unlinkSync(path));
    throw error;
  } finally {
    closeSync(fd);
  }
}

/** Takes the lock at `path`, waiting while a live process holds it. */
export async function acquireLockFile(path: string, options: LockFileOptions): Promise<HeldLock> {
  const token = randomBytes(8).toString('hex');
  const record: LockRecord = { ...currentProcess(options.host), token };
  const content = JSON.stringify(record);
  const started = Date.now();
  let delayMs = 5;
  for (;;) {
    if (createExclusive(path, content)) break;
    const holder = readHolder(path);
    if (holder === null) {
      // Let go before the next try: every step here is synchronous.
      await setImmediate();
      continue;
    }
    if (isStale(holder, options)) {
      if (breakStale(path, holder, token)) options.onStale?.(path, holder.record);
      continue;
    }
    const waited = Date.now() - started;
    if (waited > options.waitMs) throw new LockTimeoutError(path, holder.record, waited);
    await sleep(delayMs + Math.random() * delayMs);
    delayMs = Math.min(delayMs * 2, 200);
  }

  let lost = false;
  const stillMine = (): boolean => tokenIn(path) === token;
  const heartbeat = setInterval(
    () => {
      if (!stillMine()) {
        if (!lost) options.onLost?.(path);
        lost = true;
        return;
      }
      const now = new Date();
      ignoreFailure(() => utimesSync(path, now, now));
    },
    Math.max(50, Math.floor(options.staleMs / 4)),
  );
  heartbeat.unref();
  return {
    release: () => {
      clearInterval(heartbeat);
      if (stillMine()) ignoreFailure(() => unlinkSync(path));
      return Promise.resolve();
    },
  };
}
