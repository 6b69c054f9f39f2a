import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TurnTakingQueue } from 'src/common/turn-taking-queue';

setFlagsFromString('--expose-gc');
/** A full garbage collection (V8's `gc`, exposed for the retention test). */
const collectGarbage = runInNewContext('gc') as () => void;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TurnTakingQueue', () => {
  it('runs callbacks in order, each with the microtasks it starts before the next', async () => {
    const queue = new TurnTakingQueue();
    const ran: string[] = [];
    const all = new Promise<void>((resolve) => {
      for (let i = 1; i <= 3; i += 1) {
        queue.push(() => {
          ran.push(`event ${i}`);
          // The microtasks a callback starts (a chain of synchronous writes) run before the next.
          void Promise.resolve().then(() => ran.push(`chain ${i}`));
          if (i === 3) setImmediate(resolve);
        });
      }
    });
    expect(queue.size).toBe(3);
    await all;
    expect(ran).toEqual(['event 1', 'chain 1', 'event 2', 'chain 2', 'event 3', 'chain 3']);
    expect(queue.size).toBe(0);
  });

  it('gives timers a turn between callbacks: a timer set by the first runs before the last of a long burst', async () => {
    const queue = new TurnTakingQueue();
    const order: string[] = [];
    let timerFired = false;
    const done = new Promise<void>((resolve) => {
      queue.push(() => setTimeout(() => (timerFired = true), 1));
      const pushBusy = (left: number): void =>
        queue.push(() => {
          // Each callback holds the loop 2 ms, as a turn's end written to SQLite does.
          const until = performance.now() + 2;
          while (performance.now() < until);
          if (timerFired && !order.includes('timer')) order.push('timer');
          order.push('busy');
          if (left > 1) pushBusy(left - 1);
          else resolve();
        });
      for (let i = 0; i < 50; i += 1) queue.push(() => order.push('queued'));
      pushBusy(20);
    });
    await done;
    expect(order).toContain('timer');
    expect(order.lastIndexOf('busy')).toBeGreaterThan(order.indexOf('timer'));
  });

  it('lets go of a callback once it ran, while later ones still wait', async () => {
    const queue = new TurnTakingQueue();
    let ran = false;
    // What a delivered event holds on to: a chunk of a child's output.
    const delivered = (() => {
      const chunk = Buffer.alloc(1024 * 1024);
      queue.push(() => (ran = chunk.length > 0));
      return new WeakRef(chunk);
    })();
    // The queue stays busy: two chains, each queueing its next callback as one runs.
    let busy = true;
    const keepBusy = (): void => queue.push(() => busy && keepBusy());
    keepBusy();
    keepBusy();
    while (!ran) await nextTurn();
    await nextTurn();
    collectGarbage();
    busy = false;
    expect(queue.size).toBeGreaterThan(0);
    expect(delivered.deref()).toBeUndefined();
  });

  it('keeps the order of a long burst while it stays busy, past where it drops the emptied front', async () => {
    const queue = new TurnTakingQueue();
    const ran: number[] = [];
    const total = 5000;
    await new Promise<void>((resolve) => {
      // Each callback queues one more behind those waiting: the queue is never empty till the end.
      let next = 0;
      const push = (): void => {
        const n = next++;
        queue.push(() => {
          ran.push(n);
          if (next < total) push();
          if (ran.length === total) resolve();
        });
      };
      push();
      push();
    });
    expect(ran).toEqual(Array.from({ length: total }, (_, i) => i));
  });
});
