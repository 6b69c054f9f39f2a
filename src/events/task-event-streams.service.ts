import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { Response } from 'express';
import { filter, Observable } from 'rxjs';
import { DataSource, Repository } from 'typeorm';
import { Clock, DomainError, ErrorCode } from 'src/common';
import { AppConfig } from 'src/config';
import { ClaudeInteraction, TaskEventLog, TaskRowReader } from 'src/tasks';
import { EventTail, TailClosing, TailSource } from 'src/events/event-tail';
import { openEventStream, ResponseSink } from 'src/events/response-sink';
import { startFrame } from 'src/events/sse-frames';
import { StreamReadLimit } from 'src/events/stream-read-limit';
import { TaskEventReads } from 'src/events/task-event-reads';
import {
  GlobalEventSource,
  GlobalStreamFilter,
  TaskEventSource,
} from 'src/events/task-event-sources';

/** Most events read from the database at once for one stream. */
export const STREAM_PAGE_SIZE = 50;

/** Most characters of frames a stream's page holds while its client reads them (`EventTail`). */
export const STREAM_PAGE_MAX_CHARS = 1024 * 1024;
/** How long a client waits before reconnecting after the connection dropped, ms. */
const RECONNECT_MS = 1000;

/**
 * The open event streams of this instance. Each is an `EventTail` over the database, woken by
 * `TaskEventLog.events$` when this instance stores one of its events, and reading on its own every
 * SSE_POLL_MS for events other instances store. All are ended when the app shuts down.
 */
@Injectable()
export class TaskEventStreams implements OnModuleDestroy {
  private readonly logger = new Logger(TaskEventStreams.name);
  private readonly open = new Set<EventTail>();
  /** Streams open or being opened, by their holder (`Principal`'s key, or its kind without one). */
  private readonly held = new Map<string, number>();
  private readonly reads: TaskEventReads;
  /** Every stream's database reads, a few at a time (`STREAM_READS_AT_ONCE`). */
  private readonly readLimit = new StreamReadLimit();
  /** Whether event ids become visible in the order they were handed out (see GlobalEventSource). */
  private readonly idsInCommitOrder: boolean;

  constructor(
    private readonly events: TaskEventLog,
    @InjectRepository(ClaudeInteraction)
    private readonly interactions: Repository<ClaudeInteraction>,
    @InjectDataSource() dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly rows: TaskRowReader,
    private readonly clock: Clock,
  ) {
    this.reads = new TaskEventReads(dataSource);
    // SQLite runs one write at a time: its ids become visible in order.
    this.idsInCommitOrder = dataSource.options.type === 'better-sqlite3';
  }

  /**
   * `read` (a stream's check whether it may go on: its key, its session), in turn with every
   * stream's reads (`STREAM_READS_AT_ONCE`).
   */
  streamRead<T>(read: () => Promise<T>): Promise<T> {
    return this.readLimit.run(read);
  }

  /** How many streams are open now. */
  get openStreams(): number {
    return this.open.size;
  }

  /**
   * Streams one task's events after `afterId` into `res`, until it finished, the client left or
   * `closing` gives a reason to close it.
   */
  async followTask(
    taskId: string,
    afterId: number,
    res: Response,
    holder: string,
    closing?: () => Promise<TailClosing | null>,
  ): Promise<void> {
    await this.opening(holder, async (release) => {
      const source = new TaskEventSource(this.reads, this.rows, taskId);
      const from = afterId === 0 ? 0 : await this.notAhead(afterId);
      this.start(source, from, res, this.events.eventsOf(taskId), closing, release);
    });
  }

  /**
   * Streams the events of every task `scope` lets through into `res`, from `afterId` (null: from
   * now on), until the client left or `closing` gives a reason to close it.
   */
  async followAll(
    scope: GlobalStreamFilter,
    afterId: number | null,
    res: Response,
    holder: string,
    closing?: () => Promise<TailClosing | null>,
  ): Promise<void> {
    await this.opening(holder, async (release) => {
      const source = new GlobalEventSource(
        this.interactions,
        scope,
        this.idsInCommitOrder,
        this.clock,
      );
      const from = afterId === null ? await this.newestId() : await this.notAhead(afterId);
      this.start(source, from, res, this.events.events$, closing, release);
    });
  }

  /** Opens a stream of `holder`'s (`open`) counted by `hold`, released when the opening fails. */
  private async opening(
    holder: string,
    open: (release: () => void) => Promise<void>,
  ): Promise<void> {
    const release = this.hold(holder);
    try {
      await open(release);
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * Counts a stream `holder` opens, before anything of it is sent; refuses it (429
   * `too_many_streams`) past MAX_EVENT_STREAMS_PER_KEY open ones. Returns its release (once).
   */
  private hold(holder: string): () => void {
    const limit = this.config.MAX_EVENT_STREAMS_PER_KEY;
    const open = this.held.get(holder) ?? 0;
    if (open >= limit) {
      throw new DomainError(
        ErrorCode.TooManyStreams,
        `This key has ${open} event streams open, the most MAX_EVENT_STREAMS_PER_KEY allows: close one first`,
        { limit },
      );
    }
    this.held.set(holder, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(holder) ?? 1) - 1;
      if (left > 0) this.held.set(holder, left);
      else this.held.delete(holder);
    };
  }

  /**
   * `afterId`, or the newest event's id where it is past that: a cursor no event has reached (a
   * database restored or started again since the client read it) would hold back every event
   * to come until one is stored with a higher id. So the stream goes on from the newest event,
   * as one opened without a cursor does. A cursor taken from events since deleted (a deleted
   * task's) passes the newest too: nothing lies between, and what is stored next is sent. Where
   * the newest cannot be read (the database away), the cursor is taken as it is: the stream
   * opens, and its reads wait the outage out, as they did before this look.
   */
  private async notAhead(afterId: number): Promise<number> {
    try {
      return Math.min(afterId, await this.newestId());
    } catch (error) {
      this.logger.warn(`event stream: the newest event id could not be read: ${String(error)}`);
      return afterId;
    }
  }

  /** The id of the newest event stored (where a global stream without a cursor starts). */
  private async newestId(): Promise<number> {
    const row = await this.interactions
      .createQueryBuilder('i')
      .select('MAX(i.id)', 'max')
      .getRawOne<{ max: number | string | null }>();
    return Number(row?.max ?? 0);
  }

  onModuleDestroy(): void {
    for (const tail of [...this.open]) tail.stop();
  }

  private start(
    source: TailSource,
    afterId: number,
    res: Response,
    wakeups: Observable<ClaudeInteraction>,
    closing: (() => Promise<TailClosing | null>) | undefined,
    release: () => void,
  ): void {
    openEventStream(res);
    // A HEAD asks for the headers alone (Express routes it to the GET): sent, the response ends.
    if (res.req.method === 'HEAD') {
      release();
      res.end();
      return;
    }
    res.write(startFrame(RECONNECT_MS, afterId));
    const tail = new EventTail(this.readLimit.source(source), new ResponseSink(res), {
      afterId,
      pageSize: STREAM_PAGE_SIZE,
      pageMaxChars: STREAM_PAGE_MAX_CHARS,
      pollMs: this.config.SSE_POLL_MS,
      keepAliveMs: this.config.SSE_KEEPALIVE_SECONDS * 1000,
      onError: (error) => this.logger.warn(`event stream read failed: ${String(error)}`),
      closing,
    });
    const subscription = wakeups
      .pipe(filter((event) => event.id > tail.lastSentId))
      .subscribe(() => tail.wake());
    this.open.add(tail);
    tail.onStop(() => {
      subscription.unsubscribe();
      this.open.delete(tail);
      release();
    });
    void tail.run();
  }
}
