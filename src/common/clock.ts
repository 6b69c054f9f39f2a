import { Injectable } from '@nestjs/common';
import { concatMap, Observable, timer } from 'rxjs';
import { TurnTakingQueue } from 'src/common/turn-taking-queue';

/**
 * The time, behind an injectable so rules that depend on it (lease expiry, backoff waits) can be
 * driven by a fake in unit specs. `delay` is an RxJS timer: unsubscribing cancels the wait.
 */
@Injectable()
export class Clock {
  private readonly turns = new TurnTakingQueue();

  nowMs(): number {
    return Date.now();
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /**
   * Emits once after `ms` milliseconds (at once for 0), then completes, in a turn of the event
   * loop of its own: runs whose waits end together (200 turns starting at once, their process
   * polls) go on one per turn, so none holds the loop for the others (`turn-taking-queue.ts`).
   */
  delay(ms: number): Observable<void> {
    if (ms <= 0) return this.turns.turn();
    return timer(ms).pipe(concatMap(() => this.turns.turn()));
  }
}
