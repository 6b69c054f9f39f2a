import { DataSource } from 'typeorm';
import { readDatabaseClock } from 'src/database/database-clock';

/**
 * A MySQL data source whose clock is `aheadMs` ahead of `local`; its k-th query reaches the
 * database `legs[k][0]` ms after it is sent and its reply comes back `legs[k][1]` ms later.
 */
function mysqlAhead(aheadMs: number, legs: [number, number][], local: { ms: number }): DataSource {
  let queries = 0;
  return {
    options: { type: 'mysql' },
    query: () => {
      const [there, back] = legs[queries];
      queries += 1;
      local.ms += there;
      const rows = [{ now: new Date(local.ms + aheadMs) }];
      local.ms += back;
      return Promise.resolve(rows);
    },
  } as unknown as DataSource;
}

describe('readDatabaseClock', () => {
  it("takes the database's time as of the middle of the round trip, from the shortest of its readings", async () => {
    const local = { ms: 1_000_000 };
    // A reading that waited for a connection, and one whose reply came late, are each off by
    // their asymmetry; the quick one is not.
    const dataSource = mysqlAhead(
      -40_000,
      [
        [300, 20],
        [2, 2],
        [2, 500],
      ],
      local,
    );
    const reading = await readDatabaseClock(dataSource, () => local.ms);
    expect(reading).toEqual({ offsetMs: -40_000, roundTripMs: 4 });
  });

  it("reads SQLite's clock, this machine's, from the text SQLite gives", async () => {
    const dataSource = {
      options: { type: 'better-sqlite3' },
      query: (sql: string) =>
        Promise.resolve([{ now: sql.includes('strftime') ? '2024-03-01 12:00:00.250' : null }]),
    } as unknown as DataSource;
    const reading = await readDatabaseClock(dataSource, () => Date.UTC(2024, 2, 1, 12, 0, 0));
    expect(reading).toEqual({ offsetMs: 250, roundTripMs: 0 });
  });
});
