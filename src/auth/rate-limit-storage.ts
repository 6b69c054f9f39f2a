import type { ThrottlerStorage } from '@nestjs/throttler';
import { Clock } from 'src/common';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** Hits are counted per second: the window slides a second at a time. */
const GRAIN_MS = 1000;

interface Tracker {
  /** `[second, hits]`, oldest first, only seconds inside the window and with hits. */
  seconds: [number, number][];
  hits: number;
  /** When a block ends (ms), or 0 when not blocked. */
  blockedUntil: number;
}

/**
 * THE RATE LIMIT'S COUNTS (`@nestjs/throttler`'s storage), in memory: for each tracker (a key, an
 * address) the hits of the last `ttl` counted per second (a hit leaves the window `ttl` after the
 * start of its second), so a request costs O(1) time and a tracker at most `ttl / 1 s` counters.
 * Past `limit` the tracker is blocked for `blockDuration` (its hits are not counted meanwhile),
 * then starts again from zero, as the library's own storage does. Trackers with nothing left in
 * the window are dropped once per `ttl`.
 *
 * The library's default storage keeps a timer per request and, as each fires, filters the list of
 * every outstanding timer: quadratic in the requests of the last minute across all clients. After
 * a minute of 10 000 keyed status reads a second it held 600 000 timers and kept a core busy for
 * minutes after the load stopped (test/bench/RESULTS.md).
 */
export class RateLimitStorage implements ThrottlerStorage {
  private readonly trackers = new Map<string, Tracker>();
  private sweptAt: number;

  constructor(private readonly clock: Clock) {
    this.sweptAt = clock.nowMs();
  }

  /** How many trackers are held. */
  get size(): number {
    return this.trackers.size;
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    _throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const now = this.clock.nowMs();
    this.sweep(now, ttl);
    let tracker = this.trackers.get(key);
    if (tracker === undefined) {
      tracker = { seconds: [], hits: 0, blockedUntil: 0 };
      this.trackers.set(key, tracker);
    }
    if (tracker.blockedUntil !== 0 && tracker.blockedUntil <= now) {
      tracker.seconds = [];
      tracker.hits = 0;
      tracker.blockedUntil = 0;
    }
    this.expire(tracker, now, ttl);
    if (tracker.blockedUntil === 0) {
      this.count(tracker, now);
      if (tracker.hits > limit) tracker.blockedUntil = now + blockDuration;
    }
    const oldest = tracker.seconds[0]?.[0] ?? Math.floor(now / GRAIN_MS);
    return Promise.resolve({
      totalHits: tracker.hits,
      timeToExpire: Math.max(0, Math.ceil((oldest * GRAIN_MS + ttl - now) / 1000)),
      isBlocked: tracker.blockedUntil !== 0,
      timeToBlockExpire: Math.max(0, Math.ceil((tracker.blockedUntil - now) / 1000)),
    });
  }

  private count(tracker: Tracker, now: number): void {
    const second = Math.floor(now / GRAIN_MS);
    const last = tracker.seconds[tracker.seconds.length - 1];
    // A clock stepped back counts in the latest second, so the list stays in order.
    if (last !== undefined && last[0] >= second) last[1] += 1;
    else tracker.seconds.push([second, 1]);
    tracker.hits += 1;
  }

  /** Drops the seconds that have left the window (`ttl` back from `now`). */
  private expire(tracker: Tracker, now: number, ttl: number): void {
    const first = Math.floor((now - ttl) / GRAIN_MS) + 1;
    let drop = 0;
    while (drop < tracker.seconds.length && tracker.seconds[drop][0] < first) {
      tracker.hits -= tracker.seconds[drop][1];
      drop += 1;
    }
    if (drop > 0) tracker.seconds.splice(0, drop);
  }

  /** Once per `ttl`: forgets trackers that are neither counted nor blocked any more. */
  private sweep(now: number, ttl: number): void {
    if (now - this.sweptAt < ttl) return;
    this.sweptAt = now;
    for (const [key, tracker] of this.trackers) {
      this.expire(tracker, now, ttl);
      if (tracker.hits === 0 && tracker.blockedUntil <= now) this.trackers.delete(key);
    }
  }
}
