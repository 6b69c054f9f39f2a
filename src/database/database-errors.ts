import { setTimeout as sleep } from 'node:timers/promises';

/** Driver error codes of a write that referenced a row another request had just deleted. */
const FOREIGN_KEY_VIOLATION_CODES = new Set([
  'ER_NO_REFERENCED_ROW_2',
  'ER_NO_REFERENCED_ROW',
  'SQLITE_CONSTRAINT_FOREIGNKEY',
]);

/** The database cannot be reached right now (connection refused, reset, lost, timed out). */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'SQLITE_CANTOPEN',
]);

/**
 * The database is there but gave up on a lock: the same statement can succeed a moment later.
 * MariaDB answers ER_AUTOINC_READ_FAILED to an INSERT whose wait for a table's auto-increment
 * lock was cut short (seen when another connection holding it was reset).
 */
const BUSY_CODES = new Set([
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_AUTOINC_READ_FAILED',
]);

/** The database could not write: its disk (or table space) is full. */
const FULL_CODES = new Set(['SQLITE_FULL', 'ER_RECORD_FILE_FULL', 'ER_DISK_FULL', 'ENOSPC']);

/** Why a database call failed, when it is the database's condition rather than the statement's. */
export type DatabaseFailure = 'unavailable' | 'busy' | 'full';

interface DriverErrorShape {
  code?: unknown;
  errno?: unknown;
  fatal?: unknown;
  message?: unknown;
  driverError?: unknown;
}

/**
 * Classifies a database error (a TypeORM `QueryFailedError`, which carries the driver's fields,
 * or the driver's error itself): `unavailable`, `busy`, `full`, or null for everything else (a
 * constraint, a syntax error: the statement's own fault). MySQL's "error 28 from storage engine"
 * (errno 28 is ENOSPC) counts as full; a fatal mysql2 error without a code as unavailable.
 */
export function databaseFailureOf(error: unknown): DatabaseFailure | null {
  const shape = (error ?? {}) as DriverErrorShape;
  const inner = (shape.driverError ?? {}) as DriverErrorShape;
  const code = typeof shape.code === 'string' ? shape.code : (inner.code as string | undefined);
  if (code !== undefined) {
    if (FULL_CODES.has(code)) return 'full';
    if (UNAVAILABLE_CODES.has(code)) return 'unavailable';
    if (BUSY_CODES.has(code)) return 'busy';
  }
  const message = typeof shape.message === 'string' ? shape.message : '';
  if (/\berror 28 from storage engine\b|No space left on device/i.test(message)) return 'full';
  if (shape.fatal === true || inner.fatal === true) return 'unavailable';
  return null;
}

/** True for failures worth trying again a moment later (not a full disk). */
export function isTransientDatabaseError(error: unknown): boolean {
  const failure = databaseFailureOf(error);
  return failure === 'unavailable' || failure === 'busy';
}

/**
 * True when a write failed on a foreign key (MySQL/MariaDB errno 1452/1216, SQLite
 * `SQLITE_CONSTRAINT_FOREIGNKEY`). TypeORM's QueryFailedError carries the driver's `code`.
 */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && FOREIGN_KEY_VIOLATION_CODES.has(code);
}

/** True when a write failed on a unique or primary key (MySQL/MariaDB ER_DUP_ENTRY, SQLite). */
export function isUniqueViolation(error: unknown): boolean {
  const shape = (error ?? {}) as DriverErrorShape;
  const code = shape.code ?? (shape.driverError as DriverErrorShape | undefined)?.code;
  return (
    code === 'ER_DUP_ENTRY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** First wait between tries of a transient failure; doubled each time, up to MAX_RETRY_WAIT_MS. */
const FIRST_RETRY_WAIT_MS = 100;
const MAX_RETRY_WAIT_MS = 2000;

/**
 * Runs `work`, trying it again while it fails with a transient database error (connection reset,
 * lock wait timeout, deadlock, busy), waiting 100 ms, 200 ms, ... up to 2 s between tries, for
 * at most `budgetMs` in all; then the last error is thrown. Any other error is thrown at once.
 * `retried` is told of each failure that will be tried again.
 */
export async function retryTransient<T>(
  work: () => Promise<T>,
  budgetMs: number,
  retried: (error: unknown, attempt: number) => void = () => undefined,
): Promise<T> {
  const giveUpAt = Date.now() + budgetMs;
  let wait = FIRST_RETRY_WAIT_MS;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (!isTransientDatabaseError(error) || Date.now() + wait > giveUpAt) throw error;
      retried(error, attempt);
      await sleep(wait);
      wait = Math.min(MAX_RETRY_WAIT_MS, wait * 2);
    }
  }
}
