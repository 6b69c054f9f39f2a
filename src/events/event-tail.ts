import { closedFrame, endFrame, eventFrame, KEEP_ALIVE_FRAME } from 'src/events/sse-frames';
import { Wakeup } from 'src/events/wakeup';

/** One stored event: its id orders the stream; `data` is what the client gets. */
export interface TailRow {
  id: number;
  data: unknown;
}

/** Where a stream reads its events: the database. */
export interface TailSource {
  /** Up to `limit` events with ids above `afterId`, ascending. */
  after(afterId: number, limit: number): Promise<TailRow[]>;
  /**
   * What the last frame says when the stream is over (its task finished or gone); null while it
   * goes on. A global stream never ends.
   */
  end(): Promise<unknown>;
}

/** Where a stream writes: the HTTP response. */
export interface TailSink {
  /** False when the chunk was queued behind unsent data: write nothing more until `drained`. */
  write(chunk: string): boolean;
  /** Resolves once the queued data was sent, or the client went away. */
  drained(): Promise<void>;
  /** True while data waits to be sent (a write returned false and no drain came yet). */
  readonly congested: boolean;
  /** Ends the response. */
  end(): void;
  /** Called once when the client goes away (or the response ends). */
  onClose(listener: () => void): void;
}

/** Why the server closes a stream before its end: what its `closed` frame says. */
export interface TailClosing {
  /** A stable word, e.g. `key_revoked`. */
  code: string;
  message: string;
}

export interface TailOptions {
  /** The last id the client has; the stream sends what follows it. */
  afterId: number;
  /** Most events read at once. */
  pageSize: number;
  /**
   * Most characters of frames one page holds while it waits for the client (the first event
   * always goes): a page of large events (an interaction carries up to 320 KiB) would otherwise
   * hold megabytes for every client that stopped reading. The next read asks for as many events
   * as fitted, and twice as many again after a page that fitted whole.
   */
  pageMaxChars: number;
  /** How often to read without a wake-up (events of other instances), ms. */
  pollMs: number;
  keepAliveMs: number;
  /** Called when a read fails (the stream tries again after `pollMs`). */
  onError(error: unknown): void;
  /**
   * Why the client may no longer read (its API key revoked or expired since it opened the
   * stream), asked before each read: a reason ends the stream with a `closed` frame saying it
   * instead of its end frame; null goes on. None: the client may always read.
   */
  closing?: () => Promise<TailClosing | null>;
}

/** One page's frames, and whether the read that made it was full (more may be there at once). */
interface Page {
  frames: { id: number; frame: string }[];
  full: boolean;
}

/**
 * ONE EVENT STREAM, PULLED FROM THE DATABASE. It reads events by id above the last one sent, a
 * bounded page at a time (by count and by size), and reads the next page only once the client took
 * the previous one (`write` returned true, or after `drained`): a slow client holds at most one
 * page in the server, never a growing buffer. Caught up, it waits for `wake()` (this instance wrote an event)
 * or `pollMs` (another instance may have), then reads again: every event is sent once, in id
 * order, with no gap between the replay and the live part, since both are the same read.
 *
 * When the source says the stream is over, the tail reads once more (events stored before the
 * end), sends them and the end frame, and ends the response. A client that may no longer read
 * (`closing`: its key revoked or expired) gets a `closed` frame with the reason instead, and its
 * response ended: reconnecting would only be refused. A client that goes away stops it:
 * its timers are cleared and nothing more is read.
 */
export class EventTail {
  private lastId: number;
  /** How many events the next read asks for: pageSize, fewer after a page cut by its size. */
  private readSize: number;
  private closed = false;
  private readonly wakeup = new Wakeup();
  private keepAlive: NodeJS.Timeout | null = null;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    private readonly source: TailSource,
    private readonly sink: TailSink,
    private readonly options: TailOptions,
  ) {
    this.lastId = options.afterId;
    this.readSize = options.pageSize;
    sink.onClose(() => this.stop());
  }

  /** The id of the last event sent. */
  get lastSentId(): number {
    return this.lastId;
  }

  /** An event may have been stored: read again now. */
  wake(): void {
    this.wakeup.signal();
  }

  /** Called once when the stream stops, for whatever reason. */
  onStop(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  /** Sends until the stream is over or the client is gone; never rejects. */
  async run(): Promise<void> {
    if (this.closed) return;
    this.keepAlive = setInterval(() => this.sendKeepAlive(), this.options.keepAliveMs);
    try {
      while (!this.closed) {
        if (await this.step()) break;
      }
    } finally {
      this.stop();
    }
  }

  /** Ends the stream (server shutdown, client gone). */
  stop(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.keepAlive !== null) clearInterval(this.keepAlive);
    this.keepAlive = null;
    this.wakeup.signal();
    this.sink.end();
    for (const listener of this.closeListeners.splice(0)) listener();
  }

  /** One read and what follows it; true when the stream is over. */
  private async step(): Promise<boolean> {
    try {
      const closing = (await this.options.closing?.()) ?? null;
      if (closing !== null) {
        if (!this.closed) this.sink.write(closedFrame(closing));
        return true;
      }
      if (await this.sendPage()) return false;
      const end = await this.source.end();
      if (end === null) {
        await this.wakeup.wait(this.options.pollMs);
        return false;
      }
      // Events stored before the end was seen are sent before the end frame.
      const before = this.lastId;
      await this.sendPage();
      if (this.lastId !== before) return false;
      if (!this.closed) this.sink.write(endFrame(end));
      return true;
    } catch (error) {
      this.options.onError(error);
      await this.wakeup.wait(this.options.pollMs);
      return false;
    }
  }

  /**
   * Reads one page and sends it, waiting for the client where it falls behind; true when the read
   * was full (read again at once).
   */
  private async sendPage(): Promise<boolean> {
    const page = this.pageOf(await this.source.after(this.lastId, this.readSize));
    for (const { id, frame } of page.frames) {
      if (this.closed) break;
      this.lastId = id;
      if (!this.sink.write(frame)) await this.sink.drained();
    }
    return page.full;
  }

  /**
   * The frames of `rows` up to pageMaxChars (the first whatever its size); the rows themselves are
   * not kept while the page waits for the client. Sets the next read's size.
   */
  private pageOf(rows: TailRow[]): Page {
    const frames: Page['frames'] = [];
    let chars = 0;
    for (const row of rows) {
      const frame = eventFrame(row.id, row.data);
      chars += frame.length;
      if (frames.length > 0 && chars > this.options.pageMaxChars) break;
      frames.push({ id: row.id, frame });
    }
    const full = rows.length === this.readSize;
    if (frames.length < rows.length) this.readSize = frames.length;
    else if (full) this.readSize = Math.min(this.options.pageSize, this.readSize * 2);
    return { frames, full: full || frames.length < rows.length };
  }

  private sendKeepAlive(): void {
    if (!this.closed && !this.sink.congested) this.sink.write(KEEP_ALIVE_FRAME);
  }
}
