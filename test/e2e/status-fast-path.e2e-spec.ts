import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request, { Response } from 'supertest';
import type { App } from 'supertest/types';
import { ApiKeysService } from 'src/auth/api-keys.service';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { describeMysql, TestDatabaseKind } from 'test/e2e/support/test-database';
import { eventually } from 'test/e2e/support/eventually';
import { startTask, startTestServer } from 'test/e2e/support/server-process';

/**
 * THE STATUS READ'S FAST PATH (`src/fast-reads/status-fast-path.ts`) against the full stack it
 * stands in front of. Whether Express saw a request is read off Express's own `handle`. A
 * conditional request whose ETag does not match is handed on, so the same read is answered both
 * ways: the same status, body and headers, and the same log line. Refusals, other forms of the
 * URL, a forwarded request behind a trusted proxy and a Host not allowed are handed on and
 * answered by the full stack; the rate limit counts a request once whichever way it went;
 * metrics count what the fast path answers; with CORS_ORIGINS set it is not in front at all.
 */

const STATUS_ROUTE = '/api/v1/tasks/:id/status';

/**
 * Headers that differ between two answers to the same request by nature: the clock's (the date,
 * the seconds until the rate limit's window resets, which can cross a second between the two)
 * and the count left.
 */
const VARYING = new Set(['date', 'x-ratelimit-remaining', 'x-ratelimit-reset']);

function stableHeaders(res: Response): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(res.headers).filter(([name]) => !VARYING.has(name.toLowerCase())),
  );
}

interface Fixture {
  t: TestApp;
  http: () => ReturnType<typeof request>;
  /** How many requests reached Express so far. */
  expressCalls: () => number;
  admin: string;
  writer: string;
  taskId: string;
}

async function fixture(kind: TestDatabaseKind, env: Record<string, string>): Promise<Fixture> {
  const project = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cta-fast-')));
  const t = await createTestApp({
    database: kind,
    env: {
      AUTH_REQUIRED: 'true',
      ALLOWED_PROJECT_ROOTS: path.dirname(project),
      RATE_LIMIT_PER_MINUTE: '0',
      ...env,
    },
  });
  const originalClose = t.close;
  t.close = async () => {
    await originalClose();
    fs.rmSync(project, { recursive: true, force: true });
  };
  await t.app.listen(0, '127.0.0.1');
  const express = t.app.getHttpAdapter().getInstance() as unknown as { handle: () => void };
  const handle = jest.spyOn(express, 'handle');
  const keys = t.app.get(ApiKeysService);
  const key = async (scopes: ('admin' | 'tasks:write' | 'tasks:read')[]) =>
    (await keys.create({ name: scopes.join(' '), scopes, expiresAt: null, createdByKeyId: null }))
      .key;
  const admin = await key(['admin']);
  const writer = await key(['tasks:write', 'tasks:read']);
  const http = () => request(t.app.getHttpServer() as App);
  const session = await http()
    .post('/api/v1/sessions')
    .set('Authorization', `Bearer ${writer}`)
    .send({ project_path: project })
    .expect(201);
  const task = await http()
    .post('/api/v1/tasks')
    .set('Authorization', `Bearer ${writer}`)
    .send({ session_id: session.body.id, description: 'read me often' })
    .expect(201);
  return {
    t,
    http,
    expressCalls: () => handle.mock.calls.length,
    admin,
    writer,
    taskId: task.body.id as string,
  };
}

/** The fixture of the enclosing `describe`: made before its tests, closed after them. */
function useFixture(kind: TestDatabaseKind, env: Record<string, string>): () => Fixture {
  let made: Fixture | undefined;
  beforeAll(async () => {
    made = await fixture(kind, env);
  });
  afterAll(async () => {
    await made?.t.close();
  });
  return () => {
    if (made === undefined) throw new Error('the fixture was not made');
    return made;
  };
}

/** `GET` of `url` as `key`, with extra headers. */
function get(f: Fixture, url: string, key: string | null, headers: Record<string, string> = {}) {
  let req = f.http().get(url);
  if (key !== null) req = req.set('Authorization', `Bearer ${key}`);
  for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
  return req;
}

/** The answer and whether Express answered it. */
async function answered(
  f: Fixture,
  url: string,
  key: string | null,
  headers: Record<string, string> = {},
): Promise<{ res: Response; byExpress: boolean }> {
  const before = f.expressCalls();
  const res = await get(f, url, key, headers);
  return { res, byExpress: f.expressCalls() > before };
}

function fastPathSuite(kind: TestDatabaseKind): void {
  describe('with keys and a rate limit', () => {
    const fixtureOf = useFixture(kind, { RATE_LIMIT_PER_MINUTE: '1000' });

    it('answers the status itself with what the full stack answers, headers and ETag included', async () => {
      const f = fixtureOf();
      const url = `/api/v1/tasks/${f.taskId}/status`;
      const fast = await answered(f, url, f.writer, { 'X-Request-Id': 'same-request' });
      const full = await answered(f, url, f.writer, {
        'X-Request-Id': 'same-request',
        'If-None-Match': 'W/"not-this-one"',
      });
      expect(fast.byExpress).toBe(false);
      expect(full.byExpress).toBe(true);
      expect(fast.res.status).toBe(200);
      expect(full.res.status).toBe(200);
      expect(fast.res.body).toEqual(full.res.body);
      expect(fast.res.body).toMatchObject({ id: f.taskId, status: 'PENDING' });
      expect(stableHeaders(fast.res)).toEqual(stableHeaders(full.res));
      expect(fast.res.headers).toMatchObject({
        'x-request-id': 'same-request',
        'content-type': 'application/json; charset=utf-8',
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
        'x-ratelimit-limit': '1000',
      });
      expect(Number(fast.res.headers['x-ratelimit-remaining'])).toBe(
        Number(full.res.headers['x-ratelimit-remaining']) + 1,
      );
      const reset = (res: Response) => Number(res.headers['x-ratelimit-reset']);
      expect(reset(fast.res)).toBeGreaterThan(0);
      expect(Math.abs(reset(fast.res) - reset(full.res))).toBeLessThanOrEqual(1);
      const unchanged = await answered(f, url, f.writer, {
        'If-None-Match': fast.res.headers.etag,
      });
      expect(unchanged.res.status).toBe(304);
    });

    it('hands every refusal to the full stack, which answers it', async () => {
      const f = fixtureOf();
      const url = `/api/v1/tasks/${f.taskId}/status`;
      const keys = f.t.app.get(ApiKeysService);
      const newKey = (name: string) =>
        keys.create({ name, scopes: ['tasks:read'], expiresAt: null, createdByKeyId: null });
      const reader = (await newKey('reader of nothing of its own')).key;
      const revoked = await newKey('revoked');
      await keys.revoke(revoked.apiKey.id);
      const cases: { key: string | null; url: string; status: number; code: string }[] = [
        { key: null, url, status: 401, code: 'unauthorized' },
        { key: `${f.writer.slice(0, -4)}AAAA`, url, status: 401, code: 'unauthorized' },
        { key: revoked.key, url, status: 401, code: 'unauthorized' },
        { key: reader, url, status: 404, code: 'task_not_found' },
        {
          key: f.writer,
          url: '/api/v1/tasks/00000000-0000-4000-8000-000000000000/status',
          status: 404,
          code: 'task_not_found',
        },
      ];
      for (const c of cases) {
        const { res, byExpress } = await answered(f, c.url, c.key);
        expect({ status: res.status, code: res.body.code, byExpress }).toEqual({
          status: c.status,
          code: c.code,
          byExpress: true,
        });
      }
      const unauthorized = await get(f, url, null);
      expect(unauthorized.headers['www-authenticate']).toBe('Bearer');
    });

    it('hands on other forms of the URL and requests it does not answer, which the full stack answers', async () => {
      const f = fixtureOf();
      const url = `/api/v1/tasks/${f.taskId}/status`;
      const forms: { url: string; headers?: Record<string, string>; status: number }[] = [
        { url: url.replace(f.taskId, f.taskId.toUpperCase()), status: 200 },
        { url: `${url}/`, status: 200 },
        { url: `${url}?verbose=1`, status: 200 },
        { url, headers: { Host: 'evil.example' }, status: 403 },
      ];
      for (const form of forms) {
        const { res, byExpress } = await answered(f, form.url, f.writer, form.headers);
        expect({ url: form.url, status: res.status, byExpress }).toEqual({
          url: form.url,
          status: form.status,
          byExpress: true,
        });
      }
      const head = f.expressCalls();
      await f.http().head(url).set('Authorization', `Bearer ${f.writer}`).expect(200);
      expect(f.expressCalls()).toBe(head + 1);
    });

    it('counts what it answers in the HTTP metrics, under the route template', async () => {
      const f = fixtureOf();
      const scrape = async () => {
        const text = (await get(f, '/metrics', f.admin).expect(200)).text;
        const line = text
          .split('\n')
          .find(
            (l) =>
              l.startsWith('cta_http_requests_total{') &&
              l.includes(`route="${STATUS_ROUTE}"`) &&
              l.includes('status="200"'),
          );
        return line === undefined ? 0 : Number(line.split(' ').pop());
      };
      const before = await scrape();
      for (let i = 0; i < 3; i += 1) {
        const { byExpress } = await answered(f, `/api/v1/tasks/${f.taskId}/status`, f.writer);
        expect(byExpress).toBe(false);
      }
      expect((await scrape()) - before).toBe(3);
    });
  });

  describe('with a small rate limit', () => {
    const LIMIT = 12;
    const fixtureOf = useFixture(kind, { RATE_LIMIT_PER_MINUTE: String(LIMIT) });

    it('counts each request once, refused or answered, whichever way it went', async () => {
      const f = fixtureOf();
      const keys = f.t.app.get(ApiKeysService);
      const counted = (
        await keys.create({
          name: 'counted',
          scopes: ['tasks:read'],
          expiresAt: null,
          createdByKeyId: null,
        })
      ).key;
      const url = `/api/v1/tasks/${f.taskId}/status`;
      // Refused by ownership after the limit counted them: each is handed on to the full stack.
      for (let i = 0; i < 3; i += 1) {
        const { res, byExpress } = await answered(f, url, counted);
        expect({ status: res.status, byExpress }).toEqual({ status: 404, byExpress: true });
      }
      const statuses: number[] = [];
      for (let i = 0; i < LIMIT; i += 1) {
        statuses.push(
          (await get(f, '/api/v1/tasks/00000000-0000-4000-8000-000000000000/status', counted))
            .status,
        );
      }
      expect(statuses).toEqual([...Array.from({ length: LIMIT - 3 }, () => 404), 429, 429, 429]);
      const limited = await get(f, url, counted);
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe('rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    });
  });

  describe('without keys (the local operator)', () => {
    const fixtureOf = useFixture(kind, { AUTH_REQUIRED: 'false' });

    it('answers the status itself, as the full stack does', async () => {
      const f = fixtureOf();
      const url = `/api/v1/tasks/${f.taskId}/status`;
      const fast = await answered(f, url, null, { 'X-Request-Id': 'local' });
      const full = await answered(f, url, null, {
        'X-Request-Id': 'local',
        'If-None-Match': 'W/"not-this-one"',
      });
      expect([fast.byExpress, full.byExpress]).toEqual([false, true]);
      expect(fast.res.status).toBe(200);
      expect(fast.res.body).toEqual(full.res.body);
      expect(stableHeaders(fast.res)).toEqual(stableHeaders(full.res));
      expect(fast.res.headers['x-ratelimit-limit']).toBeUndefined();
    });
  });

  describe('behind a trusted proxy', () => {
    const fixtureOf = useFixture(kind, { TRUST_PROXY: 'loopback' });

    it("hands on a forwarded request (the client's address is Express's to work out) and answers a direct one", async () => {
      const f = fixtureOf();
      const url = `/api/v1/tasks/${f.taskId}/status`;
      const forwarded = await answered(f, url, f.writer, { 'X-Forwarded-For': '203.0.113.9' });
      expect({ status: forwarded.res.status, byExpress: forwarded.byExpress }).toEqual({
        status: 200,
        byExpress: true,
      });
      const direct = await answered(f, url, f.writer);
      expect({ status: direct.res.status, byExpress: direct.byExpress }).toEqual({
        status: 200,
        byExpress: false,
      });
    });
  });

  describe('with CORS_ORIGINS set', () => {
    const fixtureOf = useFixture(kind, { CORS_ORIGINS: 'https://ui.example' });

    it('is not in front: Express answers every status read, with its CORS headers', async () => {
      const f = fixtureOf();
      const { res, byExpress } = await answered(f, `/api/v1/tasks/${f.taskId}/status`, f.writer, {
        Origin: 'https://ui.example',
      });
      expect({ status: res.status, byExpress }).toEqual({ status: 200, byExpress: true });
      expect(res.headers['access-control-allow-origin']).toBe('https://ui.example');
    });
  });
}

describe('Status fast path on SQLite', () => fastPathSuite('sqlite'));
describeMysql('Status fast path on MySQL', () => fastPathSuite('mysql'));

describe('Status fast path: the request log line', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cta-fast-log-')));
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers without keys as the full stack does, and writes the line pino-http writes for it', async () => {
    const project = path.join(dir, 'project');
    fs.mkdirSync(project);
    const server = await startTestServer(dir, {
      ORCHESTRATOR_ENABLED: 'false',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'log',
    });
    try {
      const taskId = await startTask(server.url, project, 'log me');
      const url = `/api/v1/tasks/${taskId}/status`;
      const fastAnswer = await request(server.url)
        .get(url)
        .set('X-Request-Id', 'fast-line')
        .expect(200);
      const fullAnswer = await request(server.url)
        .get(url)
        .set('X-Request-Id', 'full-line')
        .set('If-None-Match', 'W/"not-this-one"')
        .expect(200);
      const withoutId = (res: Response) => {
        const { 'x-request-id': id, ...rest } = stableHeaders(res);
        expect(typeof id).toBe('string');
        return rest;
      };
      expect(fastAnswer.body).toEqual(fullAnswer.body);
      expect(withoutId(fastAnswer)).toEqual(withoutId(fullAnswer));
      const lines = () =>
        server
          .output()
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>);
      const lineOf = (id: string) =>
        lines().find((line) => (line.req as { id?: string } | undefined)?.id === id);
      await eventually('both request lines', () => !!lineOf('fast-line') && !!lineOf('full-line'));
      const strip = (line: Record<string, unknown> | undefined) => {
        const { time, duration_ms: durationMs, req, ...rest } = line ?? {};
        expect(typeof time).toBe('string');
        expect(typeof durationMs).toBe('number');
        return { ...rest, req: { ...(req as object), id: 'the request id' } };
      };
      const fast = strip(lineOf('fast-line'));
      expect(fast).toEqual(strip(lineOf('full-line')));
      expect(fast).toMatchObject({
        level: 'info',
        route: STATUS_ROUTE,
        key_prefix: null,
        res: { status: 200 },
        msg: `GET ${STATUS_ROUTE} -> 200`,
      });
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
