import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** Another server process uses the SQLite file. */
export class DatabaseInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseInUseError';
  }
}

interface LockOwner {
  pid: number;
  /** The process's start time (/proc/<pid>/stat, clock ticks): tells a reused pid apart. */
  started: string | null;
}

/**
 * The locks this process holds, by lock file: its kernel lock (`holdKernelLock`) and how many
 * holders share it (several apps in one process).
 */
const held = new Map<string, { holders: number; kernel: Database.Database }>();

/**
 * An exclusive SQLite lock on `file` (a POSIX record lock the kernel keeps for this process, and
 * drops however it ends), held until the returned connection closes; null while another process
 * holds it. Unlike the pid in the lock file, it is seen by a server in another PID namespace (a
 * container sharing the volume), whose process `/proc` here does not show.
 */
function holdKernelLock(file: string): Database.Database | null {
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    return db;
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return null;
    throw error;
  }
}

function inUse(databaseFile: string, pid: number | null): DatabaseInUseError {
  const who = pid === null ? 'a process this one cannot see, in another container?' : `pid ${pid}`;
  return new DatabaseInUseError(
    `${databaseFile} is used by another server (${who}); a SQLite database serves one server process: run several instances on MySQL/MariaDB`,
  );
}

/** The process's state and start time from /proc/<pid>/stat; null when it does not exist. */
function statOf(pid: number): { state: string; started: string | null } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', started: fields[19] ?? null };
  } catch {
    return null;
  }
}

function readOwner(lockFile: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(lockFile, 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number'
      ? { pid: owner.pid, started: typeof owner.started === 'string' ? owner.started : null }
      : null;
  } catch {
    return null;
  }
}

/**
 * True while the process that wrote `owner` still runs (its pid, with the same start time). A
 * killed server is a zombie until its parent reaps it (a container's first process may take its
 * time, or never): a zombie runs nothing.
 */
function isRunning(owner: LockOwner): boolean {
  const stat = statOf(owner.pid);
  if (stat === null || stat.state === 'Z' || stat.state === 'X') return false;
  return stat.started !== null && (owner.started === null || owner.started === stat.started);
}

function removeStale(lockFile: string): void {
  try {
    unlinkSync(lockFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Writes this process's pid to the database's `.lock`, taking over one a dead server left. */
function writeOwnLock(databaseFile: string): void {
  const lockFile = `${databaseFile}.lock`;
  const me: LockOwner = { pid: process.pid, started: statOf(process.pid)?.started ?? null };
  for (;;) {
    try {
      writeFileSync(lockFile, JSON.stringify(me), { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(lockFile);
    if (owner !== null && owner.pid !== process.pid && isRunning(owner)) {
      throw inUse(databaseFile, owner.pid);
    }
    removeStale(lockFile);
  }
}

/**
 * ONE SQLITE FILE, ONE SERVER. SQLite serves one server process: two would each run their own
 * queue on one file (several instances need MySQL/MariaDB). The first server holds a kernel lock
 * on `<database>.server-lock` (`holdKernelLock`) and writes `<database>.lock` with its pid and
 * start time; another process that finds either held by a running server refuses with
 * `DatabaseInUseError`; a lock left by a server that died is taken over. Apps within one process
 * share the lock. Returns the release function.
 */
export function acquireSqliteLock(databaseFile: string): () => void {
  const lockFile = `${databaseFile}.lock`;
  let lock = held.get(lockFile);
  if (lock === undefined) {
    mkdirSync(dirname(lockFile), { recursive: true });
    const kernel = holdKernelLock(`${databaseFile}.server-lock`);
    if (kernel === null) throw inUse(databaseFile, readOwner(lockFile)?.pid ?? null);
    try {
      writeOwnLock(databaseFile);
    } catch (error) {
      kernel.close();
      throw error;
    }
    lock = { holders: 0, kernel };
    held.set(lockFile, lock);
  }
  const shared = lock;
  shared.holders += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    shared.holders -= 1;
    if (shared.holders > 0) return;
    held.delete(lockFile);
    if (readOwner(lockFile)?.pid === process.pid) unlinkSync(lockFile);
    shared.kernel.close();
  };
}
