import { NewInteraction, TaskPatch } from 'src/tasks';
import { RunLog } from 'src/orchestrator/run/run-ports';

/** Records waiting from which the turn waits for them to be written (backpressure). */
const MAX_PENDING_RECORDS = 256;

/**
 * WRITES ONE AGENT TURN'S EVENTS IN BATCHES. The CLI prints events in bursts (one read of its
 * output often holds several lines); storing each with its own statement and transaction costs
 * the database and the event loop most of a turn's work. `push` queues a record (and `patch`
 * a change to the task row, such as the last agent message); one write at a time takes everything
 * queued, in order, as one fenced transaction (`RunLog.write`). So records are stored in the
 * order they arrived, a few milliseconds after, while the task runs.
 *
 * A failed write (the lease lost, the database away) is kept and thrown by the next `push`,
 * `patch` or `flush`, so the turn stops at its next event. When too much waits (`full`; a slow
 * database) the turn flushes before it reads on. `flush` waits until everything queued
 * is stored; the turn calls it before it stores its result.
 */
export class TurnWriter {
  private records: NewInteraction[] = [];
  private taskPatch: TaskPatch = {};
  private writing: Promise<void> | null = null;
  private failure: Error | null = null;

  constructor(private readonly log: RunLog) {}

  /** Queues `record`. */
  push(record: NewInteraction): void {
    this.throwFailure();
    this.records.push(record);
    this.start();
  }

  /** True when so much waits to be written that the turn should `flush` before going on. */
  get full(): boolean {
    return this.records.length >= MAX_PENDING_RECORDS;
  }

  /** Queues a change to the task row, written with the next batch. */
  patch(patch: TaskPatch): void {
    this.throwFailure();
    this.taskPatch = { ...this.taskPatch, ...patch };
    this.start();
  }

  /** Resolves once everything queued is stored; throws the write's failure. */
  async flush(): Promise<void> {
    while (this.writing !== null) await this.writing;
    this.throwFailure();
  }

  private start(): void {
    this.writing ??= this.writeAll().finally(() => {
      this.writing = null;
    });
  }

  private async writeAll(): Promise<void> {
    // Events parsed from one read of the CLI's output are pushed in one synchronous pass; the
    // write starts after it, so they share one batch.
    await Promise.resolve();
    try {
      while (this.records.length > 0 || Object.keys(this.taskPatch).length > 0) {
        const records = this.records;
        const patch = this.taskPatch;
        this.records = [];
        this.taskPatch = {};
        await this.log.write(records, patch);
      }
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.records = [];
      this.taskPatch = {};
    }
  }

  private throwFailure(): void {
    if (this.failure !== null) throw this.failure;
  }
}
