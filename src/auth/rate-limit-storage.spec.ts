import { Clock } from 'src/common';
import { RateLimitStorage } from 'src/auth/rate-limit-storage';

class FakeClock extends Clock {
  ms = Date.parse('2026-12-03T12:00:00.250Z');

  override nowMs(): number {
    return this.ms;
  }
}

const TTL = 60_000;
const LIMIT = 3;

describe('RateLimitStorage', () => {
  let clock: FakeClock;
  let storage: RateLimitStorage;
  const hit = (key = 'key:a') => storage.increment(key, TTL, LIMIT, TTL, 'default');

  beforeEach(() => {
    clock = new FakeClock();
    storage = new RateLimitStorage(clock);
  });

  it('counts the hits of the last minute per tracker and blocks past the limit', async () => {
    expect((await hit()).totalHits).toBe(1);
    expect((await hit()).totalHits).toBe(2);
    expect(await hit('key:b')).toMatchObject({ totalHits: 1, isBlocked: false });
    expect(await hit()).toMatchObject({ totalHits: 3, isBlocked: false });
    expect(await hit()).toMatchObject({ totalHits: 4, isBlocked: true, timeToBlockExpire: 60 });
  });

  it('forgets each hit a minute after it, a second at a time', async () => {
    await hit();
    clock.ms += 30_000;
    await hit();
    await hit();
    clock.ms += 30_000;
    const record = await hit();
    expect(record).toMatchObject({ totalHits: 3, isBlocked: false });
    expect(record.timeToExpire).toBe(30);
    clock.ms += 30_000;
    expect((await hit()).totalHits).toBe(2);
  });

  it('does not count while blocked, and starts again from zero when the block ends', async () => {
    for (let i = 0; i < LIMIT + 1; i += 1) await hit();
    clock.ms += 59_000;
    expect(await hit()).toMatchObject({ totalHits: 4, isBlocked: true, timeToBlockExpire: 1 });
    clock.ms += 1_000;
    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false, timeToBlockExpire: 0 });
  });

  it('keeps counting when the clock steps back, and forgets those hits with the rest', async () => {
    await hit();
    clock.ms -= 5_000;
    expect((await hit()).totalHits).toBe(2);
    clock.ms += 5_000 + TTL;
    expect((await hit()).totalHits).toBe(1);
  });

  it('drops trackers with nothing left in the window, once a minute', async () => {
    for (let i = 0; i < 100; i += 1) await hit(`ip:10.0.0.${i}`);
    expect(storage.size).toBe(100);
    clock.ms += TTL;
    await hit('ip:10.0.1.1');
    expect(storage.size).toBe(1);
  });

  it('schedules no timer per hit (the default storage schedules one and filters them all as each fires)', async () => {
    jest.useFakeTimers();
    try {
      for (let i = 0; i < 10_000; i += 1) {
        await storage.increment('key:busy', TTL, 1_000_000_000, TTL, 'default');
      }
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
