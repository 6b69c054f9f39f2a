/**
 * A wake-up that is never lost: `signal()` before `wait()` makes the next `wait()` return at once.
 * `wait(ms)` resolves on a signal or after `ms`, whichever comes first.
 */
export class Wakeup {
  private pending = false;
  private waiter: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;

  signal(): void {
    if (this.waiter === null) {
      this.pending = true;
      return;
    }
    this.fire();
  }

  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.timer = setTimeout(() => this.fire(), ms);
    });
  }

  private fire(): void {
    const waiter = this.waiter;
    this.waiter = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    waiter?.();
  }
}
