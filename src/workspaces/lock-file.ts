import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { currentProcess, isProcessGone, ProcessIdentity } from 'src/process';

/**
 * A LOCK FILE SHARED BY PROCESSES ON ONE HOST (server instances working on one repository), that
 * a crash never leaves blocking:
 *
 * - Taken by creating the file exclusively (`O_CREAT|O_EXCL`) with its holder's identity (host,
 *   PID namespace, pid and the pid's start time) in it.
 * - The holder touches it every `staleMs / 4`. A lock is stale, and taken over, when its holder
 *   is a process of this host that is gone (at once: no waiting after a crash), or when it was
 *   not touched for `staleMs` (a holder elsewhere that died, or one whose file was never
 *   written).
 * - A stale lock is moved aside with `rename` (atomic) and checked to be the very file judged
 *   stale (its inode); a fresh lock moved by mistake in a race is linked back.
 * - Released by unlinking it, only while it is still the holder's own file (its token).
 */

export interface LockFileOptions {
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

async function readHolder(path: string): Promise<Holder | null> {
  try {
    const handle = await fs.open(path, 'r');
    try {
      const stat = await handle.stat();
      const text = await handle.readFile('utf8');
      return { ino: stat.ino, mtimeMs: stat.mtimeMs, text, record: parseRecord(text) };
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (errno(error) === 'ENOENT') return null;
    throw error;
  }
}

function isStale(holder: Holder, staleMs: number): boolean {
  if (holder.record !== null && isProcessGone(holder.record)) return true;
  return Date.now() - holder.mtimeMs > staleMs;
}

/**
 * Moves a stale lock aside, making sure it is the file judged stale (same inode, modification
 * time and content; a new holder's file differs in its token and time even on a reused inode).
 */
async function breakStale(path: string, holder: Holder, token: string): Promise<boolean> {
  const aside = `${path}.stale-${token}`;
  try {
    await fs.rename(path, aside);
  } catch (error) {
    if (errno(error) === 'ENOENT') return false;
    throw error;
  }
  try {
    const moved = await readHolder(aside);
    const same =
      moved !== null &&
      moved.ino === holder.ino &&
      moved.mtimeMs === holder.mtimeMs &&
      moved.text === holder.text;
    if (same) return true;
    // Between the look and the move another process took the lock: give it back.
    await fs.link(aside, path).catch(() => undefined);
    return false;
  } finally {
    await fs.unlink(aside).catch(() => undefined);
  }
}

/** Creates `path` with `content` unless it exists; false when it existed. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'wx', 0o644);
  } catch (error) {
    if (errno(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(content);
    return true;
  } catch (error) {
    await fs.unlink(path).catch(() => undefined);
    throw error;
  } finally {
    await handle.close();
  }
}

/** Takes the lock at `path`, waiting while a live process holds it. */
export async function acquireLockFile(path: string, options: LockFileOptions): Promise<HeldLock> {
  const token = randomBytes(8).toString('hex');
  const record: LockRecord = { ...currentProcess(), token };
  const content = JSON.stringify(record);
  const started = Date.now();
  let delayMs = 5;
  for (;;) {
    if (await createExclusive(path, content)) break;
    const holder = await readHolder(path);
    if (holder === null) continue;
    if (isStale(holder, options.staleMs)) {
      if (await breakStale(path, holder, token)) options.onStale?.(path, holder.record);
      continue;
    }
    const waited = Date.now() - started;
    if (waited > options.waitMs) throw new LockTimeoutError(path, holder.record, waited);
    await sleep(delayMs + Math.random() * delayMs);
    delayMs = Math.min(delayMs * 2, 200);
  }

  let lost = false;
  const stillMine = async (): Promise<boolean> => {
    const holder = await readHolder(path).catch(() => null);
    return holder?.record?.token === token;
  };
  const heartbeat = setInterval(
    () => {
      void (async () => {
        if (!(await stillMine())) {
          if (!lost) options.onLost?.(path);
          lost = true;
          return;
        }
        const now = new Date();
        await fs.utimes(path, now, now).catch(() => undefined);
      })();
    },
    Math.max(50, Math.floor(options.staleMs / 4)),
  );
  heartbeat.unref();
  return {
    release: async () => {
      clearInterval(heartbeat);
      if (await stillMine()) await fs.unlink(path).catch(() => undefined);
    },
  };
}
