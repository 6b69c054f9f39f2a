import { createServer, request, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response } from 'express';
import { ResponseSink } from 'src/events/response-sink';

describe('ResponseSink', () => {
  let server: Server;
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** The response to a request whose client left, once the response has closed. */
  async function closedResponse(): Promise<Response> {
    let received!: (res: ServerResponse) => void;
    const response = new Promise<ServerResponse>((resolve) => (received = resolve));
    server = createServer((_req, res) => received(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = request({ host: '127.0.0.1', port, path: '/' });
    client.on('error', () => undefined);
    client.end();
    const res = await response;
    const closed = new Promise<void>((resolve) => res.once('close', () => resolve()));
    client.destroy();
    await closed;
    return res as unknown as Response;
  }

  it("tells a close listener added after the response closed at once (its one 'close' is gone)", async () => {
    const res = await closedResponse();
    let told = 0;
    new ResponseSink(res).onClose(() => (told += 1));
    expect(told).toBe(1);
  });
});
