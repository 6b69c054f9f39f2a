import { Inject, Injectable, Optional } from '@nestjs/common';
import { concatMap, Observable, timer } from 'rxjs';
import { TurnTakingQueue } from 'src/common/turn-taking-queue';

/**
 * A clock of this machine that only moves forward, at a steady rate, from an origin of its own
 * (`performance.now()`): what the `Clock` keeps time by between readings of the database's.
 * Injectable (`MONOTONIC_CLOCK`) so unit specs drive it.
 */
export type MonotonicClock = () => number;

/** The injection token of the `Clock`'s `MonotonicClock`; `performance.now()` when none is given. */
export const MONOTONIC_CLOCK = Symbol('MONOTONIC_CLOCK');

/**
 * The time, behind an injectable so rules that depend on it (lease expiry, backoff waits) can be
 * driven by a fake in unit specs. `delay` is an RxJS timer: unsubscribing cancels the wait.
 *
 * Server instances that share a MySQL/MariaDB database compare each other's times: a lease one
 * wrote is judged expired by another's sweep, a wait for a person one began is ended by another.
 * So `nowMs` is the database's time, as `ClockSync` last read it (at start, then every so often;
 * on SQLite the database's time is this machine's), carried forward between readings by the later
 * of two clocks: a `MonotonicClock`, which no step of this machine's wall clock moves back (an NTP
 * step, a person setting it), and the wall clock (`localMs`), which a machine that slept has
 * caught up with on waking where the monotonic clock stood still. Neither clock alone is safe: by
 * the monotonic one a server that slept past its lease would write a lease already run out, two
 * agents then working on one task; by the wall one a step back would do the same. A step of the
 * wall clock forward is taken in until the next reading: the leases this instance writes last
 * longer by it (whether another instance's lease ran out is judged by the database's own clock,
 * `databaseNowSql`), its own waits end that much sooner. Until the first reading, the wall clock
 * at start is the starting point. Reading it costs no query.
 */
@Injectable()
export class Clock {
  /**
   * The database's time at the last reading minus the monotonic clock's then, plus what the wall
   * clock has gained on the monotonic one since (a sleep).
   */
  private aheadOfMonotonicMs: number;
  /** The database's time at the last reading minus the wall clock's then. */
  private aheadOfWallMs = 0;
  private readonly turns = new TurnTakingQueue();
  private readonly monotonic: MonotonicClock;

  constructor(@Optional() @Inject(MONOTONIC_CLOCK) monotonic?: MonotonicClock) {
    this.monotonic = monotonic ?? (() => performance.now());
    this.aheadOfMonotonicMs = this.localMs() - this.monotonic();
  }

  nowMs(): number {
    const byMonotonic = this.monotonicMs() + this.aheadOfMonotonicMs;
    const byWall = this.localMs() + this.aheadOfWallMs;
    if (byWall <= byMonotonic) return byMonotonic;
    // Ahead by the wall clock: kept, so a step of it back later does not take the time back too.
    this.aheadOfMonotonicMs += byWall - byMonotonic;
    return byWall;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /** This machine's own wall clock, as this server reads it. */
  localMs(): number {
    return Date.now();
  }

  /** The monotonic clock's reading: what a reading of the database's clock is measured against. */
  monotonicMs(): number {
    return this.monotonic();
  }

  /** How far the database's clock is ahead of this machine's wall clock now (negative: behind). */
  offset(): number {
    return this.nowMs() - this.localMs();
  }

  /**
   * Follows the database's clock from now on: it reads `aheadMs` ahead of `monotonicMs()` (a
   * reading of it against the monotonic clock, `readDatabaseClock`).
   */
  follow(aheadMs: number): void {
    this.aheadOfMonotonicMs = aheadMs;
    this.aheadOfWallMs = this.monotonicMs() + aheadMs - this.localMs();
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
