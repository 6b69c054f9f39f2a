import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** Answers a request itself, or hands it on (`next`) untouched. */
export type FrontHandler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Puts `front` before the server's own request listeners (Express's app): every request meets
 * `front` first, and what it hands on reaches them as before, the same objects untouched.
 */
export function putInFrontOfExpress(server: Server, front: FrontHandler): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) =>
    front(req, res, () => {
      for (const listener of listeners) listener.call(server, req, res);
    }),
  );
}
