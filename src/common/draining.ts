import { Injectable } from '@nestjs/common';

/**
 * Whether this server is draining: after SIGTERM (or when the app is closing) it finishes what it
 * holds and takes nothing new. New tasks are refused with 503 `shutting_down` and `/health`
 * answers 503, so a load balancer moves on to another instance.
 */
@Injectable()
export class Draining {
  private since: Date | null = null;

  start(at: Date = new Date()): void {
    this.since ??= at;
  }

  get active(): boolean {
    return this.since !== null;
  }
}
