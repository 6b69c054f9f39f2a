import pLimit from 'p-limit';
import type { TailSource } from 'src/events/event-tail';

/**
 * Most database reads the event streams of this instance make at once. On MySQL each read holds
 * a connection of the pool (10 in all), which the API's requests and the lease renewals share: a
 * hundred streams whose clients took events as fast as they came held them all, and a status read
 * waited seconds for a connection. Streams wait for one another here instead; the rest of the pool
 * stays free.
 */
export const STREAM_READS_AT_ONCE = 4;

/** One queue for every stream's reads (`after`, `end`, and the checks whether it may go on). */
export class StreamReadLimit {
  private readonly limit = pLimit(STREAM_READS_AT_ONCE);

  /** Reads in progress now. */
  get active(): number {
    return this.limit.activeCount;
  }

  /** `source`, each of its reads waiting for its turn. */
  source(source: TailSource): TailSource {
    return {
      after: (afterId, limit) => this.limit(() => source.after(afterId, limit)),
      end: () => this.limit(() => source.end()),
    };
  }

  /** `read`, once its turn came. */
  run<T>(read: () => Promise<T>): Promise<T> {
    return this.limit(read);
  }
}
