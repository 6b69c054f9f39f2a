import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { In } from 'typeorm';
import { buildOpenApiDocument } from 'src/common/http/configure-app';
import { ApiKeysService } from 'src/auth/api-keys.service';
import { ApiKey } from 'src/auth/api-key.entity';
import { AuditEvent } from 'src/audit/audit-event.entity';
import { Session } from 'src/sessions/session.entity';
import { Task } from 'src/tasks/task.entity';
import { TaskStatus } from 'src/tasks/task-status';
import { takeGitConfigFingerprint } from 'src/workspaces/git-config-fingerprint';
import { eventually } from 'test/e2e/support/eventually';
import { git } from 'test/e2e/support/git-repos';
import { baseUrl, SseClient } from 'test/e2e/support/sse-client';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { describeMysql, TestDatabaseKind } from 'test/e2e/support/test-database';

/**
 * THE API AS AN ATTACKER MEETS IT: the real AppModule with keys required, on SQLite and MariaDB.
 * Every route of the OpenAPI document (so routes added later are covered too) without a key and
 * with a wrong, malformed, expired and revoked key; every route about one session or task with
 * another key's object; scopes; what a key may run; what is recorded in the audit trail; and that
 * key material never comes back after creation.
 */

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A CORS preflight from `origin` for a POST. */
function preflight(server: App, origin: string) {
  return request(server)
    .options('/api/v1/sessions')
    .set('Origin', origin)
    .set('Access-Control-Request-Method', 'POST')
    .set('Access-Control-Request-Headers', 'authorization,content-type');
}

interface Route {
  method: 'get' | 'post' | 'delete';
  /** OpenAPI path, `{id}` unfilled. */
  path: string;
}

/** Every operation of the live OpenAPI document, plus what Express serves outside it. */
function allRoutes(t: TestApp): Route[] {
  const doc = buildOpenApiDocument(t.app);
  const routes: Route[] = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'post', 'delete'] as const) {
      if ((item as Record<string, unknown>)[method]) routes.push({ method, path: p });
    }
  }
  return [
    ...routes,
    { method: 'get', path: '/metrics' },
    { method: 'get', path: '/docs' },
    { method: 'get', path: '/docs-json' },
  ];
}

function securitySuite(kind: TestDatabaseKind): void {
  let t: TestApp;
  let tmp: string;
  let http: () => ReturnType<typeof request>;
  let admin: string;
  let writerA: string;
  let writerB: string;
  let reader: string;
  let expired: string;
  let revoked: string;
  let keyIds: Record<'writerA' | 'writerB' | 'revoked', string>;
  /** Writer A's session and task. */
  let sessionA: string;
  let taskA: string;
  let projectA: string;

  /** A request carrying `key` (as `Authorization: Bearer <key>`). */
  const as = (key: string | null, method: Route['method'], url: string) => {
    const req = http()[method](url);
    return key === null ? req : req.set('Authorization', `Bearer ${key}`);
  };

  /**
   * The status `key` gets for `method url`: an event stream (`.../events`) answers with its
   * headers and then goes on, so its status is taken and the client hangs up.
   */
  const statusOf = async (key: string, method: Route['method'], url: string): Promise<number> => {
    if (method !== 'get' || !url.split('?')[0].endsWith('/events')) {
      return (await as(key, method, url)).status;
    }
    const client = await SseClient.connect(`${baseUrl(t.app.getHttpServer() as App)}${url}`, {
      Authorization: `Bearer ${key}`,
    });
    client.close();
    return client.status;
  };

  const createKey = async (name: string, scopes: string[], extra = {}) => {
    const res = await as(admin, 'post', '/api/v1/api-keys')
      .send({ name, scopes, ...extra })
      .expect(201);
    return res.body as { id: string; key: string; prefix: string };
  };

  const fill = (route: Route, ids: { task: string; session: string; key: string }): string =>
    route.path
      .replace(/^\/api\/v1\/tasks\/\{id\}/, `/api/v1/tasks/${ids.task}`)
      .replace(/^\/api\/v1\/sessions\/\{id\}/, `/api/v1/sessions/${ids.session}`)
      .replace(/^\/api\/v1\/api-keys\/\{id\}/, `/api/v1/api-keys/${ids.key}`);

  const counts = async () => ({
    sessions: await t.dataSource.getRepository(Session).count(),
    tasks: await t.dataSource.getRepository(Task).count(),
    keys: await t.dataSource.getRepository(ApiKey).count(),
  });

  const auditRows = () => t.dataSource.getRepository(AuditEvent).find({ order: { id: 'ASC' } });

  beforeAll(async () => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cta-sec-')));
    projectA = path.join(tmp, 'project-a');
    fs.mkdirSync(projectA);
    // A repository, so its tasks have a workspace and the diff route has something to answer.
    fs.writeFileSync(path.join(projectA, 'README.md'), 'project a\n');
    git(projectA, 'init', '-q');
    git(projectA, 'add', '-A');
    git(projectA, 'commit', '-qm', 'initial');
    fs.mkdirSync(path.join(tmp, 'project-b'));
    t = await createTestApp({
      database: kind,
      env: {
        AUTH_REQUIRED: 'true',
        ALLOWED_PROJECT_ROOTS: tmp,
        CLAUDE_CLI_COMMAND: path.join(tmp, 'no-such-claude'),
        RATE_LIMIT_PER_MINUTE: '0',
        METRICS_TOKEN,
      },
    });
    await t.app.listen(0, '127.0.0.1');
    http = () => request(t.app.getHttpServer() as App);
    admin = (
      await t.app.get(ApiKeysService).create({
        name: 'bootstrap admin',
        scopes: ['admin'],
        expiresAt: null,
        createdByKeyId: null,
      })
    ).key;
    const a = await createKey('writer A', ['tasks:write']);
    const b = await createKey('writer B', ['tasks:write']);
    const r = await createKey('reader', ['tasks:read']);
    const e = await createKey('soon expired', ['tasks:write'], {
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const v = await createKey('revoked', ['admin']);
    [writerA, writerB, reader, expired, revoked] = [a.key, b.key, r.key, e.key, v.key];
    keyIds = { writerA: a.id, writerB: b.id, revoked: v.id };
    await t.dataSource
      .getRepository(ApiKey)
      .update({ id: e.id }, { expiresAt: new Date(Date.now() - 1000) });
    await as(admin, 'delete', `/api/v1/api-keys/${v.id}`).expect(204);
    sessionA = (
      await as(writerA, 'post', '/api/v1/sessions').send({ project_path: projectA }).expect(201)
    ).body.id as string;
    taskA = (
      await as(writerA, 'post', '/api/v1/tasks')
        .send({ session_id: sessionA, description: 'A task of writer A' })
        .expect(201)
    ).body.id as string;
  });

  afterAll(async () => {
    await t?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('keys', () => {
    it('refuses an expiry `Date` cannot read with a 400, storing nothing; the list keeps working', async () => {
      const before = await t.dataSource.getRepository(ApiKey).count();
      for (const expiresAt of [
        '2099-W01',
        '20990101T000000Z',
        '2027-02-30T00:00:00Z',
        '2099-01-01T00:00:00',
      ]) {
        const res = await as(admin, 'post', '/api/v1/api-keys')
          .send({ name: 'odd expiry', scopes: ['tasks:read'], expires_at: expiresAt })
          .expect(400);
        expect(res.body.code).toBe('validation_failed');
        expect(JSON.stringify(res.body.details)).toContain('expires_at');
      }
      expect(await t.dataSource.getRepository(ApiKey).count()).toBe(before);
      await as(admin, 'get', '/api/v1/api-keys?limit=100').expect(200);
    });

    it('shows a key once; lists, the database and later answers never contain it', async () => {
      const created = await createKey('shown once', ['tasks:read']);
      expect(created.key).toMatch(/^cta_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      expect(created.key.startsWith(`${created.prefix}_`)).toBe(true);
      const secret = created.key.slice(created.prefix.length + 1);
      const list = await as(admin, 'get', '/api/v1/api-keys?limit=100').expect(200);
      const listed = (list.body.items as Record<string, unknown>[]).find(
        (k) => k.id === created.id,
      );
      expect(listed).toEqual({
        id: created.id,
        name: 'shown once',
        prefix: created.prefix,
        scopes: ['tasks:read'],
        created_at: expect.any(String),
        expires_at: null,
        revoked_at: null,
        last_used_at: null,
      });
      const row = await t.dataSource.getRepository(ApiKey).findOneByOrFail({ id: created.id });
      expect(JSON.stringify(row)).not.toContain(secret);
      expect(row.keyHash).toMatch(/^[0-9a-f]{64}$/);
      const audit = await as(admin, 'get', '/api/v1/audit?limit=100').expect(200);
      for (const body of [list.body, audit.body]) {
        expect(JSON.stringify(body)).not.toMatch(/cta_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/);
      }
    });

    it('records when a key was last used', async () => {
      const used = await createKey('used', ['tasks:read']);
      await as(used.key, 'get', '/api/v1/sessions').expect(200);
      const row = await t.dataSource.getRepository(ApiKey).findOneByOrFail({ id: used.id });
      expect(row.lastUsedAt).toBeInstanceOf(Date);
    });

    it('refuses bad key requests: unknown scope, past expiry, unknown fields', async () => {
      const before = await counts();
      for (const body of [
        { name: 'x', scopes: ['root'] },
        { name: 'x', scopes: [] },
        { name: 'x', scopes: ['admin'], expires_at: '2001-01-01T00:00:00Z' },
        { name: 'x', scopes: ['admin'], key_hash: 'a'.repeat(64) },
        { name: 'x', scopes: 'admin' },
        { name: '', scopes: ['admin'] },
      ]) {
        const res = await as(admin, 'post', '/api/v1/api-keys').send(body);
        expect({ body, status: res.status, code: res.body.code }).toEqual({
          body,
          status: 400,
          code: 'validation_failed',
        });
      }
      expect(await counts()).toEqual(before);
    });

    it('revokes a key at once; revoking it again changes nothing; an unknown key is 404', async () => {
      const doomed = await createKey('doomed', ['tasks:read']);
      await as(doomed.key, 'get', '/api/v1/sessions').expect(200);
      await as(admin, 'delete', `/api/v1/api-keys/${doomed.id}`).expect(204);
      await as(admin, 'delete', `/api/v1/api-keys/${doomed.id}`).expect(204);
      const res = await as(doomed.key, 'get', '/api/v1/sessions').expect(401);
      expect(res.body).toMatchObject({
        code: 'unauthorized',
        message: 'The API key has been revoked',
      });
      await as(admin, 'delete', '/api/v1/api-keys/00000000-0000-4000-8000-000000000000')
        .expect(404)
        .expect((r) => expect(r.body.code).toBe('api_key_not_found'));
    });
  });

  describe('event streams opened with a key', () => {
    it.each(['revoked', 'expired'] as const)(
      'end once the key is %s, with a closed event saying so: a key refused on new requests reads nothing more',
      async (how) => {
        const key = await createKey(`streamer-${how}`, ['tasks:read']);
        const auth = { Authorization: `Bearer ${key.key}` };
        const url = baseUrl(t.app.getHttpServer() as App);
        const stream = await SseClient.connect(`${url}/api/v1/events`, auth);
        let ended = false;
        void stream.closed.then(() => (ended = true));
        try {
          expect(stream.status).toBe(200);
          if (how === 'revoked') {
            await as(admin, 'delete', `/api/v1/api-keys/${key.id}`).expect(204);
          } else {
            await t.dataSource
              .getRepository(ApiKey)
              .update({ id: key.id }, { expiresAt: new Date(Date.now() - 1000) });
          }
          await as(key.key, 'get', '/api/v1/sessions').expect(401);
          // Its next read (at once on a stored event, else within SSE_POLL_MS) ends it.
          await eventually('the refused key to lose its stream', () => ended);
        } finally {
          stream.close();
        }
        expect(stream.events.map((e) => e.event)).not.toContain('end');
        const closed = stream.events.filter((e) => e.event === 'closed');
        expect(closed.map((e) => JSON.parse(e.data) as unknown)).toEqual([
          {
            code: `key_${how}`,
            message: `The API key of this stream has ${how === 'revoked' ? 'been revoked' : 'expired'}: the stream is closed`,
          },
        ]);
        expect(stream.events[stream.events.length - 1].event).toBe('closed');
      },
    );
  });

  describe('authentication on every route', () => {
    it.each([
      ['no key', null, 'An API key is required: send Authorization: Bearer <key>'],
      [
        'a wrong key',
        'cta_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        'The API key is not valid',
      ],
      ['a malformed token', 'not-a-key', 'The API key is not valid'],
      ['an expired key', 'EXPIRED', 'The API key has expired'],
      ['a revoked key', 'REVOKED', 'The API key has been revoked'],
    ])('answers 401 to %s', async (_label, key, message) => {
      const token = key === 'EXPIRED' ? expired : key === 'REVOKED' ? revoked : key;
      const before = await counts();
      for (const route of allRoutes(t)) {
        if (route.path === '/health/live') continue;
        const url = fill(route, { task: taskA, session: sessionA, key: keyIds.writerA });
        const res = await as(token, route.method, url);
        expect({ route: `${route.method} ${url}`, status: res.status, body: res.body }).toEqual({
          route: `${route.method} ${url}`,
          status: 401,
          body: {
            code: 'unauthorized',
            message: route.path.startsWith('/docs')
              ? 'An API key is required to read the API documentation'
              : message,
            request_id: expect.any(String),
          },
        });
        expect(res.headers['www-authenticate']).toBe('Bearer');
      }
      expect(await counts()).toEqual(before);
    });

    it('refuses a request with two Authorization headers, whichever of them holds a valid key', async () => {
      // An array is sent as one header line per value (node:http's setHeader), as typed for Cookie.
      for (const headers of [
        [`Bearer ${admin}`, 'Bearer not-a-key'],
        ['Bearer not-a-key', `Bearer ${admin}`],
        [`Bearer ${admin}`, `Bearer ${admin}`],
      ]) {
        for (const url of ['/api/v1/sessions', '/docs-json']) {
          const res = await http()
            .get(url)
            .set('Authorization', headers as unknown as string);
          expect({ url, status: res.status }).toEqual({ url, status: 401 });
        }
        const res = await http()
          .get('/api/v1/sessions')
          .set('Authorization', headers as unknown as string);
        expect(res.body).toMatchObject({
          code: 'unauthorized',
          message: 'The request has more than one Authorization header: send one',
        });
      }
    });

    it('never reads a key from the query string or another header', async () => {
      for (const query of ['api_key', 'key', 'token', 'access_token']) {
        await http().get(`/api/v1/sessions?${query}=${admin}`).expect(401);
      }
      await http().get('/api/v1/sessions').set('X-Api-Key', admin).expect(401);
      await http().get('/api/v1/sessions').set('Authorization', `Basic ${admin}`).expect(401);
      await http().get('/api/v1/sessions').set('Cookie', `key=${admin}`).expect(401);
    });

    it('keeps /health/live open to everyone', async () => {
      await http().get('/health/live').expect(200, { status: 'ok' });
      await as('wrong', 'get', '/health/live').expect(200);
    });

    it('serves /docs and its JSON to any valid key', async () => {
      await as(reader, 'get', '/docs-json').expect(200);
      await as(reader, 'get', '/docs').expect(200).expect('Content-Type', /html/);
    });

    it('takes METRICS_TOKEN for /metrics, /health/ready and /health only', async () => {
      const metrics = await as(METRICS_TOKEN, 'get', '/metrics').expect(200);
      expect(metrics.text).toContain('cta_http_requests_total');
      expect([200, 503]).toContain((await as(METRICS_TOKEN, 'get', '/health/ready')).status);
      expect([200, 503]).toContain((await as(METRICS_TOKEN, 'get', '/health')).status);
      await as(METRICS_TOKEN, 'get', '/api/v1/sessions').expect(401);
      await as(METRICS_TOKEN, 'get', '/docs-json').expect(401);
      await as(admin, 'get', '/metrics').expect(200);
      await as(writerA, 'get', '/metrics').expect(403);
    });
  });

  describe('ownership', () => {
    const ownRoutes = () =>
      allRoutes(t).filter((r) => /^\/api\/v1\/(tasks|sessions)\/\{id\}/.test(r.path));

    it("answers another key's sessions and tasks with the same 404 as a missing one, on every route", async () => {
      const routes = ownRoutes();
      expect(routes.length).toBeGreaterThanOrEqual(8);
      const before = await counts();
      const auditedBefore = (await auditRows()).length;
      const missing = {
        task: '00000000-0000-4000-8000-000000000001',
        session: '00000000-0000-4000-8000-000000000002',
        key: '',
      };
      for (const route of routes) {
        const theirs = fill(route, { task: taskA, session: sessionA, key: '' });
        const res = await as(writerB, route.method, theirs).send({});
        const none = await as(writerB, route.method, fill(route, missing)).send({});
        const code = route.path.startsWith('/api/v1/tasks')
          ? 'task_not_found'
          : 'session_not_found';
        expect({
          route: `${route.method} ${theirs}`,
          status: res.status,
          code: res.body.code,
        }).toEqual({
          route: `${route.method} ${theirs}`,
          status: 404,
          code,
        });
        const strip = (body: Record<string, unknown>) =>
          JSON.stringify({ ...body, request_id: null }).replace(/[0-9a-f-]{36}/g, 'ID');
        expect(strip(res.body)).toBe(strip(none.body));
      }
      expect(await counts()).toEqual(before);
      const task = await t.dataSource.getRepository(Task).findOneByOrFail({ id: taskA });
      expect(task).toMatchObject({ status: 'PENDING', cancelRequested: false });
      // Each look at another key's object is in the audit trail, as a denied request; the same
      // look at a missing one is not. The trail is written in order: once a last look is in it,
      // every earlier one is.
      await as(writerB, 'get', `/api/v1/tasks/${taskA}`).expect(404);
      const looks = async () =>
        (await auditRows()).slice(auditedBefore).filter((r) => r.actorKeyId === keyIds.writerB);
      await eventually(
        'the denials to be recorded',
        async () => (await looks()).length >= routes.length + 1,
      );
      const recorded = await looks();
      expect(recorded).toHaveLength(routes.length + 1);
      for (const row of recorded) {
        expect(row).toMatchObject({ action: 'request.denied', status: 404 });
        expect(row.details).toMatchObject({ owned_by_another_key: true });
        expect(row.path).toMatch(new RegExp(`/(${taskA}|${sessionA})(/|$)`));
      }
    });

    it('lets the owning writer key call every route about its objects (no route left to admins by omission)', async () => {
      const session = (
        await as(writerA, 'post', '/api/v1/sessions').send({ project_path: projectA }).expect(201)
      ).body.id as string;
      const task = (
        await as(writerA, 'post', '/api/v1/tasks')
          .send({ session_id: session, description: 'every route' })
          .expect(201)
      ).body.id as string;
      const order = (r: Route): number =>
        r.method === 'delete'
          ? r.path.startsWith('/api/v1/sessions')
            ? 3
            : 2
          : r.method === 'post'
            ? 1
            : 0;
      // Reaching the route is what counts: merging a task that has not completed, or retrying one
      // that has not failed, is refused by the route itself (409), not by the access check.
      for (const route of ownRoutes().sort((a, b) => order(a) - order(b))) {
        const url = fill(route, { task, session, key: '' });
        const body = url.endsWith('/messages') ? { content: 'a word from a person' } : {};
        const res = route.method === 'post' ? null : await statusOf(writerA, route.method, url);
        const answer =
          res !== null
            ? String(res)
            : await as(writerA, 'post', url)
                .send(body)
                .then((r) => (r.status === 409 ? `409 ${String(r.body.code)}` : String(r.status)));
        expect(`${route.method} ${route.path} -> ${answer}`).toMatch(
          / -> (20[014]|409 task_not_mergeable|409 task_not_retryable)$/,
        );
      }
    });

    it('lets the owner and admins through on the same routes', async () => {
      for (const route of ownRoutes().filter((r) => r.method === 'get')) {
        const url = fill(route, { task: taskA, session: sessionA, key: '' });
        expect({ url, status: await statusOf(writerA, 'get', url) }).toEqual({ url, status: 200 });
        expect({ url, status: await statusOf(admin, 'get', url) }).toEqual({ url, status: 200 });
      }
    });

    it("keeps other keys' objects out of lists and filters", async () => {
      const idsOf = (body: { items: { id: string }[] }) => body.items.map((i) => i.id);
      expect(idsOf((await as(writerB, 'get', '/api/v1/sessions').expect(200)).body)).not.toContain(
        sessionA,
      );
      expect(idsOf((await as(writerB, 'get', '/api/v1/tasks').expect(200)).body)).not.toContain(
        taskA,
      );
      const filtered = await as(writerB, 'get', `/api/v1/tasks?session_id=${sessionA}`).expect(200);
      expect(filtered.body).toMatchObject({ items: [], total: 0 });
      expect(idsOf((await as(writerA, 'get', '/api/v1/tasks').expect(200)).body)).toEqual([taskA]);
      expect(idsOf((await as(admin, 'get', '/api/v1/tasks?limit=100').expect(200)).body)).toContain(
        taskA,
      );
    });

    it("refuses a task in another key's session as if the session did not exist", async () => {
      const before = await counts();
      const res = await as(writerB, 'post', '/api/v1/tasks')
        .send({ session_id: sessionA, description: 'hijack' })
        .expect(404);
      expect(res.body).toMatchObject({
        code: 'session_not_found',
        message: `Session ${sessionA} not found`,
      });
      expect(await counts()).toEqual(before);
    });

    it("gives an admin's task in a key's session to that key", async () => {
      const task = await as(admin, 'post', '/api/v1/tasks')
        .send({ session_id: sessionA, description: 'made by an admin' })
        .expect(201);
      await as(writerA, 'get', `/api/v1/tasks/${task.body.id}`).expect(200);
      await as(writerB, 'get', `/api/v1/tasks/${task.body.id}`).expect(404);
      await as(writerA, 'delete', `/api/v1/tasks/${task.body.id}`).expect(204);
    });

    it("counts a key's own finished tasks in the stats, an admin's every task", async () => {
      const task = await as(writerA, 'post', '/api/v1/tasks')
        .send({ session_id: sessionA, description: 'finished' })
        .expect(201);
      const tasks = t.dataSource.getRepository(Task);
      await tasks.update(task.body.id as string, {
        status: TaskStatus.Completed,
        statusReason: 'verified',
        startedAt: new Date(Date.now() - 1000),
        completedAt: new Date(),
      });
      const finished = {
        status: In([TaskStatus.Completed, TaskStatus.Failed, TaskStatus.Cancelled]),
      };
      const mine = await as(writerA, 'get', '/api/v1/stats').expect(200);
      expect(mine.body).toMatchObject({
        finished: await tasks.countBy({ ...finished, ownerKeyId: keyIds.writerA }),
        verified: 1,
      });
      const other = await as(writerB, 'get', `/api/v1/stats?session_id=${sessionA}`).expect(200);
      expect(other.body).toMatchObject({ finished: 0, verified: 0 });
      const backwards = await as(
        writerA,
        'get',
        '/api/v1/stats?since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00Z',
      ).expect(400);
      expect(backwards.body.details.errors).toEqual([
        { field: 'until', errors: ['until must be later than since'] },
      ]);
      // ISO 8601 forms `Date` cannot read, or reads as another instant than the client meant
      // (no offset: the server's time zone; a date alone: UTC's midnight), are refused, not
      // dropped from the filter or taken otherwise.
      for (const since of ['2099-W01', '20990101T000000Z', '2099-01-01T00:00:00', '2099-01-01']) {
        const unread = await as(writerA, 'get', `/api/v1/stats?since=${since}`).expect(400);
        expect(unread.body.details.errors).toEqual([
          {
            field: 'since',
            errors: [
              'since must be a date and time with its offset from UTC, such as 2027-01-01T00:00:00Z',
            ],
          },
        ]);
      }
      for (const since of ['2020-01-01T01:00:00.123456+01:00', '2020-01-01T00:00:00Z']) {
        await as(writerA, 'get', `/api/v1/stats?since=${encodeURIComponent(since)}`).expect(200);
      }
      const all = await as(admin, 'get', '/api/v1/stats').expect(200);
      expect(all.body.finished).toBe(await tasks.countBy(finished));
      await as(reader, 'get', '/api/v1/stats').expect(200);
      await as(writerA, 'delete', `/api/v1/tasks/${task.body.id}`).expect(204);
    });

    it("refuses a task on a repository whose git configuration still holds the change that failed another key's task, without naming that task to a key that cannot see it", async () => {
      const repo = path.join(tmp, 'project-shared');
      fs.mkdirSync(repo);
      fs.writeFileSync(path.join(repo, 'README.md'), 'shared\n');
      git(repo, 'init', '-q');
      git(repo, 'add', '-A');
      git(repo, 'commit', '-qm', 'initial');
      const sessionOn = async (key: string) =>
        (await as(key, 'post', '/api/v1/sessions').send({ project_path: repo }).expect(201)).body
          .id as string;
      const postTask = (key: string, session: string) =>
        as(key, 'post', '/api/v1/tasks').send({ session_id: session, description: 'More work' });
      const sessionB = await sessionOn(writerB);
      const sessionOfA = await sessionOn(writerA);
      try {
        // Writer B's task, failed `git_config_changed` on a filter its agent set.
        const failed = (await postTask(writerB, sessionB).expect(201)).body.id as string;
        const tasks = t.dataSource.getRepository(Task);
        const { gitDir } = await tasks.findOneByOrFail({ id: failed });
        const { fingerprint } = await takeGitConfigFingerprint(gitDir!, null);
        await tasks.update(
          { id: failed },
          {
            status: TaskStatus.Failed,
            statusReason: 'git_config_changed',
            gitConfigFingerprint: fingerprint,
          },
        );
        git(repo, 'config', 'filter.cta.clean', 'cat');

        const refusedA = await postTask(writerA, sessionOfA).expect(409);
        expect(refusedA.body.code).toBe('git_config_changed');
        expect(refusedA.body.details).toEqual({ files: ['config'] });
        expect(JSON.stringify(refusedA.body)).not.toContain(failed);
        expect(refusedA.body.message).toContain("An administrator, or that task's owner, has to");
        await as(writerA, 'get', `/api/v1/tasks/${failed}`).expect(404);

        // Its owner and an admin are told which task it is, and that deleting it accepts it.
        for (const key of [writerB, admin]) {
          const refused = await postTask(key, sessionB).expect(409);
          expect(refused.body.details).toEqual({ files: ['config'], failed_task: failed });
          expect(refused.body.message).toContain(`delete task ${failed} to accept`);
        }
        expect(await tasks.countBy({ sessionId: In([sessionB, sessionOfA]) })).toBe(1);
      } finally {
        await as(admin, 'delete', `/api/v1/sessions/${sessionB}`).expect(204);
        await as(admin, 'delete', `/api/v1/sessions/${sessionOfA}`).expect(204);
      }
    });
  });

  describe('scopes', () => {
    it('lets tasks:read read its own, nothing else', async () => {
      await as(reader, 'get', '/api/v1/sessions').expect(200);
      await as(reader, 'get', '/health').expect((r) => expect([200, 503]).toContain(r.status));
      for (const [method, url] of [
        ['post', '/api/v1/sessions'],
        ['post', '/api/v1/tasks'],
        ['get', '/api/v1/api-keys'],
        ['post', '/api/v1/api-keys'],
        ['get', '/api/v1/audit'],
        ['get', '/metrics'],
      ] as const) {
        const res = await as(reader, method, url).send({});
        expect({ url, status: res.status, code: res.body.code }).toEqual({
          url,
          status: 403,
          code: 'forbidden',
        });
      }
    });

    it('keeps key management and the audit trail to admins', async () => {
      const before = await counts();
      await as(writerA, 'post', '/api/v1/api-keys')
        .send({ name: 'x', scopes: ['admin'] })
        .expect(403);
      await as(writerA, 'delete', `/api/v1/api-keys/${keyIds.writerB}`).expect(403);
      await as(writerA, 'get', '/api/v1/audit').expect(403);
      expect(await counts()).toEqual(before);
      await as(writerB, 'get', '/api/v1/sessions').expect(200);
    });
  });

  describe('who may run what', () => {
    it.each([
      ['env', 'test_command', 'env LD_PRELOAD=/tmp/evil.so npm test'],
      ['a shell with inline code', 'test_command', "sh -c 'cat /proc/1/environ'"],
      ['bash -c', 'regression_command', "bash -c 'id'"],
      ['node -e', 'test_command', 'node -e \'require("child_process").execSync("id")\''],
      ['python3 -c', 'regression_command', 'python3 -c \'import os; os.system("id")\''],
      ['npx -c', 'test_command', "npx -c 'id'"],
      ['npm --script-shell', 'test_command', 'npm test --script-shell=/tmp/evil'],
      ['a program outside ALLOWED_COMMANDS', 'test_command', 'make test'],
      ['a path to an allowed name', 'regression_command', '/tmp/evil/npm test'],
    ])(
      'refuses %s from a key that is not admin, naming the field',
      async (_label, field, command) => {
        const before = await counts();
        const res = await as(writerA, 'post', '/api/v1/sessions')
          .send({ project_path: projectA, [field]: command })
          .expect(403);
        expect(res.body).toMatchObject({
          code: 'command_not_allowed',
          message: expect.stringMatching(new RegExp(`^${field}: `)),
          details: { errors: [{ field, errors: [expect.any(String)] }] },
        });
        expect(await counts()).toEqual(before);
      },
    );

    it('lets a key that is not admin run the allowed test runners', async () => {
      await as(writerA, 'post', '/api/v1/sessions')
        .send({
          project_path: projectA,
          test_command: 'npx jest --ci',
          regression_command: 'python3 -m pytest -q',
        })
        .expect(201);
    });

    it('lets an admin name other programs, still never shell syntax', async () => {
      await as(admin, 'post', '/api/v1/sessions')
        .send({
          project_path: projectA,
          test_command: 'make test',
          regression_command: "bash -c 'npm test'",
        })
        .expect(201);
      await as(admin, 'post', '/api/v1/sessions')
        .send({ project_path: projectA, test_command: 'make test && id' })
        .expect(400);
    });
  });

  describe('headers and hosts', () => {
    it('sends security headers suited to an API, and no CORS headers', async () => {
      const res = await as(writerA, 'get', '/api/v1/sessions')
        .set('Origin', 'https://evil.example')
        .expect(200);
      expect(res.headers).toMatchObject({
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'SAMEORIGIN',
        'referrer-policy': 'no-referrer',
        'cross-origin-resource-policy': 'same-origin',
      });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['x-powered-by']).toBeUndefined();
      const refused = await preflight(t.app.getHttpServer() as App, 'https://evil.example');
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('refuses a Host that is not an address, localhost or an allowed name (DNS rebinding)', async () => {
      const before = await counts();
      for (const host of [
        'attacker.example',
        'attacker.example:8000',
        '127.0.0.1.attacker.example',
      ]) {
        const res = await as(admin, 'post', '/api/v1/sessions')
          .set('Host', host)
          .send({ project_path: projectA })
          .expect(403);
        expect(res.body.code).toBe('host_not_allowed');
      }
      await http().get('/docs-json').set('Host', 'attacker.example').expect(403);
      await as(admin, 'get', '/api/v1/sessions').set('Host', 'localhost:8000').expect(200);
      expect(await counts()).toEqual(before);
    });
  });

  describe('audit trail', () => {
    it('records every action and every refusal: who, what, when, from where', async () => {
      const since = (await auditRows()).length;
      const session = await as(writerB, 'post', '/api/v1/sessions')
        .send({ project_path: path.join(tmp, 'project-b') })
        .expect(201);
      const task = await as(writerB, 'post', '/api/v1/tasks')
        .send({ session_id: session.body.id, description: 'audited' })
        .expect(201);
      const other = await as(writerB, 'post', '/api/v1/tasks')
        .send({ session_id: session.body.id, description: 'deleted' })
        .expect(201);
      await as(writerB, 'post', `/api/v1/tasks/${task.body.id}/cancel`).expect(200);
      await as(writerB, 'delete', `/api/v1/tasks/${other.body.id}`).expect(204);
      const key = await createKey('audited key', ['tasks:read']);
      await as(admin, 'delete', `/api/v1/api-keys/${key.id}`).expect(204);
      await as(writerB, 'delete', `/api/v1/sessions/${session.body.id}`).expect(204);
      await http().get('/api/v1/tasks').set('X-Request-Id', 'denied-401').expect(401);
      await as(writerB, 'get', '/api/v1/audit').set('X-Request-Id', 'denied-403').expect(403);
      await as(writerB, 'post', '/api/v1/sessions')
        .set('X-Request-Id', 'denied-command')
        .send({ project_path: projectA, test_command: 'bash -c id' })
        .expect(403);
      const denialIds = ['denied-401', 'denied-403', 'denied-command'];
      const denials = async () =>
        (await auditRows()).filter((r) => denialIds.includes(r.requestId ?? ''));
      await eventually('the refusals to be recorded', async () => (await denials()).length === 3);
      const actions = (await auditRows()).slice(since).filter((r) => r.action !== 'request.denied');
      const prefixB = writerB.slice(0, 16);
      const prefixAdmin = admin.slice(0, 16);
      expect(
        actions.map((r) => [r.action, r.actorKeyPrefix, r.targetType, r.targetId, r.status]),
      ).toEqual([
        ['session.create', prefixB, 'session', session.body.id, 201],
        ['task.create', prefixB, 'task', task.body.id, 201],
        ['task.create', prefixB, 'task', other.body.id, 201],
        ['task.cancel', prefixB, 'task', task.body.id, 200],
        ['task.delete', prefixB, 'task', other.body.id, 204],
        ['api_key.create', prefixAdmin, 'api_key', key.id, 201],
        ['api_key.revoke', prefixAdmin, 'api_key', key.id, 204],
        ['session.delete', prefixB, 'session', session.body.id, 204],
      ]);
      const refused = await denials();
      expect(
        refused.map((r) => [r.requestId, r.actor, r.actorKeyPrefix, r.status, r.details]),
      ).toEqual([
        ['denied-401', 'anonymous', null, 401, { code: 'unauthorized' }],
        ['denied-403', 'key', prefixB, 403, { code: 'forbidden' }],
        ['denied-command', 'key', prefixB, 403, { code: 'command_not_allowed' }],
      ]);
      for (const row of [...actions, ...refused]) {
        expect(row.ip).toMatch(/127\.0\.0\.1/);
        expect(row.createdAt).toBeInstanceOf(Date);
        expect(row.requestId).toBeTruthy();
        expect(row.method).toMatch(/^(GET|POST|DELETE)$/);
        expect(row.action).toMatch(/^[a-z_]+\.[a-z_]+$/);
      }
      expect(actions[1].details).toEqual({ session_id: session.body.id });
      expect(refused[0]).toMatchObject({ method: 'GET', path: '/api/v1/tasks' });
    });

    it('keeps key material a caller sent (in the path, a request id, a recorded field) out of the trail, as the request log keeps it', async () => {
      const since = (await auditRows()).length;
      const redacted = (key: string) => `${key.slice(0, 16)}_[REDACTED]`;
      // A whole key pasted into the path, with no Authorization: 401, recorded.
      await http()
        .get(`/api/v1/sessions/${writerA}`)
        .set('X-Request-Id', 'key-in-path')
        .expect(401);
      await http().get('/api/v1/tasks').set('X-Request-Id', reader).expect(401);
      // A name that holds key material (not one of this suite's keys: lists show names).
      const pasted = 'cta_0123456789ab_q0Vb3c2pX9sJ1kR7mN4tY6wZ8aE5fH2gL0iU3oP7dSx';
      const named = await createKey(`copied ${pasted}`, ['tasks:read']);
      await as(admin, 'delete', `/api/v1/api-keys/${named.id}`).expect(204);
      await eventually(
        'the refusals to be recorded',
        async () =>
          (await auditRows()).slice(since).filter((r) => r.action === 'request.denied').length ===
          2,
      );
      const rows = (await auditRows()).slice(since);
      const inPath = rows.find((r) => r.requestId === 'key-in-path');
      expect(inPath).toMatchObject({ status: 401, path: `/api/v1/sessions/${redacted(writerA)}` });
      expect(rows.find((r) => r.path === '/api/v1/tasks')?.requestId).toBe(redacted(reader));
      expect(rows.find((r) => r.action === 'api_key.create')?.details).toEqual({
        name: `copied ${redacted(pasted)}`,
        scopes: ['tasks:read'],
      });
      const stored = JSON.stringify(rows);
      const listed = JSON.stringify((await as(admin, 'get', '/api/v1/audit').expect(200)).body);
      for (const key of [writerA, pasted, reader]) {
        expect(stored).not.toContain(key.slice(17));
        expect(listed).not.toContain(key.slice(17));
      }
    });

    it('lets admins read and filter the trail', async () => {
      const res = await as(admin, 'get', `/api/v1/audit?action=task.cancel&limit=5`).expect(200);
      expect(res.body.items.length).toBeGreaterThanOrEqual(1);
      for (const item of res.body.items as { action: string; id: number; created_at: string }[]) {
        expect(item.action).toBe('task.cancel');
        expect(item.created_at).toMatch(/Z$/);
      }
      const byKey = await as(admin, 'get', `/api/v1/audit?actor_key_id=${keyIds.writerB}`).expect(
        200,
      );
      expect(
        (byKey.body.items as { actor_key_id: string }[]).every(
          (i) => i.actor_key_id === keyIds.writerB,
        ),
      ).toBe(true);
      await as(admin, 'get', '/api/v1/audit?action=drop_table').expect(400);
      await as(admin, 'get', '/api/v1/audit?actor_key_id=1%20OR%201=1').expect(400);
    });
  });

  it('never answers a request with key material it did not just create', async () => {
    const secrets = [admin, writerA, writerB, reader].map((k) => k.slice(17));
    for (const url of [
      '/api/v1/api-keys',
      '/api/v1/audit?limit=100',
      '/api/v1/sessions',
      '/api/v1/tasks',
      `/api/v1/tasks/${taskA}`,
      '/docs-json',
    ]) {
      const res = await as(admin, 'get', url);
      for (const secret of secrets) expect(res.text).not.toContain(secret);
    }
    expect(UUID_RE.test(taskA)).toBe(true);
  });

  // Last: it adds a task of writer A, which the ownership lists above do not expect.
  it("an Idempotency-Key is its caller's own: another key's request with it never gets the first's answer", async () => {
    const body = { session_id: sessionA, description: 'A secret task of writer A' };
    const first = await as(writerA, 'post', '/api/v1/tasks')
      .set('Idempotency-Key', 'deploy-42')
      .send(body)
      .expect(201);
    // Writer B, the same key and body: its own request, which cannot see writer A's session.
    const theirs = await as(writerB, 'post', '/api/v1/tasks')
      .set('Idempotency-Key', 'deploy-42')
      .send(body)
      .expect(404);
    expect(JSON.stringify(theirs.body)).not.toContain(first.body.id as string);
    // Nor does another body tell writer B that the key was used.
    await as(writerB, 'post', '/api/v1/tasks')
      .set('Idempotency-Key', 'deploy-42')
      .send({ ...body, description: 'other' })
      .expect(404);
    // Writer A's own retry still gets its answer.
    const again = await as(writerA, 'post', '/api/v1/tasks')
      .set('Idempotency-Key', 'deploy-42')
      .send(body)
      .expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
  });
}

/** Limits that need their own server: a low rate limit, small queue caps, trusted proxies, CORS. */
describe('limits (SQLite)', () => {
  let t: TestApp;
  let tmp: string;
  let http: () => ReturnType<typeof request>;
  let keyA: string;
  let keyB: string;

  beforeAll(async () => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cta-lim-')));
    fs.mkdirSync(path.join(tmp, 'p'));
    t = await createTestApp({
      env: {
        AUTH_REQUIRED: 'true',
        RATE_LIMIT_PER_MINUTE: '6',
        MAX_QUEUED_TASKS_PER_KEY: '2',
        MAX_QUEUED_TASKS: '3',
        CORS_ORIGINS: 'https://app.example.com',
        TRUST_PROXY: 'loopback',
        ALLOWED_HOSTS: 'tasks.internal',
      },
    });
    await t.app.listen(0, '127.0.0.1');
    http = () => request(t.app.getHttpServer() as App);
    const keys = t.app.get(ApiKeysService);
    const make = async (name: string) =>
      (await keys.create({ name, scopes: ['tasks:write'], expiresAt: null, createdByKeyId: null }))
        .key;
    keyA = await make('a');
    keyB = await make('b');
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const as = (key: string, ip: string) =>
    ({
      get: (url: string) =>
        http().get(url).set('Authorization', `Bearer ${key}`).set('X-Forwarded-For', ip),
      post: (url: string) =>
        http().post(url).set('Authorization', `Bearer ${key}`).set('X-Forwarded-For', ip),
    }) as const;

  it('caps queued tasks per key and in all (429 queue_full)', async () => {
    const a = as(keyA, '10.0.0.1');
    const b = as(keyB, '10.0.0.2');
    const sa = (
      await a
        .post('/api/v1/sessions')
        .send({ project_path: path.join(tmp, 'p') })
        .expect(201)
    ).body.id;
    const sb = (
      await b
        .post('/api/v1/sessions')
        .send({ project_path: path.join(tmp, 'p') })
        .expect(201)
    ).body.id;
    await a.post('/api/v1/tasks').send({ session_id: sa, description: '1' }).expect(201);
    await a.post('/api/v1/tasks').send({ session_id: sa, description: '2' }).expect(201);
    const full = await a
      .post('/api/v1/tasks')
      .send({ session_id: sa, description: '3' })
      .expect(429);
    expect(full.body).toMatchObject({ code: 'queue_full', details: { queued: 2, limit: 2 } });
    // Not the rate limit's: when a queued task starts is not known (the OpenAPI 429 says so).
    expect(full.headers['retry-after']).toBeUndefined();
    await b.post('/api/v1/tasks').send({ session_id: sb, description: '1' }).expect(201);
    const total = await b
      .post('/api/v1/tasks')
      .send({ session_id: sb, description: '2' })
      .expect(429);
    expect(total.body).toMatchObject({
      code: 'queue_full',
      message: expect.stringMatching(/MAX_QUEUED_TASKS/),
    });
    expect(await t.dataSource.getRepository(Task).count()).toBe(3);
  });

  it('limits requests per key (429 rate_limited with Retry-After), other keys unaffected', async () => {
    const a = as(keyA, '10.0.0.3');
    let status = 200;
    let tries = 0;
    while (status !== 429 && tries < 20) {
      status = (await a.get('/api/v1/sessions')).status;
      tries += 1;
    }
    const res = await a.get('/api/v1/sessions').expect(429);
    expect(res.body).toMatchObject({ code: 'rate_limited', details: { limit: 6 } });
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    await as(keyB, '10.0.0.3')
      .get('/api/v1/sessions')
      .expect((r) => expect(r.status).not.toBe(429));
  });

  it('limits requests without a valid key per client address (behind a trusted proxy, its X-Forwarded-For)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push(
        (await http().get('/api/v1/tasks').set('X-Forwarded-For', '198.51.100.9')).status,
      );
    }
    expect(statuses.slice(0, 6)).toEqual(Array(6).fill(401));
    expect(statuses.slice(6)).toEqual([429, 429]);
    await http().get('/api/v1/tasks').set('X-Forwarded-For', '198.51.100.10').expect(401);
    const rows = await t.dataSource.getRepository(AuditEvent).find({ where: { status: 401 } });
    expect(rows.some((r) => r.ip === '198.51.100.9')).toBe(true);
  });

  it('answers CORS preflights for CORS_ORIGINS only', async () => {
    const allowed = await preflight(t.app.getHttpServer() as App, 'https://app.example.com');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(allowed.headers['access-control-allow-headers']).toMatch(/Authorization/i);
    const other = await preflight(t.app.getHttpServer() as App, 'https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('accepts a Host listed in ALLOWED_HOSTS', async () => {
    await http().get('/health/live').set('Host', 'tasks.internal:8000').expect(200);
    await http().get('/health/live').set('Host', 'other.internal').expect(403);
  });
});

describe('untrusted proxies (SQLite)', () => {
  it('ignores X-Forwarded-For without TRUST_PROXY: spoofed addresses share one rate limit', async () => {
    const t = await createTestApp({ env: { AUTH_REQUIRED: 'true', RATE_LIMIT_PER_MINUTE: '3' } });
    try {
      await t.app.listen(0, '127.0.0.1');
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await request(t.app.getHttpServer() as App)
          .get('/api/v1/tasks')
          .set('X-Forwarded-For', `203.0.113.${i}`);
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      await eventually(
        'the refusals to be recorded',
        async () => (await t.dataSource.getRepository(AuditEvent).count()) >= 3,
      );
      const rows = await t.dataSource.getRepository(AuditEvent).find();
      expect(rows.every((r) => !String(r.ip).startsWith('203.0.113.'))).toBe(true);
    } finally {
      await t.close();
    }
  });
});

describe('the API documentation under the rate limit (SQLite)', () => {
  it('counts its requests as the API counts them: guessed keys are refused 429 past the limit, and so is a valid key, the refusals recorded up to it', async () => {
    const t = await createTestApp({ env: { AUTH_REQUIRED: 'true', RATE_LIMIT_PER_MINUTE: '3' } });
    try {
      await t.app.listen(0, '127.0.0.1');
      const server = t.app.getHttpServer() as App;
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await request(server)
          .get('/docs-json')
          .set('Authorization', `Bearer cta_000000000000_guess${i}`);
        statuses.push(res.status);
        if (res.status === 429) {
          expect(res.body).toMatchObject({ code: 'rate_limited', details: { limit: 3 } });
          expect(res.headers['retry-after']).toMatch(/^\d+$/);
        }
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const { key } = await t.app.get(ApiKeysService).create({
        name: 'reader',
        scopes: ['tasks:read'],
        expiresAt: null,
        createdByKeyId: null,
      });
      const own: number[] = [];
      for (let i = 0; i < 4; i++) {
        own.push(
          (await request(server).get('/docs-json').set('Authorization', `Bearer ${key}`)).status,
        );
      }
      expect(own).toEqual([200, 200, 200, 429]);
      await eventually(
        'the refusals to be recorded',
        async () => (await t.dataSource.getRepository(AuditEvent).count()) >= 3,
      );
    } finally {
      await t.close();
    }
  });
});

describe('API security on SQLite', () => securitySuite('sqlite'));
describeMysql('API security on MySQL', () => securitySuite('mysql'));
