import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from 'src/common/clock';
import { ClockSync } from 'src/common/clock-sync';

/** A MySQL data source whose clock reads `ahead.ms` ahead of the machine's, answering at once. */
function mysqlAhead(ahead: { ms: number }): DataSource {
  return {
    options: { type: 'mysql' },
    query: () => Promise.resolve([{ now: new Date(Date.now() + ahead.ms) }]),
  } as unknown as DataSource;
}

describe('ClockSync', () => {
  let warn: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => warn.mockRestore());

  it("follows the database's clock, and names an offset over a second once, again when it moves", async () => {
    const clock = new Clock();
    const ahead = { ms: -40_000 };
    const sync = new ClockSync(clock, mysqlAhead(ahead));
    await sync.measure();
    expect(Math.abs(clock.offset() + 40_000)).toBeLessThan(1_000);
    expect(Math.abs(clock.nowMs() - (Date.now() - 40_000))).toBeLessThan(1_000);
    await sync.measure();
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/clock is 40\.0 s ahead of the database's \(offset -4\d{4} ms\)/),
    ]);
    ahead.ms = 5_000;
    await sync.measure();
    expect(Math.abs(clock.offset() - 5_000)).toBeLessThan(1_000);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(String(warn.mock.calls[1][0])).toMatch(/clock is 5\.0 s behind the database's/);
  });

  it("follows SQLite's clock, which is this machine's, and says nothing", async () => {
    const monotonic = { ms: 0 };
    const clock = new Clock(() => monotonic.ms);
    const sqlite = {
      options: { type: 'better-sqlite3' },
      query: () =>
        Promise.resolve([
          { now: new Date(Date.now()).toISOString().replace('T', ' ').slice(0, -1) },
        ]),
    } as unknown as DataSource;
    await new ClockSync(clock, sqlite).measure();
    expect(Math.abs(clock.offset())).toBeLessThan(1_000);
    expect(warn).not.toHaveBeenCalled();
  });

  it("keeps the database's time across a step of the machine's clock back, and takes the step in at the next reading", async () => {
    const monotonic = { ms: 0 };
    const wall = { ms: Date.now() };
    const clock = new (class extends Clock {
      override localMs(): number {
        return wall.ms;
      }
    })(() => monotonic.ms);
    const database = { ms: wall.ms };
    const sync = new ClockSync(clock, {
      options: { type: 'mysql' },
      query: () => Promise.resolve([{ now: new Date(database.ms) }]),
    } as unknown as DataSource);
    await sync.measure();
    expect(clock.nowMs()).toBe(database.ms);
    monotonic.ms += 35_000;
    database.ms += 35_000;
    wall.ms += 35_000 - 60_000;
    expect(clock.nowMs()).toBe(database.ms);
    await sync.measure();
    expect(clock.nowMs()).toBe(database.ms);
    expect(String(warn.mock.calls[0][0])).toMatch(/clock is 60\.0 s behind the database's/);
  });
});
