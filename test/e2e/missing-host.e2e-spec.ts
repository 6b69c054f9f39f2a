import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rawRequest } from 'test/e2e/support/raw-request';
import { ServerProcess, startTask, startTestServer } from 'test/e2e/support/server-process';

/**
 * AN HTTP/1.1 REQUEST WITHOUT HOST, over a raw socket against the built server: refused with the
 * usual JSON error body (Node's server would answer a bare `400 Bad Request` itself), by Express
 * and by the status read's fast path alike, while requests with a Host, and HTTP/1.0 ones
 * without, are answered as before.
 */

/** The base URL of a started server (supertest's `App` is its string). */
const urlOf = (server: ServerProcess): string => server.url as unknown as string;

describe('a request without Host (the built server)', () => {
  let dir: string;
  let server: ServerProcess;
  let statusUrl: string;

  beforeAll(async () => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cta-no-host-')));
    const project = path.join(dir, 'project');
    fs.mkdirSync(project);
    server = await startTestServer(dir, { ORCHESTRATOR_ENABLED: 'false' });
    statusUrl = `/api/v1/tasks/${await startTask(server.url, project, 'read my status')}/status`;
  });

  afterAll(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['a route of Express', '/health'],
    ["the status read's fast path", 'STATUS'],
  ])('answers an HTTP/1.1 one to %s with 400 and the JSON error body', async (_label, url) => {
    const reply = await rawRequest(
      urlOf(server),
      `GET ${url === 'STATUS' ? statusUrl : url} HTTP/1.1\r\nX-Request-Id: no-host-1`,
    );
    expect(reply.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(reply.headers).toEqual(
      expect.arrayContaining([
        'X-Request-Id: no-host-1',
        'Content-Type: application/json; charset=utf-8',
      ]),
    );
    expect(reply.body).toEqual({
      code: 'bad_request',
      message: 'An HTTP/1.1 request needs a Host header',
      request_id: 'no-host-1',
    });
  });

  it('answers as before an HTTP/1.0 one without Host and any with a Host', async () => {
    const answers = await Promise.all(
      [
        `GET ${statusUrl} HTTP/1.0`,
        `GET ${statusUrl} HTTP/1.1\r\nHost: localhost`,
        `GET /health HTTP/1.1\r\nHost: 127.0.0.1`,
      ].map((head) => rawRequest(urlOf(server), head)),
    );
    expect(answers.map((a) => a.statusLine.split(' ')[1])).toEqual(['200', '200', '200']);
    expect(answers[0].body).toMatchObject({ status: 'PENDING' });
    const foreign = await rawRequest(
      urlOf(server),
      `GET ${statusUrl} HTTP/1.1\r\nHost: evil.example`,
    );
    expect(foreign.statusLine).toBe('HTTP/1.1 403 Forbidden');
    expect(foreign.body).toMatchObject({ code: 'host_not_allowed' });
  });
});
