import { DataSource } from 'typeorm';

/** One reading of the database's clock, and a clock of this machine around it. */
export interface DatabaseClockReading {
  /** How far the database's clock is ahead of the clock it was read against (negative: behind). */
  offsetMs: number;
  /** How long the query took: the reading is off by at most half of it. */
  roundTripMs: number;
}

/** Readings taken per measure; the one with the shortest round trip is kept (the least off). */
const READINGS = 3;

/**
 * The database's current time in SQL, as its `datetime` columns hold times (UTC, milliseconds):
 * for a statement to judge a stored time by the database's clock, not by the clock of the
 * instance that sends it. On SQLite that is this machine's clock, read by SQLite, in the text
 * TypeORM stores (`YYYY-MM-DD HH:MM:SS.SSS`, compared as text).
 */
export function databaseNowSql(dataSource: DataSource): string {
  return dataSource.options.type === 'mysql'
    ? 'UTC_TIMESTAMP(3)'
    : "strftime('%Y-%m-%d %H:%M:%f', 'now')";
}

/** The database's time now, as one query reads it. */
async function queryNow(dataSource: DataSource): Promise<number> {
  const rows = await dataSource.query<{ now: Date | string }[]>(
    `SELECT ${databaseNowSql(dataSource)} AS now`,
  );
  const now = rows[0].now;
  // MySQL's DATETIME arrives as a Date, read as UTC (the connection's `timezone: 'Z'`); SQLite's
  // is text, in UTC.
  return now instanceof Date ? now.getTime() : Date.parse(`${now.replace(' ', 'T')}Z`);
}

/**
 * The database's clock against a clock of this machine (`machineMs`). The database's time is taken
 * to be what it was halfway through the query's round trip; of a few readings, the one with the
 * shortest round trip is kept (a reading that waited for a connection is the least trustworthy).
 * On SQLite the database's clock is this machine's wall clock.
 */
export async function readDatabaseClock(
  dataSource: DataSource,
  machineMs: () => number,
): Promise<DatabaseClockReading> {
  let best: DatabaseClockReading | null = null;
  for (let i = 0; i < READINGS; i += 1) {
    const before = machineMs();
    const nowMs = await queryNow(dataSource);
    const after = machineMs();
    const reading = { offsetMs: nowMs - (before + after) / 2, roundTripMs: after - before };
    if (best === null || reading.roundTripMs < best.roundTripMs) best = reading;
  }
  return best!;
}
