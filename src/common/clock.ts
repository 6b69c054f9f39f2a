import { Injectable } from '@nestjs/common';
import { map, Observable, timer } from 'rxjs';

/**
 * The time, behind an injectable so rules that depend on it (lease expiry, backoff waits) can be
 * driven by a fake in unit specs. `delay` is an RxJS timer: unsubscribing cancels the wait.
 */
@Injectable()
export class Clock {
  nowMs(): number {
    return Date.now();
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /** Emits once after `ms` milliseconds, then completes. */
  delay(ms: number): Observable<void> {
    return timer(Math.max(0, ms)).pipe(map(() => undefined));
  }
}
