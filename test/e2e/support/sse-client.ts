import { request as httpRequest, IncomingMessage, ClientRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from 'supertest/types';

/** One server-sent event as a browser's EventSource would deliver it. */
export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}

/** The base URL of a listening Nest HTTP server or of a server process (`http://host:port`). */
export function baseUrl(server: App | string): string {
  if (typeof server === 'string') return server;
  const address = (server as unknown as { address(): AddressInfo }).address();
  return `http://127.0.0.1:${address.port}`;
}

/**
 * A minimal SSE client over node:http, parsing frames like the EventSource standard (fields
 * `id`, `event`, `data`, comments), so a test sees exactly what a browser would. `paused: true`
 * reads nothing until `resume()` (a slow client).
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  status = 0;
  contentType = '';
  /** Everything received, as text. */
  raw = '';
  /** Resolves when the server ended the response or the connection closed. */
  readonly closed: Promise<void>;
  private buffer = '';
  private response: IncomingMessage | null = null;
  private request: ClientRequest | null = null;
  private resolveClosed!: () => void;
  private lastId: string | null = null;
  private readonly listeners: ((event: SseEvent) => void)[] = [];

  private constructor() {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** Connects; resolves once the response headers arrived. */
  static connect(
    url: string,
    headers: Record<string, string> = {},
    { paused = false }: { paused?: boolean } = {},
  ): Promise<SseClient> {
    const client = new SseClient();
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { headers: { Accept: 'text/event-stream', ...headers } });
      client.request = req;
      req.on('error', (error) => {
        client.resolveClosed();
        reject(error);
      });
      req.on('close', () => client.resolveClosed());
      req.on('response', (res) => {
        client.response = res;
        client.status = res.statusCode ?? 0;
        client.contentType = String(res.headers['content-type'] ?? '');
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => client.receive(chunk));
        res.on('end', () => client.resolveClosed());
        res.on('close', () => client.resolveClosed());
        if (paused) res.pause();
        resolve(client);
      });
      req.end();
    });
  }

  /** The id of the last event received (what a reconnect sends as Last-Event-ID). */
  get lastEventId(): string | null {
    return this.lastId;
  }

  /** The `message` events' data, parsed. */
  messages<T = Record<string, unknown>>(): T[] {
    return this.events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data) as T);
  }

  /** The `end` event's data, parsed, once it came. */
  end<T = Record<string, unknown>>(): T | undefined {
    const end = this.events.find((e) => e.event === 'end');
    return end === undefined ? undefined : (JSON.parse(end.data) as T);
  }

  /** Calls `listener` with each event as it is parsed, in the same tick as its bytes arrived. */
  onEvent(listener: (event: SseEvent) => void): void {
    this.listeners.push(listener);
  }

  resume(): void {
    this.response?.resume();
  }

  /** Hangs up. */
  close(): void {
    this.request?.destroy();
    this.response?.destroy();
  }

  private receive(chunk: string): void {
    this.raw += chunk;
    this.buffer += chunk;
    let cut: number;
    while ((cut = this.buffer.search(/\r\n\r\n|\n\n|\r\r/)) >= 0) {
      const block = this.buffer.slice(0, cut);
      this.buffer = this.buffer.slice(cut).replace(/^(\r\n\r\n|\n\n|\r\r)/, '');
      this.dispatch(block);
    }
  }

  private dispatch(block: string): void {
    let event = 'message';
    const data: string[] = [];
    let sawData = false;
    for (const line of block.split(/\r\n|\r|\n/)) {
      if (line.startsWith(':')) {
        this.comments += 1;
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') this.lastId = value;
      else if (field === 'data') {
        data.push(value);
        sawData = true;
      }
    }
    if (!sawData) return;
    const parsed = { id: this.lastId, event, data: data.join('\n') };
    this.events.push(parsed);
    for (const listener of this.listeners) listener(parsed);
  }
}
