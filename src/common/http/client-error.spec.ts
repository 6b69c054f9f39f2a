import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { answerClientErrorsWithJson } from 'src/common/http/client-error';
import type { RequestWithId } from 'src/common/http/request-id';

/** What a raw client sent `text` (and no more) got back before the server closed. */
function rawReply(server: Server, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (reply += chunk));
    socket.on('close', () => resolve(reply));
    socket.on('error', reject);
  });
}

describe('answerClientErrorsWithJson (a real node:http server)', () => {
  let server: Server;
  /** The status of each request's response when it closed, by request id. */
  let closedWith: Map<string, Promise<number>>;

  beforeEach(async () => {
    closedWith = new Map();
    // Node's own request timeout, checked often: a request whose body never ends hits it.
    server = createServer(
      { requestTimeout: 200, headersTimeout: 200, connectionsCheckingInterval: 20 },
      (req: IncomingMessage, res: ServerResponse) => {
        const id = String(req.headers['x-request-id']);
        (req as RequestWithId).requestId = id;
        closedWith.set(id, new Promise((closed) => res.on('close', () => closed(res.statusCode))));
        req.resume();
      },
    );
    answerClientErrorsWithJson(server);
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((closed) => server.close(closed));
  });

  it('answers a request whose body timed out under its own id, and its response says 408', async () => {
    const reply = await rawReply(
      server,
      'POST /x HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: slow-1\r\nContent-Length: 10\r\n\r\n{',
    );
    const [head, body] = reply.split('\r\n\r\n');
    expect(head.split('\r\n')).toEqual(
      expect.arrayContaining(['HTTP/1.1 408 Request Timeout', 'X-Request-Id: slow-1']),
    );
    expect(JSON.parse(body)).toEqual({
      code: 'request_timeout',
      message: 'The request was not received in time',
      request_id: 'slow-1',
    });
    expect(await closedWith.get('slow-1')).toBe(408);
  });

  it('answers a request Express never saw under a fresh id', async () => {
    const reply = await rawReply(server, 'GET / HTTP/1.1\r\nno colon\r\n\r\n');
    const [head, body] = reply.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    const { request_id: id } = JSON.parse(body) as { request_id: string };
    expect(head).toContain(`X-Request-Id: ${id}`);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
