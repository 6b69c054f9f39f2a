import type { Response } from 'express';
import { TailSink } from 'src/events/event-tail';

/**
 * An HTTP response as an event stream: `text/event-stream`, never cached or buffered by a proxy,
 * headers sent at once, no socket timeout, no Nagle delay.
 */
export function openEventStream(res: Response): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  res.socket?.setTimeout(0);
}

/** The response as the tail's sink: its backpressure, its end, its close. */
export class ResponseSink implements TailSink {
  constructor(private readonly res: Response) {}

  get congested(): boolean {
    return this.res.writableNeedDrain;
  }

  write(chunk: string): boolean {
    if (this.res.writableEnded || this.res.destroyed) return true;
    return this.res.write(chunk);
  }

  drained(): Promise<void> {
    const res = this.res;
    if (!res.writableNeedDrain || res.destroyed || res.writableEnded) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }

  /**
   * `listener` once the response is closed: at once when it already is (the client left while
   * the stream was being set up, and its one `close` event has gone by).
   */
  onClose(listener: () => void): void {
    if (this.res.closed || this.res.destroyed) listener();
    else this.res.once('close', listener);
  }
}
