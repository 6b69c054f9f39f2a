import { firstValueFrom } from 'rxjs';
import { Clock } from 'src/common';
import { Lease, LeaseLostError } from 'src/tasks';
import { keepLease } from 'src/orchestrator/lease-renewal';
import { TaskRunControl } from 'src/orchestrator/run/run-control';

/** The lease kept beside a run, with a renewal whose answers the test scripts. */

const lease: Lease = { taskId: 't1', attempt: 1, owner: 'host:1:2:ab' };

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

function setup(answer: () => Promise<Date>, clock: Clock = new Clock()) {
  const control = new TaskRunControl();
  const renewed: Date[] = [];
  const warnings: string[] = [];
  const subscription = keepLease(lease, control, {
    renew: answer,
    renewed: (expiresAt) => renewed.push(expiresAt),
    clock,
    leaseMs: 600,
    warn: (message) => warnings.push(message),
  });
  return { control, renewed, warnings, subscription };
}

describe('keepLease', () => {
  it('renews every third of the lease and passes each new expiry on', async () => {
    let expiry = 1000;
    const s = setup(() => Promise.resolve(new Date((expiry += 600))));
    await until(() => s.renewed.length >= 3);
    s.subscription.unsubscribe();
    expect(s.renewed.slice(0, 3).map((d) => d.getTime())).toEqual([1600, 2200, 2800]);
    expect(s.control.reason).toBeNull();
  });

  it('stops the run when a renewal finds the lease gone', async () => {
    const s = setup(() => Promise.reject(new LeaseLostError('t1')));
    expect(await firstValueFrom(s.control.stopped$)).toBe('lease_lost');
    s.subscription.unsubscribe();
  });

  it('keeps the run going when a late renewal finds the lease still its own (a stall)', async () => {
    // The clock jumps past the whole lease before the first renewal, as after a stalled loop.
    let now = 0;
    const clock = Object.assign(new Clock(), { nowMs: () => now });
    const s = setup(() => Promise.resolve(new Date(now + 600)), clock);
    now = 5_000;
    await until(() => s.renewed.length >= 2);
    s.subscription.unsubscribe();
    expect(s.control.reason).toBeNull();
  });

  it('stops the run once the database failed every renewal for a whole lease', async () => {
    let now = 0;
    const clock = Object.assign(new Clock(), { nowMs: () => now });
    const s = setup(() => {
      now += 250;
      return Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    }, clock);
    expect(await firstValueFrom(s.control.stopped$)).toBe('lease_lost');
    expect(s.warnings.length).toBeGreaterThanOrEqual(2);
    expect(s.warnings[0]).toMatch(/lease renewal failed: .*ECONNRESET/);
    s.subscription.unsubscribe();
  });
});
