import { DataSource } from 'typeorm';

/** One reading of the database's clock, and this machine's clock around it. */
export interface DatabaseClockReading {
  /** How far the database's clock is ahead of this machine's (negative: behind). */
  offsetMs: number;
  /** How long the query took: the reading is off by at most half of it. */
  roundTripMs: number;
}

/** Readings taken per measure; the one with the shortest round trip is kept (the least off). */
const READINGS = 3;

/**
 * The database's clock against this machine's (`localMs`), or null on SQLite, whose time is
 * this machine's. The database's time is taken to be what it was halfway through the query's
 * round trip; of a few readings, the one with the shortest round trip is kept (a reading that
 * waited for a connection is the least trustworthy).
 */
export async function readDatabaseClock(
  dataSource: DataSource,
  localMs: () => number,
): Promise<DatabaseClockReading | null> {
  if (dataSource.options.type !== 'mysql') return null;
  let best: DatabaseClockReading | null = null;
  for (let i = 0; i < READINGS; i += 1) {
    const before = localMs();
    // A DATETIME, read as UTC (the connection's `timezone: 'Z'`).
    const rows = await dataSource.query<{ now: Date }[]>('SELECT UTC_TIMESTAMP(3) AS now');
    const after = localMs();
    const reading = {
      offsetMs: rows[0].now.getTime() - (before + after) / 2,
      roundTripMs: after - before,
    };
    if (best === null || reading.roundTripMs < best.roundTripMs) best = reading;
  }
  return best;
}
