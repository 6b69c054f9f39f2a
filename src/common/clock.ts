import { Injectable } from '@nestjs/common';
import { concatMap, Observable, timer } from 'rxjs';
import { TurnTakingQueue } from 'src/common/turn-taking-queue';

/**
 * The time, behind an injectable so rules that depend on it (lease expiry, backoff waits) can be
 * driven by a fake in unit specs. `delay` is an RxJS timer: unsubscribing cancels the wait.
 *
 * Server instances that share a MySQL/MariaDB database compare each other's times: a lease one
 * wrote is judged expired by another's sweep, a wait for a person one began is ended by another.
 * So `nowMs` is the database's time: this machine's clock (`localMs`) plus `offsetMs`, the
 * database's lead over it, which `ClockSync` measures at start and again every so often (0 on
 * SQLite: one server, one machine). Reading it costs no query.
 */
@Injectable()
export class Clock {
  private offsetMs = 0;
  private readonly turns = new TurnTakingQueue();

  nowMs(): number {
    return this.localMs() + this.offsetMs;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /** This machine's own clock, as this server reads it. */
  localMs(): number {
    return Date.now();
  }

  /** How far the database's clock is ahead of this machine's (negative: behind). */
  offset(): number {
    return this.offsetMs;
  }

  /** Follows the database's clock from now on: `offsetMs` ahead of `localMs`. */
  setOffset(offsetMs: number): void {
    this.offsetMs = offsetMs;
  }

  /**
   * The instant `atMs` (a time of this clock) on the system clock of this machine (`Date.now()`),
   * by which other processes here keep time: the process host's deadlines.
   */
  systemMsOf(atMs: number): number {
    return Date.now() + (atMs - this.nowMs());
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
