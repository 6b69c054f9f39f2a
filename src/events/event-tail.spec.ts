import { EventTail, TailClosing, TailRow, TailSink, TailSource } from 'src/events/event-tail';

class FakeSource implements TailSource {
  rows: TailRow[] = [];
  ended: unknown = null;
  reads = 0;
  failNext = false;

  add(...ids: number[]): void {
    for (const id of ids) this.rows.push({ id, data: { id, content: `event ${id}` } });
  }

  after(afterId: number, limit: number): Promise<TailRow[]> {
    this.reads += 1;
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('database away'));
    }
    return Promise.resolve(this.rows.filter((r) => r.id > afterId).slice(0, limit));
  }

  end(): Promise<unknown> {
    return Promise.resolve(this.ended);
  }
}

class FakeSink implements TailSink {
  chunks: string[] = [];
  congested = false;
  /** Writes accepted before write() starts returning false. */
  capacity = Infinity;
  ended = false;
  private drainWaiters: (() => void)[] = [];
  private closeListeners: (() => void)[] = [];

  write(chunk: string): boolean {
    this.chunks.push(chunk);
    if (this.chunks.length >= this.capacity) this.congested = true;
    return !this.congested;
  }

  drained(): Promise<void> {
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  drain(more: number): void {
    this.capacity = this.chunks.length + more;
    this.congested = false;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  end(): void {
    this.ended = true;
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  disconnect(): void {
    for (const listener of this.closeListeners) listener();
  }

  ids(): number[] {
    return this.chunks
      .map((c) => /^id: (\d+)\n/.exec(c))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]));
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Waits for `condition`, letting timers fire too (the tail's poll is a real timer). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !condition(); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  expect(condition()).toBe(true);
}

function tail(
  source: FakeSource,
  sink: FakeSink,
  options: Partial<ConstructorParameters<typeof EventTail>[2]> = {},
): EventTail {
  return new EventTail(source, sink, {
    afterId: 0,
    pageSize: 3,
    pageMaxChars: 1_000_000,
    pollMs: 60_000,
    keepAliveMs: 60_000,
    onError: () => undefined,
    ...options,
  });
}

describe('EventTail', () => {
  it('stops at once, reading nothing and keeping no timer, on a sink closed before it started', async () => {
    const source = new FakeSource();
    source.add(1, 2);
    const sink = new FakeSink();
    sink.onClose = (listener) => listener();
    const t = tail(source, sink, { keepAliveMs: 1 });
    let stopped = false;
    t.onStop(() => (stopped = true));
    expect(stopped).toBe(true);
    // Counted, never started: a timer left behind would keep the test's process alive.
    const intervals = jest
      .spyOn(global, 'setInterval')
      .mockImplementation(() => 0 as unknown as NodeJS.Timeout);
    try {
      await t.run();
      expect(intervals).not.toHaveBeenCalled();
    } finally {
      intervals.mockRestore();
    }
    expect(source.reads).toBe(0);
    expect(sink.chunks).toEqual([]);
  });

  it('replays what follows the cursor, then sends live events once each, in id order', async () => {
    const source = new FakeSource();
    const sink = new FakeSink();
    source.add(1, 2, 5, 7, 8, 9, 10);
    const stream = tail(source, sink, { afterId: 2 });
    const done = stream.run();
    await until(() => sink.ids().length === 5);
    expect(sink.ids()).toEqual([5, 7, 8, 9, 10]);
    source.add(11, 14);
    stream.wake();
    stream.wake();
    await until(() => sink.ids().length === 7);
    await tick();
    expect(sink.ids()).toEqual([5, 7, 8, 9, 10, 11, 14]);
    stream.stop();
    await done;
    expect(sink.ended).toBe(true);
  });

  it('never loses a wake-up that comes while it reads', async () => {
    const source = new FakeSource();
    const sink = new FakeSink();
    const stream = tail(source, sink);
    const read = source.after.bind(source);
    let first = true;
    source.after = (afterId, limit) => {
      const rows = read(afterId, limit);
      if (first) {
        first = false;
        source.add(3);
        stream.wake();
      }
      return rows;
    };
    const done = stream.run();
    await until(() => sink.ids().length === 1);
    expect(sink.ids()).toEqual([3]);
    stream.stop();
    await done;
  });

  it('reads the next page only once the client took the last one', async () => {
    const source = new FakeSource();
    const sink = new FakeSink();
    source.add(...Array.from({ length: 20 }, (_, i) => i + 1));
    sink.capacity = 2;
    const stream = tail(source, sink);
    const done = stream.run();
    await until(() => sink.congested);
    for (let i = 0; i < 20; i += 1) await tick();
    expect(source.reads).toBe(1);
    expect(sink.ids()).toEqual([1, 2]);
    sink.drain(1);
    await until(() => sink.ids().length === 3);
    for (let i = 0; i < 20; i += 1) await tick();
    expect(source.reads).toBe(1);
    sink.drain(Infinity);
    await until(() => sink.ids().length === 20);
    expect(sink.ids()).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    stream.stop();
    await done;
  });

  it('holds no more than pageMaxChars of frames while the client is behind, then reads as many as fitted', async () => {
    const source = new FakeSource();
    const sink = new FakeSink();
    const big = 'x'.repeat(400);
    const sizes = [10, 10, 10, 10, 10, 10, 10, 10, 400, 400, 400, 10, 10, 10, 10, 10, 10];
    sizes.forEach((size, i) =>
      source.rows.push({ id: i + 1, data: { content: size === 400 ? big : 'small' } }),
    );
    const limits: number[] = [];
    /** Characters of event frames sent between one read and the next. */
    const pages: number[] = [];
    let sentBefore = 0;
    const sentChars = () =>
      sink.chunks.filter((c) => c.startsWith('id: ')).reduce((n, c) => n + c.length, 0);
    const read = source.after.bind(source);
    source.after = (afterId, limit) => {
      limits.push(limit);
      pages.push(sentChars() - sentBefore);
      sentBefore = sentChars();
      return read(afterId, limit);
    };
    sink.capacity = 1;
    const stream = tail(source, sink, { pageSize: 8, pageMaxChars: 1000 });
    const done = stream.run();
    await until(() => sink.congested);
    for (let i = 0; i < 20; i += 1) await tick();
    expect(sink.ids()).toEqual([1]);
    sink.drain(Infinity);
    await until(() => sink.ids().length === sizes.length);
    expect(sink.ids()).toEqual(sizes.map((_, i) => i + 1));
    // Eight small ones; of the next eight, two large ones fit (the third waits) and the next read
    // asks for two; those fit, so it asks for twice as many, then for the page's size again.
    expect(limits.slice(0, 5)).toEqual([8, 8, 2, 4, 8]);
    expect(Math.max(...pages)).toBeLessThanOrEqual(1000);
    expect(pages.filter((chars) => chars > 800)).toHaveLength(1);
    stream.stop();
    await done;
  });

  it('sends what was stored before the end, then the end frame, and ends', async () => {
    const source = new FakeSource();
    const sink = new FakeSink();
    source.add(1);
    const stream = tail(source, sink);
    const done = stream.run();
    await until(() => sink.ids().length === 1);
    source.add(2, 3, 4, 6);
    source.ended = { status: 'COMPLETED' };
    stream.wake();
    await done;
    expect(sink.ids()).toEqual([1, 2, 3, 4, 6]);
    expect(sink.chunks[sink.chunks.length - 1]).toBe(
      'event: end\ndata: {"status":"COMPLETED"}\n\n',
    );
    expect(sink.ended).toBe(true);
  });

  it('ends with a closed frame saying why, reading nothing more, once the client may no longer read', async () => {
    const source = new FakeSource();
    const sink = new FakeSink();
    source.add(1);
    let closing: TailClosing | null = null;
    const stream = tail(source, sink, { closing: () => Promise.resolve(closing) });
    const done = stream.run();
    await until(() => sink.ids().length === 1);
    closing = { code: 'key_revoked', message: 'revoked' };
    source.add(2);
    stream.wake();
    await done;
    expect(sink.ids()).toEqual([1]);
    expect(sink.chunks.join('')).not.toContain('event: end');
    expect(sink.chunks[sink.chunks.length - 1]).toBe(
      'event: closed\ndata: {"code":"key_revoked","message":"revoked"}\n\n',
    );
    expect(sink.ended).toBe(true);
  });

  it('stops reading when the client goes away, even while it waits for a drain', async () => {
    const source = new FakeSource();
    const sink = new FakeSink();
    source.add(1, 2, 3, 4, 5);
    sink.capacity = 1;
    const stream = tail(source, sink, { keepAliveMs: 5 });
    const stopped = jest.fn();
    stream.onStop(stopped);
    const done = stream.run();
    await until(() => sink.congested);
    sink.disconnect();
    sink.drain(Infinity);
    await done;
    const reads = source.reads;
    const chunks = sink.chunks.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(source.reads).toBe(reads);
    expect(sink.chunks.length).toBe(chunks);
    expect(stopped).toHaveBeenCalledTimes(1);
  });

  it('reads again on its own every pollMs (events of other instances)', async () => {
    const source = new FakeSource();
    const sink = new FakeSink();
    const stream = tail(source, sink, { pollMs: 10 });
    const done = stream.run();
    await until(() => source.reads > 0);
    source.add(4);
    await until(() => sink.ids().length === 1);
    stream.stop();
    await done;
  });

  it('reports a failed read and tries again', async () => {
    const source = new FakeSource();
    const sink = new FakeSink();
    const errors: unknown[] = [];
    source.failNext = true;
    source.add(1);
    const stream = tail(source, sink, { pollMs: 5, onError: (e) => errors.push(e) });
    const done = stream.run();
    await until(() => sink.ids().length === 1);
    expect(errors).toHaveLength(1);
    stream.stop();
    await done;
  });

  it('sends keep-alive comments while idle, none while the client is behind', async () => {
    const source = new FakeSource();
    const sink = new FakeSink();
    const stream = tail(source, sink, { keepAliveMs: 5 });
    const done = stream.run();
    await until(() => sink.chunks.includes(': keep-alive\n\n'));
    sink.congested = true;
    const count = sink.chunks.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(sink.chunks.length).toBe(count);
    stream.stop();
    await done;
  });
});
