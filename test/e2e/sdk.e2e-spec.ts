import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, ApiError, StreamClosedError, TaskStreamEvent } from 'sdk/client';
import type { OpenAPIObject } from '@nestjs/swagger';
import { CLIENT_FILE, OPENAPI_FILE, renderClient, renderSdk } from 'sdk/generate';
import { ApiKeysService } from 'src/auth/api-keys.service';
import { buildOpenApiDocument } from 'src/common/http/configure-app';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';

/** A port of this machine that nothing listens on (it was free a moment ago). */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The generated client SDK (`sdk/`): current with the server, and working against it. */
describe('API client SDK', () => {
  let t: TestApp;
  let client: ApiClient;
  let project: string;

  beforeAll(async () => {
    project = realpathSync(mkdtempSync(join(tmpdir(), 'cta-sdk-project-')));
    t = await createTestApp({ env: { CLAUDE_CLI_COMMAND: join(project, 'no-such-claude') } });
    await t.app.listen(0, '127.0.0.1');
    client = new ApiClient((await t.app.getUrl()).replace('[::1]', '127.0.0.1'));
  });

  afterAll(async () => {
    await t?.close();
    rmSync(project, { recursive: true, force: true });
  });

  it('is what `npm run sdk` generates from the current API (run it after changing the API)', async () => {
    const { client: code, openapi } = await renderSdk(buildOpenApiDocument(t.app));
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(openapi);
    expect(readFileSync(CLIENT_FILE, 'utf8')).toBe(code);
  });

  it('`npm run sdk` refused its configuration leaves no scratch directory behind', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'cta-sdk-tmp-'));
    try {
      const run = spawnSync(
        process.execPath,
        [
          '-r',
          'ts-node/register/transpile-only',
          '-r',
          'tsconfig-paths/register',
          'sdk/generate.ts',
        ],
        {
          env: {
            ...process.env,
            TMPDIR: scratch,
            DIFF_MAX_BYTES: '10',
            TS_NODE_PROJECT: 'tsconfig.json',
          },
          encoding: 'utf8',
        },
      );
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('DIFF_MAX_BYTES');
      // (TypeScript's compile cache may be there: not the generator's.)
      expect(readdirSync(scratch).filter((name) => name.startsWith('cta-sdk-'))).toEqual([]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("follows a task's events, sends it messages and retries it through typed methods", async () => {
    const kinds = (events: TaskStreamEvent[]): string[] =>
      events.map((e) => (e.event === 'message' ? e.data.kind : `end:${e.data.status}`));
    const session = await client.sessions.create({ project_path: project });
    const task = await client.tasks.create({ session_id: session.id, description: 'Follow me' });
    const message = await client.messages.send(task.id, { content: 'Keep it short.' });
    expect(message).toMatchObject({ kind: 'human', content: 'Keep it short.' });
    const seen: TaskStreamEvent[] = [];
    const following = (async () => {
      for await (const event of client.events.followTask(task.id)) seen.push(event);
    })();
    await client.tasks.cancel(task.id);
    await following;
    // The message no turn took is said before the end (`messages_undelivered`).
    expect(kinds(seen)).toEqual(['human', 'system', 'status', 'end:CANCELLED']);
    const rest: TaskStreamEvent[] = [];
    const resumed = client.events.followTask(task.id, {}, { lastEventId: String(message.id) });
    for await (const event of resumed) rest.push(event);
    expect(rest).toEqual(seen.slice(1));

    await expect(client.messages.send(task.id, { content: 'Too late' })).rejects.toMatchObject({
      status: 409,
      body: { code: 'task_finished' },
    });
    const retry = await client.tasks.retry(task.id, { max_iterations: 2 });
    expect(retry).toMatchObject({ retry_of: task.id, max_iterations: 2, status: 'PENDING' });
    expect(await client.tasks.findOne(task.id)).toMatchObject({ retried_by: retry.id });
    await client.tasks.cancel(retry.id);
    await client.sessions.remove(session.id);
  });

  it('creates, lists, reads, cancels and deletes through typed methods', async () => {
    const session = await client.sessions.create({ project_path: project, name: 'sdk' });
    expect(session).toMatchObject({ project_path: project, name: 'sdk' });
    expect(await client.sessions.findOne(session.id)).toEqual(session);

    const task = await client.tasks.create({
      session_id: session.id,
      description: 'Create a calculator function',
      max_iterations: 3,
    });
    expect(task).toMatchObject({ status: 'PENDING', max_iterations: 3 });
    expect(await client.tasks.status(task.id)).toMatchObject({ id: task.id, status: 'PENDING' });
    const listed = await client.tasks.list({ session_id: session.id, limit: 5 });
    expect(listed).toMatchObject({ total: 1, limit: 5, offset: 0 });
    expect(listed.items.map((i) => i.id)).toEqual([task.id]);

    expect(await client.tasks.cancel(task.id)).toMatchObject({ status: 'CANCELLED' });
    const page = await client.tasks.interactions(task.id, { limit: 10 });
    expect(page.items.map((i) => i.kind)).toEqual(['status']);
    expect(page.next_after_id).toBe(page.items[0].id);
    const cancelled = await client.sessions.listTasks(session.id, { status: 'CANCELLED' });
    expect(cancelled.items.map((i) => i.id)).toEqual([task.id]);
    expect((await client.tasks.findOne(task.id)).interactions_total).toBe(1);
    expect(await client.tasks.testCases(task.id, { limit: 10 })).toEqual({
      items: [],
      next_after_id: 0,
      has_more: false,
      total: 0,
    });
    // The stats are their own group: `tasks.get` read like a task's own read and was not.
    expect(await client.stats.get({ session_id: session.id })).toMatchObject({
      finished: 1,
      by_status: { CANCELLED: 1 },
    });
    expect('get' in client.tasks).toBe(false);

    await expect(client.tasks.remove(task.id)).resolves.toBeUndefined();
    await expect(client.sessions.remove(session.id)).resolves.toBeUndefined();
    expect((await client.health.check()).database.status).toBe('up');
  });

  it('merges and retries without a body (both optional): none is sent, the server takes that', async () => {
    const bodies: unknown[] = [];
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const watched = new ApiClient(url, (input, init) => {
      bodies.push(init?.body);
      return fetch(input, init);
    });
    const session = await client.sessions.create({ project_path: project });
    const task = await client.tasks.create({ session_id: session.id, description: 'No body' });
    // Refused for the task's state, not for its body: the request was read as one without.
    await expect(watched.tasks.merge(task.id)).rejects.toMatchObject({
      status: 409,
      body: { code: 'task_not_mergeable' },
    });
    await client.tasks.cancel(task.id);
    const retry = await watched.tasks.retry(task.id);
    expect(retry).toMatchObject({ retry_of: task.id, status: 'PENDING' });
    expect(bodies).toEqual([undefined, undefined]);
    await client.tasks.cancel(retry.id);
  });

  it('throws ApiError with the status and the error body', async () => {
    const missing = await client.tasks
      .findOne('00000000-0000-4000-8000-000000000000')
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiError);
    expect(missing).toMatchObject({ status: 404, body: { code: 'task_not_found' } });
    const invalid = await client.sessions
      .create({ project_path: 'relative/path' })
      .catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 400, body: { code: 'project_path_invalid' } });
    expect((invalid as ApiError).message).toMatch(/^400 project_path_invalid: /);

    const proxy = new ApiClient('http://gateway.invalid', () =>
      Promise.resolve(new Response('<html>Bad gateway</html>', { status: 502 })),
    );
    const page = await proxy.health.check().catch((e: unknown) => e);
    expect(page).toMatchObject({ status: 502, body: null, payload: undefined });
    expect((page as ApiError).message).toBe('HTTP 502');
    expect((page as ApiError).retryAfterSeconds).toBeNull();

    const limited = new ApiClient('http://gateway.invalid', () =>
      Promise.resolve(
        new Response(
          JSON.stringify({ code: 'rate_limited', message: 'Slow down', request_id: 'r' }),
          {
            status: 429,
            headers: { 'content-type': 'application/json', 'retry-after': '17' },
          },
        ),
      ),
    );
    const refused = await limited.health.check().catch((e: unknown) => e);
    expect(refused).toMatchObject({
      status: 429,
      retryAfterSeconds: 17,
      body: { code: 'rate_limited' },
    });
  });

  it('retries a creation whose answer was lost with the same Idempotency-Key: one task', async () => {
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const session = await client.sessions.create({ project_path: project });
    const keys: (string | null)[] = [];
    let calls = 0;
    // The first answer is lost on the way back, after the server created the task.
    const flaky = new ApiClient(url, async (input, init) => {
      calls += 1;
      keys.push(new Headers(init?.headers).get('idempotency-key'));
      const res = await fetch(input, init);
      if (calls === 1) throw new TypeError('fetch failed: socket hang up');
      return res;
    });
    const task = await flaky.tasks.create({ session_id: session.id, description: 'Once only' });
    expect(calls).toBe(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    const listed = await client.tasks.list({ session_id: session.id });
    expect(listed.items.map((i) => i.id)).toEqual([task.id]);
    const again = await client.tasks.create(
      { session_id: session.id, description: 'Once only' },
      { idempotencyKey: keys[0]! },
    );
    expect(again.id).toBe(task.id);
  });

  it('gives the health report of a 503 as the error payload', async () => {
    await t.dataSource.destroy();
    const down = await client.health.check().catch((e: unknown) => e);
    expect(down).toBeInstanceOf(ApiError);
    expect(down).toMatchObject({ status: 503, body: null, payload: { status: 'error' } });
  });
});

describe('API client SDK following a stream that cannot go on', () => {
  const taskId = '00000000-0000-4000-8000-000000000000';

  it('gives up on a server nothing answers for after maxReconnects failed tries in a row', async () => {
    const client = new ApiClient(`http://127.0.0.1:${await unusedPort()}`);
    const failed = await (async () => {
      for await (const event of client.events.followTask(taskId, {}, { maxReconnects: 2 })) {
        throw new Error(`no event expected, got ${event.event}`);
      }
    })().catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(StreamClosedError);
    expect(failed).toMatchObject({ code: 'reconnect_failed' });
    expect((failed as StreamClosedError).message).toMatch(
      /^The event stream could not be reconnected: 3 tries in a row failed \(last: fetch failed\)$/,
    );
    expect((failed as StreamClosedError).lastError).toMatchObject({ name: 'TypeError' });
  });

  it('counts 503s as failed tries, waiting what their Retry-After says', async () => {
    let calls = 0;
    const busy = new ApiClient('http://gateway.invalid', () => {
      calls += 1;
      return Promise.resolve(
        new Response(JSON.stringify({ code: 'shutting_down', message: 'Draining' }), {
          status: 503,
          headers: { 'content-type': 'application/json', 'retry-after': '0' },
        }),
      );
    });
    const stream = busy.events.followTask(taskId, {}, { maxReconnects: 3 });
    const failed = await stream.next().catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(failed).toMatchObject({ code: 'reconnect_failed' });
    expect((failed as StreamClosedError).lastError).toMatchObject({
      status: 503,
      retryAfterSeconds: 0,
      body: { code: 'shutting_down' },
    });
  });

  it('counts a connection that brings nothing but retry: as a failed try, and a keep-alive as a live one', async () => {
    const frames: string[][] = [
      [': keep-alive\n\n'],
      ...Array.from({ length: 4 }, () => ['retry: 10\n\n']),
    ];
    let calls = 0;
    const dropping = new ApiClient('http://gateway.invalid', () => {
      const body = frames[calls] ?? ['retry: 10\n\n'];
      calls += 1;
      return Promise.resolve(
        new Response(body.join(''), {
          status: 200,
          headers: { 'content-type': 'text/event-stream' },
        }),
      );
    });
    const stream = dropping.events.followTask(taskId, {}, { maxReconnects: 2 });
    const failed = await stream.next().catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'reconnect_failed' });
    expect(calls).toBe(4);
  });

  it('reconnects from where a stream said it starts (an `id:` without data), before any event came', async () => {
    const sent: (string | null)[] = [];
    const bodies = ['retry: 10\nid: 41\n\n: keep-alive\n\n', 'retry: 10\nid: 41\n\n'];
    const starting = new ApiClient('http://gateway.invalid', (_url, init) => {
      sent.push(new Headers(init?.headers).get('last-event-id'));
      return Promise.resolve(
        new Response(bodies[sent.length - 1] ?? 'retry: 10\n\n', {
          status: 200,
          headers: { 'content-type': 'text/event-stream' },
        }),
      );
    });
    const failed = await starting.events
      .followAll({}, { maxReconnects: 1 })
      .next()
      .catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'reconnect_failed' });
    expect(sent).toEqual([null, '41', '41']);
  });

  it('gives up once the server it follows is stopped, after the events it sent', async () => {
    const project = realpathSync(mkdtempSync(join(tmpdir(), 'cta-sdk-stopped-')));
    const t = await createTestApp();
    try {
      await t.app.listen(0, '127.0.0.1');
      const client = new ApiClient((await t.app.getUrl()).replace('[::1]', '127.0.0.1'));
      const session = await client.sessions.create({ project_path: project });
      const task = await client.tasks.create({ session_id: session.id, description: 'Stop me' });
      await client.messages.send(task.id, { content: 'Are you there?' });
      const seen: TaskStreamEvent[] = [];
      const following = (async () => {
        for await (const event of client.events.followTask(task.id, {}, { maxReconnects: 2 })) {
          seen.push(event);
          if (seen.length === 1) await t.close();
        }
      })().catch((e: unknown) => e);
      const failed = await following;
      expect(seen.map((e) => (e.event === 'message' ? e.data.content : e.event))).toEqual([
        'Are you there?',
      ]);
      expect(failed).toMatchObject({ code: 'reconnect_failed' });
      expect((failed as StreamClosedError).lastError).toMatchObject({ name: 'TypeError' });
    } finally {
      await t.close();
      rmSync(project, { recursive: true, force: true });
    }
  });
});

describe('API client SDK with keys', () => {
  it('sends its API key as a bearer token, and manages keys', async () => {
    const project = realpathSync(mkdtempSync(join(tmpdir(), 'cta-sdk-keys-')));
    const t = await createTestApp({ env: { AUTH_REQUIRED: 'true' } });
    try {
      await t.app.listen(0, '127.0.0.1');
      const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
      const { key } = await t.app
        .get(ApiKeysService)
        .create({ name: 'sdk admin', scopes: ['admin'], expiresAt: null, createdByKeyId: null });
      const anonymous = await new ApiClient(url).sessions.list().catch((e: unknown) => e);
      expect(anonymous).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
      const admin = new ApiClient(url, fetch, key);
      const writer = await admin.apiKeys.create({ name: 'writer', scopes: ['tasks:write'] });
      expect(writer.key).toMatch(/^cta_/);
      const session = await new ApiClient(url, fetch, writer.key).sessions.create({
        project_path: project,
      });
      expect((await admin.sessions.findOne(session.id)).id).toBe(session.id);
      expect((await admin.apiKeys.list()).items.map((k) => k.name).sort()).toEqual([
        'sdk admin',
        'writer',
      ]);
      const task = await new ApiClient(url, fetch, writer.key).tasks.create({
        session_id: session.id,
        description: 'Follow me until my key goes',
      });
      // Followed with a key of its own: revoking the task's owner key would end the task itself
      // (its stream then ends with the task's end).
      const follower = await admin.apiKeys.create({ name: 'follower', scopes: ['admin'] });
      const following = (async () => {
        const seen: string[] = [];
        for await (const event of new ApiClient(url, fetch, follower.key).events.followTask(
          task.id,
        )) {
          seen.push(event.event);
          if (seen.length === 1) await admin.apiKeys.revoke(follower.id);
        }
        return seen;
      })().catch((e: unknown) => e);
      await admin.messages.send(task.id, { content: 'An event to follow' });
      const stopped = await following;
      expect(stopped).toBeInstanceOf(StreamClosedError);
      expect(stopped).toMatchObject({
        code: 'key_revoked',
        message: 'The API key of this stream has been revoked: the stream is closed',
      });
      // Revoking the task's owner key cancels its queued task before the revocation answers.
      expect(await admin.tasks.findOne(task.id)).toMatchObject({ status: 'PENDING' });
      await admin.apiKeys.revoke(writer.id);
      expect(await admin.tasks.findOne(task.id)).toMatchObject({
        status: 'CANCELLED',
        status_reason: 'owner_key_revoked',
      });
      expect((await admin.audit.list({ action: 'api_key.revoke' })).total).toBe(2);
    } finally {
      await t.close();
      rmSync(project, { recursive: true, force: true });
    }
  });
});

/** A document of `schemas` and `paths` alone, for what the generator makes of them. */
function documentOf(
  schemas: Record<string, object>,
  paths: Record<string, object> = {},
): OpenAPIObject {
  return {
    openapi: '3.0.0',
    info: { title: 'test', version: '0' },
    paths,
    components: { schemas },
  } as OpenAPIObject;
}

/** What `sdk/generate.ts` makes of the schemas and operations it reads. */
describe('API client SDK generator', () => {
  it('types a named enum as the union of its values, and a property referring to it by its name', () => {
    const client = renderClient(
      documentOf({
        ErrorCode: { type: 'string', enum: ['task_not_found', 'internal_error'] },
        ErrorResponseDto: {
          type: 'object',
          properties: { code: { allOf: [{ $ref: '#/components/schemas/ErrorCode' }] } },
          required: ['code'],
        },
      }),
    );
    expect(client).toContain('export type ErrorCode = "task_not_found" | "internal_error";');
    expect(client).toContain('  code: ErrorCode;');
  });

  it('makes a body the operation does not require an optional argument', () => {
    const post = (required: boolean) => ({
      post: {
        operationId: `tasks_${required ? 'create' : 'merge'}`,
        tags: ['tasks'],
        requestBody: {
          required,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Body' } } },
        },
        responses: { '200': { description: 'done' } },
      },
    });
    const client = renderClient(
      documentOf({ Body: { type: 'object' } }, { '/create': post(true), '/merge': post(false) }),
    );
    expect(client).toContain('    create: (body: Body): Promise<void> =>');
    expect(client).toContain('    merge: (body?: Body): Promise<void> =>');
  });

  it('names a method by its explicit operationId, and refuses a default one or two of one name in a group', () => {
    const get = (operationId: string) => ({
      get: { operationId, tags: ['tasks'], responses: { '200': { description: 'ok' } } },
    });
    expect(renderClient(documentOf({}, { '/a': get('tasks_status') }))).toContain(
      '    status: (): Promise<void> =>',
    );
    // Nest's default: renaming the handler would rename the method.
    expect(() => renderClient(documentOf({}, { '/a': get('TasksController_status') }))).toThrow(
      'GET /a: operationId "TasksController_status" is not tasks_<method>: give it one (@ApiOperation({ operationId }))',
    );
    expect(() =>
      renderClient(documentOf({}, { '/a': get('tasks_status'), '/b': get('tasks_status') })),
    ).toThrow('GET /b: tasks.status is the method of GET /a already');
  });

  it('types a map by the schema of its values (additionalProperties), unknown where it gives none', () => {
    const client = renderClient(
      documentOf({
        StatsDto: {
          type: 'object',
          properties: {
            by_status: { type: 'object', additionalProperties: { type: 'integer' } },
            data: { type: 'object', additionalProperties: true },
          },
          required: ['by_status', 'data'],
        },
      }),
    );
    expect(client).toContain('  by_status: Record<string, number>;');
    expect(client).toContain('  data: Record<string, unknown>;');
  });

  it('keeps the other properties of an object with named ones and more (an index signature)', () => {
    const client = renderClient(
      documentOf({
        ErrorResponseDto: {
          type: 'object',
          properties: {
            details: {
              type: 'object',
              properties: { errors: { type: 'array', items: { type: 'string' } } },
              additionalProperties: true,
            },
          },
        },
      }),
    );
    expect(client.replace(/\s+/g, ' ')).toContain(
      'details?: { errors?: Array<string>; [key: string]: unknown; };',
    );
  });

  it("types a stream's events from the data schemas its x-sse-events names, closed aside", () => {
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    const streamOf = (events: Record<string, object> | undefined) => ({
      get: {
        operationId: 'events_follow',
        tags: ['events'],
        responses: {
          '200': {
            description: 'events',
            content: {
              'text/event-stream': { schema: { type: 'string' }, 'x-sse-events': events },
            },
          },
        },
      },
    });
    const object = { type: 'object', properties: { text: { type: 'string' } } };
    const schemas = { Message: object, End: object, Closed: object };
    const client = renderClient(
      documentOf(schemas, {
        '/events': streamOf({ message: ref('Message'), end: ref('End'), closed: ref('Closed') }),
      }),
    );
    expect(client).toContain(
      'export type FollowEvent = { event: "message"; id: string; data: Message } | { event: "end"; id: string | null; data: End };',
    );
    expect(client).toContain('export type TaskStreamEvent = FollowEvent;');
    expect(client).toContain(
      "type ClosedFrame = { event: 'closed'; id: string | null; data: Closed };",
    );
    expect(client).toContain('AsyncGenerator<FollowEvent> =>');
    expect(() => renderClient(documentOf(schemas, { '/events': streamOf(undefined) }))).toThrow(
      "GET /events: an event stream names its events' data schemas in x-sse-events, closed among them",
    );
  });
});
