import { firstValueFrom } from 'rxjs';
import { Clock } from 'src/common/clock';

/** Holds the thread `ms` milliseconds, as a turn's end written to SQLite does. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('Clock', () => {
  it('resumes waits that end together one per turn of the loop: a timer due after the first runs before the second', async () => {
    const clock = new Clock();
    const order: string[] = [];
    const first = firstValueFrom(clock.delay(5)).then(() => {
      setTimeout(() => order.push('timer'), 1);
      busy(3);
      order.push('first');
    });
    const second = firstValueFrom(clock.delay(5)).then(() => order.push('second'));
    await Promise.all([first, second]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(order).toEqual(['first', 'timer', 'second']);
  });

  it("tells the database's time as last read, carried forward by the monotonic clock", () => {
    const monotonic = { ms: 5_000 };
    const clock = new Clock(() => monotonic.ms);
    // The database's clock read 40 s behind this machine's wall clock.
    clock.follow(Date.now() - 40_000 - monotonic.ms);
    monotonic.ms += 1_500;
    const before = Date.now();
    const now = clock.nowMs();
    const after = Date.now();
    expect(now).toBeGreaterThanOrEqual(before - 40_000 + 1_500 - 1_000);
    expect(now).toBeLessThanOrEqual(after - 40_000 + 1_500);
    expect(Math.abs(clock.offset() - (now - after))).toBeLessThan(1_000);
  });

  it('takes in a wall clock that moved ahead (a machine that slept), not one stepped back, between readings of the database', () => {
    const wall = { ms: 1_700_000_000_000 };
    const monotonic = { ms: 0 };
    const clock = new (class extends Clock {
      override localMs(): number {
        return wall.ms;
      }
    })(() => monotonic.ms);
    clock.follow(wall.ms + 2_000);
    const start = clock.nowMs();
    // The machine sleeps a minute: its monotonic clock stands still, its wall clock does not.
    wall.ms += 60_000;
    expect(clock.nowMs()).toBe(start + 60_000);
    // The wall clock is stepped back two minutes while 35 s pass: the time carries on from there.
    wall.ms -= 120_000;
    monotonic.ms += 35_000;
    expect(clock.nowMs()).toBe(start + 95_000);
  });
});
