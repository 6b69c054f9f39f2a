import { Subject } from 'rxjs';
import { AppConfig } from 'src/config';
import { TestRunSlots } from 'src/test-runner/test-run-slots';

describe('TestRunSlots', () => {
  const runs = (count: number) => Array.from({ length: count }, () => new Subject<string>());

  it('starts at most MAX_CONCURRENT_TEST_RUNS runs; the next starts when one ends, in order', () => {
    const slots = new TestRunSlots({ MAX_CONCURRENT_TEST_RUNS: 2 } as AppConfig);
    const [a, b, c, d] = runs(4);
    const seen: string[] = [];
    for (const [name, run] of [
      ['a', a],
      ['b', b],
      ['c', c],
      ['d', d],
    ] as const) {
      slots.gate(run).subscribe({
        complete: () => seen.push(`${name} done`),
        error: () => seen.push(`${name} failed`),
      });
    }
    expect([a, b, c, d].map((r) => r.observed)).toEqual([true, true, false, false]);
    a.complete();
    expect([c, d].map((r) => r.observed)).toEqual([true, false]);
    b.error(new Error('failed'));
    expect(d.observed).toBe(true);
    expect(seen).toEqual(['a done', 'b failed']);
  });

  it('delivers the run’s events to the subscriber', () => {
    const slots = new TestRunSlots({ MAX_CONCURRENT_TEST_RUNS: 1 } as AppConfig);
    const [a] = runs(1);
    const got: string[] = [];
    slots.gate(a).subscribe((v) => got.push(v));
    a.next('spawned');
    a.next('report');
    expect(got).toEqual(['spawned', 'report']);
  });

  it('a run unsubscribed while waiting leaves the queue and never starts', () => {
    const slots = new TestRunSlots({ MAX_CONCURRENT_TEST_RUNS: 1 } as AppConfig);
    const [a, b, c] = runs(3);
    slots.gate(a).subscribe();
    const waitingB = slots.gate(b).subscribe();
    slots.gate(c).subscribe();
    waitingB.unsubscribe();
    a.complete();
    expect(b.observed).toBe(false);
    expect(c.observed).toBe(true);
  });

  it('a running run unsubscribed (a cancel) is stopped and frees its slot', () => {
    const slots = new TestRunSlots({ MAX_CONCURRENT_TEST_RUNS: 1 } as AppConfig);
    const [a, b] = runs(2);
    const running = slots.gate(a).subscribe();
    slots.gate(b).subscribe();
    running.unsubscribe();
    expect(a.observed).toBe(false);
    expect(b.observed).toBe(true);
  });
});
