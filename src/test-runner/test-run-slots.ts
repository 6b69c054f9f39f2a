import { Injectable } from '@nestjs/common';
import { Observable, Subscription } from 'rxjs';
import { AppConfig } from 'src/config';

/**
 * HOW MANY TEST RUNS GO AT ONCE (MAX_CONCURRENT_TEST_RUNS): test suites are the CPU-heavy part of
 * a task, and many of them at once on a few cores only slow each other down and starve the
 * server. A run (the generated tests of one test phase, or one regression run) waits here for a
 * slot, in order of arrival; its time limit starts once it has one. Unsubscribing while waiting
 * leaves the queue; unsubscribing or ending a run frees its slot for the next.
 */
@Injectable()
export class TestRunSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly size: number;

  constructor(config: AppConfig) {
    this.size = config.MAX_CONCURRENT_TEST_RUNS;
  }

  /** `run`, subscribed once a slot is free; the slot is held until it ends or is unsubscribed. */
  gate<T>(run: Observable<T>): Observable<T> {
    return new Observable<T>((subscriber) => {
      let inner: Subscription | null = null;
      let held = false;
      const start = (): void => {
        held = true;
        this.active += 1;
        inner = run.subscribe(subscriber);
      };
      if (this.active < this.size) start();
      else this.waiting.push(start);
      return () => {
        if (!held) {
          this.waiting.splice(this.waiting.indexOf(start), 1);
          return;
        }
        inner?.unsubscribe();
        this.active -= 1;
        this.waiting.shift()?.();
      };
    });
  }
}
