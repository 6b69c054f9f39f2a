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

  it("tells this machine's time plus the offset to the database's, and maps its times back to the system clock", () => {
    const clock = new Clock();
    clock.setOffset(-40_000);
    const before = Date.now();
    const now = clock.nowMs();
    const lease = now + 30_000;
    const systemMs = clock.systemMsOf(lease);
    const after = Date.now();
    expect(now).toBeGreaterThanOrEqual(before - 40_000);
    expect(now).toBeLessThanOrEqual(after - 40_000);
    // The lease ends 30 s from now whichever clock it is read on.
    expect(systemMs).toBeGreaterThanOrEqual(before + 30_000 - 5);
    expect(systemMs).toBeLessThanOrEqual(after + 30_000 + 5);
  });
});
