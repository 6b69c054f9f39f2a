import type { TailRow, TailSource } from 'src/events/event-tail';
import { STREAM_READS_AT_ONCE, StreamReadLimit } from 'src/events/stream-read-limit';

/** A source whose reads wait until released, counting those under way. */
class HeldSource implements TailSource {
  static running = 0;
  static most = 0;
  private readonly releases: (() => void)[] = [];

  constructor(private readonly id: number) {}

  after(): Promise<TailRow[]> {
    HeldSource.running += 1;
    HeldSource.most = Math.max(HeldSource.most, HeldSource.running);
    return new Promise((resolve) =>
      this.releases.push(() => {
        HeldSource.running -= 1;
        resolve([{ id: this.id, data: null }]);
      }),
    );
  }

  end(): Promise<unknown> {
    return Promise.resolve(null);
  }

  release(): void {
    this.releases.shift()?.();
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('StreamReadLimit', () => {
  it(`lets ${STREAM_READS_AT_ONCE} streams' reads run at once, the others in turn, each answered`, async () => {
    const limit = new StreamReadLimit();
    const sources = Array.from({ length: 10 }, (_, i) => new HeldSource(i));
    const answers = sources.map((source) => limit.source(source).after(0, 50));
    await settle();
    expect(HeldSource.running).toBe(STREAM_READS_AT_ONCE);
    expect(limit.active).toBe(STREAM_READS_AT_ONCE);
    for (const source of sources) {
      source.release();
      await settle();
    }
    expect((await Promise.all(answers)).map((rows) => rows[0].id)).toEqual(
      sources.map((_, i) => i),
    );
    expect(HeldSource.most).toBe(STREAM_READS_AT_ONCE);
    expect(limit.active).toBe(0);
  });

  it("queues other reads (a stream's checks whether it may go on) with the sources'", async () => {
    const limit = new StreamReadLimit();
    const held = Array.from({ length: STREAM_READS_AT_ONCE }, (_, i) => new HeldSource(i));
    const reads = held.map((source) => limit.source(source).after(0, 50));
    let checked = false;
    const check = limit.run(() => {
      checked = true;
      return Promise.resolve(null);
    });
    await settle();
    expect(checked).toBe(false);
    held[0].release();
    await expect(check).resolves.toBeNull();
    expect(checked).toBe(true);
    for (const source of held.slice(1)) source.release();
    await Promise.all(reads);
  });
});
