import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from 'supertest/types';
import { baseUrl, SseClient } from 'test/e2e/support/sse-client';

/** How often a waiter looks again when it has no event stream to wake it. */
const POLL_MS = 50;

/**
 * What a waiter on one task needs from the task's event stream (`GET /tasks/{id}/events`): to be
 * woken when the task ends, and to know whether anything happened meanwhile. Where the stream
 * cannot be followed (refused, or closed by the server) the waiter is woken every POLL_MS, as a
 * poll would be.
 */
export interface TaskWakeups {
  /** Where the server is reached meanwhile (its own listener for an app that does not listen). */
  readonly url: string;
  /** Events received so far (interactions, and `end`). */
  readonly events: number;
  /** Resolves once the stream has ended (the task is finished) or closed, or after `ms`. */
  next(ms: number): Promise<void>;
  /** Stops following; a wait still pending resolves. */
  close(): Promise<void>;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * `server`'s base URL. A string is one; a listening server has its address; a server that is not
 * listening (an app under test, which supertest reaches one request at a time) gets a listener of
 * its own on a free port that hands each request to the server's request listeners, closed by
 * `close`.
 */
async function reachable(server: App): Promise<{ url: string; close(): Promise<void> }> {
  const none = (): Promise<void> => Promise.resolve();
  if (typeof server === 'string' || (typeof server !== 'function' && server.address() !== null)) {
    return { url: baseUrl(server), close: none };
  }
  const handlers: { target: unknown; listeners: RequestListener[] } =
    typeof server === 'function'
      ? { target: undefined, listeners: [server as RequestListener] }
      : { target: server, listeners: server.listeners('request') as RequestListener[] };
  return loopbackServer((req, res) => {
    for (const listener of handlers.listeners) listener.call(handlers.target, req, res);
  });
}

/** A server of `handler` listening on a free loopback port: its URL, and its close (connections too). */
export async function loopbackServer(
  handler: RequestListener,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Follows task `taskId`'s event stream on `server` (`TaskWakeups`). */
export async function followTask(server: App, taskId: string): Promise<TaskWakeups> {
  const place = await reachable(server);
  const client = await SseClient.connect(`${place.url}/api/v1/tasks/${taskId}/events`).catch(
    () => null,
  );
  const following = client !== null && client.status === 200;
  if (client !== null && !following) client.close();
  let ended = !following;
  // An end that came while no one was waiting: the next wait returns at once.
  let missed = false;
  let wake: (() => void) | null = null;
  const endNow = (): void => {
    if (ended) return;
    ended = true;
    if (wake !== null) wake();
    else missed = true;
  };
  if (following) {
    client.onEvent((event) => {
      if (event.event !== 'message') endNow();
    });
    void client.closed.then(endNow);
  }
  return {
    url: place.url,
    get events() {
      return following ? client.events.length : 0;
    },
    next: (ms) => {
      if (missed) {
        missed = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, ended ? Math.min(ms, POLL_MS) : ms);
        function done(): void {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
        if (!ended) wake = done;
      });
    },
    close: async () => {
      wake?.();
      client?.close();
      await place.close();
    },
  };
}
