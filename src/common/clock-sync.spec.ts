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
    expect(await sync.measure()).toBe(true);
    expect(Math.abs(clock.offset() + 40_000)).toBeLessThan(50);
    expect(Math.abs(clock.nowMs() - (Date.now() - 40_000))).toBeLessThan(50);
    await sync.measure();
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/clock is 40\.0 s ahead of the database's \(offset -4\d{4} ms\)/),
    ]);
    ahead.ms = 5_000;
    await sync.measure();
    expect(Math.abs(clock.offset() - 5_000)).toBeLessThan(50);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(String(warn.mock.calls[1][0])).toMatch(/clock is 5\.0 s behind the database's/);
  });

  it("leaves the offset at 0 on SQLite, where the database keeps this machine's time", async () => {
    const clock = new Clock();
    const sync = new ClockSync(clock, { options: { type: 'better-sqlite3' } } as DataSource);
    expect(await sync.measure()).toBe(false);
    expect(clock.offset()).toBe(0);
  });
});
