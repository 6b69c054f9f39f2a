import { LeaseLostError, NewInteraction, TaskPatch } from 'src/tasks';
import { RunLog } from 'src/orchestrator/run/run-ports';
import { TurnWriter } from 'src/orchestrator/run/turn-writer';

/** A log that records each write; a write resolves when the test lets it (`release`). */
class SlowLog {
  readonly writes: { records: NewInteraction[]; patch: TaskPatch }[] = [];
  private waiting: (() => void)[] = [];
  failWith: Error | null = null;

  write(records: readonly NewInteraction[], patch: TaskPatch): Promise<void> {
    this.writes.push({ records: [...records], patch });
    if (this.failWith) return Promise.reject(this.failWith);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }

  asRunLog(): RunLog {
    return { write: (records, patch) => this.write(records, patch) } as RunLog;
  }
}

const record = (n: number): NewInteraction => ({
  kind: 'assistant',
  iteration: 1,
  content: `line ${n}`,
});

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TurnWriter', () => {
  it('writes what was pushed in one pass as one batch, with the task row patch', async () => {
    const log = new SlowLog();
    const writer = new TurnWriter(log.asRunLog());
    writer.push(record(1));
    writer.patch({ lastAgentMessage: 'a' });
    writer.push(record(2));
    writer.patch({ lastAgentMessage: 'b', claudeSessionId: 's' });
    await settle();
    expect(log.writes).toEqual([
      {
        records: [record(1), record(2)],
        patch: { lastAgentMessage: 'b', claudeSessionId: 's' },
      },
    ]);
  });

  it('keeps one write at a time and writes what came meanwhile next, in order', async () => {
    const log = new SlowLog();
    const writer = new TurnWriter(log.asRunLog());
    writer.push(record(1));
    await settle();
    writer.push(record(2));
    writer.push(record(3));
    await settle();
    expect(log.writes.map((w) => w.records)).toEqual([[record(1)]]);
    const flushed = writer.flush();
    log.release();
    await settle();
    log.release();
    await flushed;
    expect(log.writes.map((w) => w.records)).toEqual([[record(1)], [record(2), record(3)]]);
  });

  it('flush waits for everything queued to be stored', async () => {
    const log = new SlowLog();
    const writer = new TurnWriter(log.asRunLog());
    writer.push(record(1));
    let flushed = false;
    const flushing = writer.flush().then(() => (flushed = true));
    await settle();
    expect(flushed).toBe(false);
    log.release();
    await flushing;
    expect(flushed).toBe(true);
  });

  it('is full when many records wait, so the turn waits for the write', async () => {
    const log = new SlowLog();
    const writer = new TurnWriter(log.asRunLog());
    for (let n = 0; n < 255; n += 1) writer.push(record(n));
    expect(writer.full).toBe(false);
    writer.push(record(255));
    expect(writer.full).toBe(true);
    const flushing = writer.flush();
    await settle();
    log.release();
    await flushing;
    expect(writer.full).toBe(false);
    expect(log.writes[0].records).toHaveLength(256);
  });

  it('throws a failed write from the next push, patch and flush (the turn stops)', async () => {
    const log = new SlowLog();
    log.failWith = new LeaseLostError('t1');
    const writer = new TurnWriter(log.asRunLog());
    writer.push(record(1));
    await expect(writer.flush()).rejects.toBeInstanceOf(LeaseLostError);
    expect(() => writer.push(record(2))).toThrow(LeaseLostError);
    expect(() => writer.patch({ lastAgentMessage: 'x' })).toThrow(LeaseLostError);
    expect(log.writes).toHaveLength(1);
  });
});
