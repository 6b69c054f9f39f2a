import { Observable } from 'rxjs';

/** Emptied slots at the front that are dropped, once they are at least half the storage. */
const COMPACT_AFTER = 1024;

/**
 * Runs queued callbacks in order, ONE PER TURN OF THE EVENT LOOP, so timers and I/O get their
 * turn between any two of them.
 *
 * The process host's events arrive in bursts: the channel reads many messages at once and Node
 * emits them all before anything else runs. An event that ends a turn starts a chain of writes
 * through better-sqlite3, which is synchronous: the chain runs in microtasks, to its end, before
 * the loop moves on. When 200 agents end their turns together, 200 such chains ran back to back
 * and held the loop (and every request) for all of them. Delivered from here, each event's chain
 * runs in a turn of its own (`setImmediate` queued from a running immediate waits for the next
 * turn, after the timers and the poll for I/O).
 */
export class TurnTakingQueue {
  /** What waits, from `head` on; the slots before it are emptied as their callbacks run. */
  private readonly queue: ((() => void) | undefined)[] = [];
  private head = 0;
  private scheduled = false;

  /** Runs `callback` after everything queued before it, in a later turn of the loop. */
  push(callback: () => void): void {
    this.queue.push(callback);
    this.schedule();
  }

  /** Emits once, in a turn of its own after everything queued before; unsubscribing gives it up. */
  turn(): Observable<void> {
    return new Observable<void>((subscriber) => {
      this.push(() => {
        subscriber.next();
        subscriber.complete();
      });
    });
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  private schedule(): void {
    if (this.scheduled || this.size === 0) return;
    this.scheduled = true;
    setImmediate(() => this.runOne());
  }

  /**
   * Runs the next callback, letting go of it first: a queue that never empties (children's output
   * under load) would otherwise hold every event it delivered, and the output chunks in them.
   */
  private runOne(): void {
    this.scheduled = false;
    const callback = this.queue[this.head]!;
    this.queue[this.head] = undefined;
    this.head += 1;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.schedule();
    callback();
  }
}
