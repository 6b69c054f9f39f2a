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
 * on SQLite the database's time is this machine's), carried forward by a `MonotonicClock`. Not by
 * this machine's wall clock (`localMs`): a step of it (NTP, a VM resumed, a person setting it)
 * would go straight into the leases this instance writes and the deadlines it judges; the next
 * reading of the database's clock takes in what the monotonic clock missed (a machine asleep).
 * Until the first reading, the wall clock at start is the starting point. Reading it costs no
 * query.
 */
@Injectable()
export class Clock {
  /** `nowMs()` minus the monotonic clock's reading. */
  private aheadOfMonotonicMs: number;
  private readonly turns = new TurnTakingQueue();
  private readonly monotonic: MonotonicClock;

  constructor(@Optional() @Inject(MONOTONIC_CLOCK) monotonic?: MonotonicClock) {
    this.monotonic = monotonic ?? (() => performance.now());
    this.aheadOfMonotonicMs = this.localMs() - this.monotonic();
  }

  nowMs(): number {
    return this.monotonicMs() + this.aheadOfMonotonicMs;
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
