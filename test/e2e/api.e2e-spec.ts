import * as fs from 'node:fs';
import { STATUS_CODES } from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRepositoryToken } from '@nestjs/typeorm';
import request from 'supertest';
import type { App } from 'supertest/types';
import type { Repository } from 'typeorm';
import { ClaudeInteraction } from 'src/tasks/claude-interaction.entity';
import { Session } from 'src/sessions/session.entity';
import { SessionsService } from 'src/sessions/sessions.service';
import { RECORD_PAGE_MAX_BYTES } from 'src/tasks/task-record-page';
import { Task } from 'src/tasks/task.entity';
import { TaskStatus } from 'src/tasks/task-status';
import { TestCase } from 'src/tasks/test-case.entity';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { describeMysql, TestDatabaseKind } from 'test/e2e/support/test-database';

const BODY_LIMIT = 64 * 1024;
/** Long enough for any test's body to arrive on a loaded machine, short enough to wait for. */
const BODY_TIMEOUT_MS = 2000;
/** The ids of a page body, in order. */
const idsOf = (body: unknown): string[] =>
  (body as { items: { id: string }[] }).items.map((x) => x.id);

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The seed's endpoint table: every one must be in the OpenAPI document. */
const SEED_ENDPOINTS: [string, string][] = [
  ['post', '/api/v1/sessions'],
  ['get', '/api/v1/sessions/{id}'],
  ['get', '/api/v1/sessions/{id}/tasks'],
  ['post', '/api/v1/tasks'],
  ['get', '/api/v1/tasks/{id}'],
  ['get', '/api/v1/tasks/{id}/status'],
  ['get', '/health'],
];

interface Counts {
  sessions: number;
  tasks: number;
}

/** The whole API suite; registered once per database engine. */
function apiSuite(kind: TestDatabaseKind): void {
  let t: TestApp;
  let http: () => ReturnType<typeof request>;
  let tmp: string;
  let allowed: string;
  let outside: string;
  let project: string;

  const counts = async (): Promise<Counts> => ({
    sessions: await t.dataSource.getRepository(Session).count(),
    tasks: await t.dataSource.getRepository(Task).count(),
  });

  const createSession = async (body: Record<string, unknown> = {}) => {
    const res = await http()
      .post('/api/v1/sessions')
      .send({ project_path: project, ...body })
      .expect(201);
    return res.body as { id: string; project_path: string };
  };

  const createTask = async (sessionId: string, body: Record<string, unknown> = {}) => {
    const res = await http()
      .post('/api/v1/tasks')
      .send({ session_id: sessionId, description: 'Create a calculator function', ...body })
      .expect(201);
    return res.body as { id: string; status: string };
  };

  const setStatus = (id: string, status: TaskStatus) =>
    t.dataSource.getRepository(Task).update({ id }, { status });

  beforeAll(async () => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cta-api-')));
    allowed = path.join(tmp, 'allowed');
    outside = path.join(tmp, 'outside');
    project = path.join(allowed, 'myproject');
    fs.mkdirSync(project, { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(allowed, 'a-file.txt'), 'not a directory');
    fs.symlinkSync(outside, path.join(allowed, 'escape'));
    fs.symlinkSync(project, path.join(allowed, 'link-to-project'));
    t = await createTestApp({
      database: kind,
      env: {
        ORCHESTRATOR_ENABLED: 'false',
        ALLOWED_PROJECT_ROOTS: allowed,
        MAX_REQUEST_BODY_BYTES: String(BODY_LIMIT),
        REQUEST_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
        CLAUDE_CLI_COMMAND: path.join(tmp, 'no-such-claude'),
      },
    });
    // Listening once: supertest would otherwise listen afresh for each request, which breaks
    // when requests run concurrently.
    await t.app.listen(0, '127.0.0.1');
    http = () => request(t.app.getHttpServer() as App);
  });

  afterAll(async () => {
    await t?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('seed flow', () => {
    it('creates a session and a PENDING task, then reports them in the seed field names', async () => {
      const session = await http()
        .post('/api/v1/sessions')
        .send({ project_path: path.join(allowed, 'link-to-project'), name: 'calc' })
        .expect(201);
      expect(Object.keys(session.body).sort()).toEqual(
        [
          'auto_respond',
          'base_ref',
          'created_at',
          'human_timeout_seconds',
          'id',
          'isolation',
          'name',
          'project_path',
          'regression_command',
          'require_failing_tests',
          'setup_command',
          'test_command',
          'updated_at',
        ].sort(),
      );
      // Not a git repository: its tasks work in place.
      expect(session.body).toMatchObject({
        name: 'calc',
        project_path: project,
        isolation: 'none',
        base_ref: null,
        setup_command: null,
        auto_respond: null,
        human_timeout_seconds: null,
      });
      expect(session.body.id).toMatch(UUID_RE);

      const task = await http()
        .post('/api/v1/tasks')
        .send({ session_id: session.body.id, description: 'Create a calculator function' })
        .expect(201);
      expect(task.body).toMatchObject({
        id: expect.stringMatching(UUID_RE),
        session_id: session.body.id,
        project_path: project,
        description: 'Create a calculator function',
        status: 'PENDING',
        status_reason: 'created',
        phase: 'queued',
        iteration: 0,
        max_iterations: 20,
        pause_count: 0,
        max_pauses: 5,
        tests: { passed: 0, failed: 0, total: 0 },
        cost_usd: 0,
        auto_respond: true,
        human_timeout_seconds: null,
        waiting_for_human: null,
        isolation: 'none',
        base_commit: null,
        branch: null,
        workspace_path: null,
        head_commit: null,
        merged_at: null,
        started_at: null,
        completed_at: null,
      });

      const status = await http().get(`/api/v1/tasks/${task.body.id}/status`).expect(200);
      expect(Object.keys(status.body).sort()).toEqual(
        [
          'completed_at',
          'cost_usd',
          'created_at',
          'error_message',
          'id',
          'input_tokens',
          'iteration',
          'last_agent_message',
          'max_iterations',
          'max_pauses',
          'output_tokens',
          'pause_count',
          'phase',
          'started_at',
          'status',
          'status_reason',
          'tests',
          'updated_at',
          'waiting_for_human',
        ].sort(),
      );
      expect(status.body).toMatchObject({ id: task.body.id, status: 'PENDING' });

      const details = await http().get(`/api/v1/tasks/${task.body.id}`).expect(200);
      expect(details.body).toMatchObject({
        id: task.body.id,
        interactions: [],
        interactions_total: 0,
        test_cases: [],
        test_cases_total: 0,
      });

      const got = await http().get(`/api/v1/sessions/${session.body.id}`).expect(200);
      expect(got.body).toEqual(session.body);

      const listed = await http().get(`/api/v1/sessions/${session.body.id}/tasks`).expect(200);
      expect(listed.body).toMatchObject({ total: 1, limit: 20, offset: 0 });
      expect(idsOf(listed.body)).toEqual([task.body.id]);
    });

    it('accepts upper-case ids and per-task limits within the configured bounds', async () => {
      const session = await createSession({
        test_command: 'npx jest',
        regression_command: 'npm test',
      });
      const task = await createTask(session.id.toUpperCase(), {
        max_iterations: 100,
        max_pauses: 0,
      });
      const status = await http().get(`/api/v1/tasks/${task.id.toUpperCase()}/status`).expect(200);
      expect(status.body).toMatchObject({ max_iterations: 100, max_pauses: 0 });
    });
  });

  describe('lists', () => {
    let sessionId: string;
    let ids: string[];

    beforeAll(async () => {
      sessionId = (await createSession({ name: 'lists' })).id;
      ids = [];
      for (let i = 0; i < 3; i++) {
        ids.push((await createTask(sessionId, { description: `task ${i}` })).id);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await setStatus(ids[0], TaskStatus.Running);
    });

    it('pages newest first with the total', async () => {
      const first = await http().get(`/api/v1/tasks?session_id=${sessionId}&limit=2`).expect(200);
      expect(first.body).toMatchObject({ total: 3, limit: 2, offset: 0 });
      expect(idsOf(first.body)).toEqual([ids[2], ids[1]]);
      const second = await http()
        .get(`/api/v1/sessions/${sessionId}/tasks?limit=2&offset=2`)
        .expect(200);
      expect(idsOf(second.body)).toEqual([ids[0]]);
      expect(second.body.total).toBe(3);
    });

    it('filters by status and session', async () => {
      const running = await http()
        .get(`/api/v1/tasks?status=RUNNING&session_id=${sessionId}`)
        .expect(200);
      expect(idsOf(running.body)).toEqual([ids[0]]);
      const pending = await http()
        .get(`/api/v1/sessions/${sessionId}/tasks?status=PENDING`)
        .expect(200);
      expect(pending.body.total).toBe(2);
      const all = await http().get('/api/v1/tasks?limit=100').expect(200);
      expect(all.body.total).toBe((await counts()).tasks);
    });

    it('lists sessions newest first', async () => {
      const res = await http().get('/api/v1/sessions?limit=1').expect(200);
      expect(res.body.items[0].id).toBe(sessionId);
      expect(res.body.total).toBe((await counts()).sessions);
    });
  });

  describe('task details', () => {
    it('returns interactions and test cases ordered by id, with JSON data and megabytes of output', async () => {
      const task = await createTask((await createSession()).id);
      const big = 'x'.repeat(3 * 1024 * 1024);
      const now = new Date();
      const interactions = t.dataSource.getRepository(ClaudeInteraction);
      for (const [kind, content] of [
        ['prompt', 'do it'],
        ['assistant', big],
        ['result', 'done'],
      ] as const) {
        await interactions.save(
          interactions.create({
            taskId: task.id,
            kind,
            iteration: 1,
            content,
            data: kind === 'result' ? { subtype: 'success', nested: { n: 1 } } : null,
            costUsd: kind === 'result' ? 0.0125 : null,
            inputTokens: kind === 'result' ? 1200 : null,
            outputTokens: kind === 'result' ? 300 : null,
            createdAt: now,
          }),
        );
      }
      const testCases = t.dataSource.getRepository(TestCase);
      await testCases.save(
        testCases.create({
          taskId: task.id,
          iteration: 1,
          kind: 'generated',
          name: 'adds numbers',
          filePath: 'calc.test.js',
          status: 'passed',
          durationMs: 7,
          output: big,
          createdAt: now,
        }),
      );
      await t.dataSource
        .getRepository(Task)
        .update({ id: task.id }, { lastAgentMessage: big, costUsd: 0.0125, inputTokens: 1200 });

      const res = await http().get(`/api/v1/tasks/${task.id}`).expect(200);
      const returned = res.body.interactions as { id: number; kind: string }[];
      expect(returned.map((i) => i.kind)).toEqual(['prompt', 'assistant', 'result']);
      const ids = returned.map((i) => i.id);
      expect(ids).toEqual([...ids].sort((a: number, b: number) => a - b));
      expect(typeof ids[0]).toBe('number');
      expect(res.body.interactions[1].content).toHaveLength(big.length);
      expect(res.body.interactions[2]).toMatchObject({
        data: { subtype: 'success', nested: { n: 1 } },
        cost_usd: 0.0125,
        input_tokens: 1200,
        output_tokens: 300,
        created_at: now.toISOString(),
      });
      expect(res.body.test_cases).toEqual([
        expect.objectContaining({ name: 'adds numbers', status: 'passed', duration_ms: 7 }),
      ]);
      expect(res.body.test_cases[0].output).toHaveLength(big.length);
      expect(res.body.last_agent_message).toHaveLength(big.length);
      const status = await http().get(`/api/v1/tasks/${task.id}/status`).expect(200);
      expect(status.body).toMatchObject({ cost_usd: 0.0125, input_tokens: 1200 });
    });

    it('includes the latest 500 interactions and pages through all of them by id', async () => {
      const task = await createTask((await createSession()).id);
      const now = new Date();
      const rows = Array.from({ length: 520 }, (_, i) => ({
        taskId: task.id,
        kind: 'assistant' as const,
        iteration: 1,
        content: `message ${i}`,
        data: null,
        costUsd: null,
        inputTokens: null,
        outputTokens: null,
        createdAt: now,
      }));
      const repo = t.dataSource.getRepository(ClaudeInteraction);
      for (let i = 0; i < rows.length; i += 100) await repo.insert(rows.slice(i, i + 100));

      const details = await http().get(`/api/v1/tasks/${task.id}`).expect(200);
      const shown = details.body.interactions as { id: number; content: string }[];
      expect(details.body.interactions_total).toBe(520);
      expect(shown).toHaveLength(500);
      expect(shown[0].content).toBe('message 20');
      expect(shown[499].content).toBe('message 519');

      const seen: string[] = [];
      let after = 0;
      for (;;) {
        const page = await http()
          .get(`/api/v1/tasks/${task.id}/interactions?after_id=${after}&limit=200`)
          .expect(200);
        expect(page.body.total).toBe(520);
        const items = page.body.items as { id: number; content: string }[];
        if (items.length === 0) {
          expect(page.body.next_after_id).toBe(after);
          break;
        }
        expect(page.body.next_after_id).toBe(items[items.length - 1].id);
        seen.push(...items.map((i) => i.content));
        after = page.body.next_after_id as number;
      }
      expect(seen).toEqual(rows.map((r) => r.content));

      for (const query of ['limit=0', 'limit=501', 'after_id=-1', 'after_id=x', 'offset=2']) {
        const bad = await http().get(`/api/v1/tasks/${task.id}/interactions?${query}`).expect(400);
        expect(bad.body.code).toBe('validation_failed');
      }
      const missing = await http()
        .get('/api/v1/tasks/00000000-0000-4000-8000-000000000000/interactions')
        .expect(404);
      expect(missing.body.code).toBe('task_not_found');
    });

    it('answers at most RECORD_PAGE_MAX_BYTES of interactions and of test cases, in pages and in the details', async () => {
      const task = await createTask((await createSession()).id);
      const now = new Date();
      const big = 'x'.repeat(300 * 1024);
      const interactions = Array.from({ length: 30 }, (_, i) => ({
        taskId: task.id,
        kind: 'assistant' as const,
        iteration: 1,
        content: `${i} ${big}`,
        data: { n: i },
        costUsd: null,
        inputTokens: null,
        outputTokens: null,
        createdAt: now,
      }));
      const testCases = Array.from({ length: 30 }, (_, i) => ({
        taskId: task.id,
        iteration: 1,
        kind: 'generated' as const,
        name: `case ${i}`,
        filePath: 'big.test.js',
        status: 'failed' as const,
        durationMs: 1,
        output: big,
        createdAt: now,
      }));
      for (const row of interactions)
        await t.dataSource.getRepository(ClaudeInteraction).insert(row);
      for (const row of testCases) await t.dataSource.getRepository(TestCase).insert(row);
      const fit = Math.floor(RECORD_PAGE_MAX_BYTES / (big.length + 8));

      const details = await http().get(`/api/v1/tasks/${task.id}`).expect(200);
      const shown = (details.body.interactions as { content: string }[]).map((i) =>
        Number(i.content.split(' ')[0]),
      );
      expect(shown).toEqual(Array.from({ length: fit }, (_, i) => 30 - fit + i));
      expect(details.body.interactions_total).toBe(30);
      expect((details.body.test_cases as { name: string }[]).map((c) => c.name)).toEqual(
        testCases.slice(30 - fit).map((c) => c.name),
      );

      for (const [route, label] of [
        ['interactions', (item: { content: string }) => item.content.split(' ')[0]],
        ['test-cases', (item: { name: string }) => item.name.replace('case ', '')],
      ] as const) {
        const seen: string[] = [];
        let after = 0;
        for (;;) {
          const page = await http()
            .get(`/api/v1/tasks/${task.id}/${route}?after_id=${after}&limit=200`)
            .expect(200);
          const items = page.body.items as never[];
          expect(items.length).toBeLessThanOrEqual(fit);
          expect(page.body.has_more).toBe(seen.length + items.length < 30);
          seen.push(...items.map((item) => label(item)));
          after = page.body.next_after_id as number;
          if (!page.body.has_more) break;
        }
        expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
      }
    });

    it('includes the latest 100 test cases with their total and pages through all of them by id', async () => {
      const task = await createTask((await createSession()).id);
      const now = new Date();
      const rows = Array.from({ length: 250 }, (_, i) => ({
        taskId: task.id,
        iteration: 1 + Math.floor(i / 100),
        kind: 'generated' as const,
        name: `case ${i}`,
        filePath: 'many.test.js',
        status: 'passed' as const,
        durationMs: 1,
        output: '',
        createdAt: now,
      }));
      const repo = t.dataSource.getRepository(TestCase);
      for (let i = 0; i < rows.length; i += 100) await repo.insert(rows.slice(i, i + 100));

      const details = await http().get(`/api/v1/tasks/${task.id}`).expect(200);
      const shown = details.body.test_cases as { id: number; name: string }[];
      expect(details.body.test_cases_total).toBe(250);
      expect(shown.map((c) => c.name)).toEqual(rows.slice(150).map((r) => r.name));

      const seen: string[] = [];
      let after = 0;
      for (;;) {
        const page = await http()
          .get(`/api/v1/tasks/${task.id}/test-cases?after_id=${after}&limit=200`)
          .expect(200);
        expect(page.body.total).toBe(250);
        const items = page.body.items as { id: number; name: string }[];
        if (items.length === 0) {
          expect(page.body.next_after_id).toBe(after);
          break;
        }
        expect(items.length).toBeLessThanOrEqual(200);
        expect(page.body.next_after_id).toBe(items[items.length - 1].id);
        seen.push(...items.map((c) => c.name));
        after = page.body.next_after_id as number;
      }
      expect(seen).toEqual(rows.map((r) => r.name));
      const first = await http().get(`/api/v1/tasks/${task.id}/test-cases`).expect(200);
      expect(first.body.items).toHaveLength(100);

      for (const query of ['limit=0', 'limit=201', 'after_id=-1', 'after_id=x', 'offset=2']) {
        const bad = await http().get(`/api/v1/tasks/${task.id}/test-cases?${query}`).expect(400);
        expect(bad.body.code).toBe('validation_failed');
      }
      const missing = await http()
        .get('/api/v1/tasks/00000000-0000-4000-8000-000000000000/test-cases')
        .expect(404);
      expect(missing.body.code).toBe('task_not_found');
    });
  });

  describe('deletion', () => {
    it('deletes PENDING and finished tasks, refuses live ones with 409', async () => {
      const sessionId = (await createSession()).id;
      const pending = await createTask(sessionId);
      await http().delete(`/api/v1/tasks/${pending.id}`).expect(204);
      await http().get(`/api/v1/tasks/${pending.id}`).expect(404);

      for (const live of [TaskStatus.Running, TaskStatus.Paused, TaskStatus.Testing]) {
        const task = await createTask(sessionId);
        await setStatus(task.id, live);
        const res = await http().delete(`/api/v1/tasks/${task.id}`).expect(409);
        expect(res.body).toMatchObject({ code: 'task_not_deletable', details: { status: live } });
        await http().get(`/api/v1/tasks/${task.id}`).expect(200);
        await setStatus(task.id, TaskStatus.Failed);
        await http().delete(`/api/v1/tasks/${task.id}`).expect(204);
      }
      const res = await http().delete(`/api/v1/tasks/${pending.id}`).expect(404);
      expect(res.body.code).toBe('task_not_found');
    });

    it('deletes a session with its tasks, but not while one of them runs', async () => {
      const sessionId = (await createSession()).id;
      const running = await createTask(sessionId);
      await createTask(sessionId);
      await setStatus(running.id, TaskStatus.Running);
      const refused = await http().delete(`/api/v1/sessions/${sessionId}`).expect(409);
      expect(refused.body.code).toBe('session_has_active_tasks');
      await http().get(`/api/v1/sessions/${sessionId}`).expect(200);

      await setStatus(running.id, TaskStatus.Cancelled);
      await http().delete(`/api/v1/sessions/${sessionId}`).expect(204);
      await http().get(`/api/v1/sessions/${sessionId}`).expect(404);
      expect(await t.dataSource.getRepository(Task).countBy({ sessionId })).toBe(0);
    });
  });

  describe('races with deletion', () => {
    it('answers 404 when the session is deleted between the lookup and the insert', async () => {
      const session = await createSession();
      const sessions = t.app.get<Repository<Session>>(getRepositoryToken(Session));
      const stored = await sessions.findOneByOrFail({ id: session.id });
      await http().delete(`/api/v1/sessions/${session.id}`).expect(204);
      const lookup = jest
        .spyOn(t.app.get(SessionsService), 'findVisible')
        .mockResolvedValueOnce(stored);
      try {
        const res = await http()
          .post('/api/v1/tasks')
          .send({ session_id: session.id, description: 'Too late' })
          .expect(404);
        expect(res.body.code).toBe('session_not_found');
        expect(lookup).toHaveBeenCalled();
      } finally {
        lookup.mockRestore();
      }
      expect(await t.dataSource.getRepository(Task).countBy({ sessionId: session.id })).toBe(0);
    });

    it('never answers 5xx when a queued task is cancelled and deleted at once', async () => {
      const sessionId = (await createSession()).id;
      for (let round = 0; round < 20; round += 1) {
        const task = await createTask(sessionId);
        const [cancel, remove] = await Promise.all([
          http().post(`/api/v1/tasks/${task.id}/cancel`),
          http().delete(`/api/v1/tasks/${task.id}`),
        ]);
        expect({ cancel: [200, 404].includes(cancel.status), remove: remove.status }).toEqual({
          cancel: true,
          remove: 204,
        });
        expect(await t.dataSource.getRepository(Task).countBy({ id: task.id })).toBe(0);
      }
    });
  });

  describe('request ids', () => {
    it('echoes a sane X-Request-Id and puts it in error bodies', async () => {
      const res = await http()
        .get('/api/v1/tasks/00000000-0000-4000-8000-000000000000')
        .set('X-Request-Id', 'abc-123')
        .expect(404);
      expect(res.headers['x-request-id']).toBe('abc-123');
      expect(res.body).toEqual({
        code: 'task_not_found',
        message: expect.any(String),
        request_id: 'abc-123',
      });
    });

    it('replaces an unusable X-Request-Id with a fresh one', async () => {
      const res = await http().get('/health').set('X-Request-Id', 'bad id\twith spaces');
      expect(res.headers['x-request-id']).toMatch(UUID_RE);
    });
  });

  describe('hostile input', () => {
    const longString = (n: number) => 'a'.repeat(n);
    type Req = {
      name: string;
      method: 'get' | 'post' | 'delete' | 'put' | 'patch';
      url: string | (() => string);
      body?: unknown;
      raw?: string;
      /** `raw` sent in this encoding (latin1: a byte per character, for bytes that are not UTF-8). */
      rawBytes?: 'latin1' | 'utf16le';
      contentType?: string;
      status: number;
      code: string;
    };
    let sessionId: string;
    let taskId: string;
    const sid = () => sessionId;
    const cases: Req[] = [
      {
        name: 'unknown session field',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<project>', admin: true },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'project_path of wrong type',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: 42 },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'project_path null',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: null },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'missing project_path',
        method: 'post',
        url: '/api/v1/sessions',
        body: {},
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'relative project_path',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: 'myproject' },
        status: 400,
        code: 'project_path_invalid',
      },
      {
        name: 'dot-dot project_path',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '../etc' },
        status: 400,
        code: 'project_path_invalid',
      },
      {
        name: 'missing directory',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<allowed>/nope' },
        status: 400,
        code: 'project_path_invalid',
      },
      {
        name: 'a file as project_path',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<allowed>/a-file.txt' },
        status: 400,
        code: 'project_path_invalid',
      },
      {
        name: 'NUL byte in project_path',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<allowed>/x\u0000y' },
        status: 400,
        code: 'project_path_invalid',
      },
      {
        name: 'symlink escaping the allowed roots',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<allowed>/escape' },
        status: 403,
        code: 'project_path_not_allowed',
      },
      {
        name: 'directory outside the allowed roots',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<outside>' },
        status: 403,
        code: 'project_path_not_allowed',
      },
      {
        name: 'dot-dot escape from an allowed root',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<allowed>/../outside' },
        status: 403,
        code: 'project_path_not_allowed',
      },
      {
        name: 'name too long',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<project>', name: longString(201) },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'test_command too long',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<project>', test_command: longString(2001) },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'test_command as array',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<project>', test_command: ['npm', 'test'] },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'test_command with a shell operator',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<project>', test_command: 'npm test && rm -rf build' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'test_command with command substitution',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<project>', test_command: 'npx jest $(cat list)' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'test_command starting with an environment assignment',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<project>', test_command: 'CI=1 npm test' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'regression_command with an unterminated quote',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<project>', regression_command: 'npm test -- "--runInBand' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'regression_command with a glob',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<project>', regression_command: 'pytest tests/*.py' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: '__proto__ smuggling',
        method: 'post',
        url: '/api/v1/sessions',
        raw: '{"project_path":"<project>","__proto__":{"admin":true}}',
        status: 400,
        code: 'validation_failed',
      },
      // a property twice in one object: readers differ on which one counts
      {
        name: 'a task description given twice',
        method: 'post',
        url: '/api/v1/tasks',
        raw: '{"session_id":"<sid>","description":"add a feature","description":"delete the tests"}',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'a session property given twice, once escaped',
        method: 'post',
        url: '/api/v1/sessions',
        raw: '{"project_path":"<project>","isolation":"worktree","isol\\u0061tion":"none"}',
        status: 400,
        code: 'validation_failed',
      },
      // null where the schema has no null: left out means the default, null is refused
      {
        name: 'max_iterations null',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', max_iterations: null },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'isolation null',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<project>', isolation: null },
        status: 400,
        code: 'validation_failed',
      },
      // text that is not Unicode: it would be stored as something else
      {
        name: 'a lone surrogate in a session name',
        method: 'post',
        url: '/api/v1/sessions',
        raw: '{"project_path":"<project>","name":"a\\ud800b"}',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'a lone low surrogate in a task description',
        method: 'post',
        url: '/api/v1/tasks',
        raw: '{"session_id":"<sid>","description":"\\udc00 fix it"}',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'bytes that are not UTF-8 in a session name',
        method: 'post',
        url: '/api/v1/sessions',
        raw: '{"project_path":"<project>","name":"bad\xff\xfe name"}',
        rawBytes: 'latin1',
        status: 400,
        code: 'malformed_json',
      },
      {
        name: 'a surrogate encoded in bytes (not UTF-8) in a task description',
        method: 'post',
        url: '/api/v1/tasks',
        raw: '{"session_id":"<sid>","description":"fix \xed\xa0\x80 and \xc3"}',
        rawBytes: 'latin1',
        status: 400,
        code: 'malformed_json',
      },
      {
        name: 'a body in UTF-16 (JSON between systems is UTF-8)',
        method: 'post',
        url: '/api/v1/sessions',
        raw: '{"project_path":"<project>","name":"utf-16"}',
        rawBytes: 'utf16le',
        contentType: 'application/json; charset=utf-16le',
        status: 400,
        code: 'malformed_json',
      },
      {
        name: 'a NUL character in a session name',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<project>', name: 'a\u0000b' },
        status: 400,
        code: 'validation_failed',
      },
      // prototype pollution, at any depth
      {
        name: 'nested __proto__',
        method: 'post',
        url: '/api/v1/sessions',
        raw: '{"project_path":"<project>","name":{"a":{"__proto__":{"polluted":true}}}}',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'nested constructor.prototype',
        method: 'post',
        url: '/api/v1/tasks',
        raw: '{"session_id":"<sid>","description":"x","max_pauses":{"constructor":{"prototype":{"polluted":true}}}}',
        status: 400,
        code: 'validation_failed',
      },
      // mass assignment: fields the server owns
      {
        name: 'session owner set by the client',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<project>', owner_key_id: '00000000-0000-4000-8000-000000000000' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'task status set by the client',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', status: 'COMPLETED' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'task cost set by the client',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', cost_usd: 0, attempt: 99 },
        status: 400,
        code: 'validation_failed',
      },
      // type confusion
      {
        name: 'an operator object as session_id',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: { $ne: null }, description: 'x' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'description as an array',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: ['x'] },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'max_cost_usd as a string',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', max_cost_usd: '5' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'max_cost_usd infinite',
        method: 'post',
        url: '/api/v1/tasks',
        raw: '{"session_id":"<sid>","description":"x","max_cost_usd":1e400}',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'max_cost_usd negative',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', max_cost_usd: -1 },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'max_cost_usd above the limit',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', max_cost_usd: 100.01 },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'max_iterations as a boolean',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', max_iterations: true },
        status: 400,
        code: 'validation_failed',
      },
      // deeply nested bodies
      {
        name: 'deeply nested arrays',
        method: 'post',
        url: '/api/v1/sessions',
        raw: `{"project_path":"<project>","name":${'['.repeat(20000)}${']'.repeat(20000)}}`,
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'deeply nested objects',
        method: 'post',
        url: '/api/v1/tasks',
        raw: `{"session_id":"<sid>","description":${'{"a":'.repeat(10000)}1${'}'.repeat(10000)}}`,
        status: 400,
        code: 'validation_failed',
      },
      // path tricks
      {
        name: 'encoded dot-dot in an id',
        method: 'get',
        url: '/api/v1/tasks/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
        status: 400,
        code: 'invalid_id',
      },
      {
        name: 'encoded slash in a session id',
        method: 'delete',
        url: '/api/v1/sessions/..%2F..%2F',
        status: 400,
        code: 'invalid_id',
      },
      {
        name: 'a /proc link out of the allowed roots',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '/proc/self/cwd' },
        status: 403,
        code: 'project_path_not_allowed',
      },
      {
        name: 'the allowed root reached through a doubled slash and dots',
        method: 'post',
        url: '/api/v1/sessions',
        body: { project_path: '<allowed>//./a-file.txt/..' },
        status: 400,
        code: 'project_path_invalid',
      },
      {
        name: 'malformed JSON',
        method: 'post',
        url: '/api/v1/sessions',
        raw: '{"project_path": "/tmp",',
        status: 400,
        code: 'malformed_json',
      },
      {
        name: 'JSON string body',
        method: 'post',
        url: '/api/v1/sessions',
        raw: '"just a string"',
        status: 400,
        code: 'malformed_json',
      },
      {
        name: 'JSON array body',
        method: 'post',
        url: '/api/v1/sessions',
        raw: '[{"project_path":"<project>"}]',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'empty JSON array body on retry',
        method: 'post',
        url: () => `/api/v1/tasks/${taskId}/retry`,
        raw: '[]',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'empty JSON array body on merge',
        method: 'post',
        url: () => `/api/v1/tasks/${taskId}/merge`,
        raw: '[]',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'description with a NUL character',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'Add a\u0000helper' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'message with a NUL character',
        method: 'post',
        url: () => `/api/v1/tasks/${taskId}/messages`,
        body: { content: 'yes, go ahead\u0000with it' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'non-JSON content type',
        method: 'post',
        url: '/api/v1/sessions',
        raw: 'project_path=/tmp',
        contentType: 'text/plain',
        status: 415,
        code: 'unsupported_media_type',
      },
      {
        name: 'form-encoded body',
        method: 'post',
        url: '/api/v1/tasks',
        raw: 'session_id=<sid>&description=x',
        contentType: 'application/x-www-form-urlencoded',
        status: 415,
        code: 'unsupported_media_type',
      },
      {
        name: 'oversized non-JSON body',
        method: 'post',
        url: '/api/v1/tasks',
        raw: longString(BODY_LIMIT + 10),
        contentType: 'application/octet-stream',
        status: 415,
        code: 'unsupported_media_type',
      },
      {
        name: '__proto__ query parameter',
        method: 'get',
        url: '/api/v1/tasks?__proto__=x',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'constructor query parameter',
        method: 'get',
        url: '/api/v1/sessions?constructor=x',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: "session_id on a session's task list",
        method: 'get',
        url: () => `/api/v1/sessions/${sid()}/tasks?session_id=${sid()}`,
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'huge body',
        method: 'post',
        url: '/api/v1/tasks',
        raw: JSON.stringify({ description: longString(BODY_LIMIT + 10) }),
        status: 413,
        code: 'payload_too_large',
      },
      {
        name: 'task for a missing session',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '00000000-0000-4000-8000-000000000000', description: 'x' },
        status: 404,
        code: 'session_not_found',
      },
      {
        name: 'task session_id not a uuid',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: 'abc', description: 'x' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'task without description',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'blank description',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: '   ' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'description too long',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: longString(20001) },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'description of wrong type',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: { $gt: '' } },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'unknown task field',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', status: 'COMPLETED' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'max_iterations 0',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', max_iterations: 0 },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'max_iterations above the limit',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', max_iterations: 101 },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'max_iterations huge',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', max_iterations: 1e308 },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'max_iterations as string',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', max_iterations: '5' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'max_iterations fractional',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', max_iterations: 1.5 },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'max_pauses negative',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', max_pauses: -1 },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'max_pauses above the limit',
        method: 'post',
        url: '/api/v1/tasks',
        body: { session_id: '<sid>', description: 'x', max_pauses: 51 },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'malformed task id',
        method: 'get',
        url: '/api/v1/tasks/not-a-uuid',
        status: 400,
        code: 'invalid_id',
      },
      {
        name: 'malformed status id',
        method: 'get',
        url: '/api/v1/tasks/123/status',
        status: 400,
        code: 'invalid_id',
      },
      {
        name: 'SQL in an id',
        method: 'get',
        url: "/api/v1/sessions/1'%20OR%20'1'='1",
        status: 400,
        code: 'invalid_id',
      },
      {
        name: 'malformed id on delete',
        method: 'delete',
        url: '/api/v1/sessions/zzz',
        status: 400,
        code: 'invalid_id',
      },
      {
        name: 'malformed id on session tasks',
        method: 'get',
        url: '/api/v1/sessions/zzz/tasks',
        status: 400,
        code: 'invalid_id',
      },
      {
        name: 'missing session',
        method: 'get',
        url: '/api/v1/sessions/00000000-0000-4000-8000-000000000000',
        status: 404,
        code: 'session_not_found',
      },
      {
        name: 'tasks of a missing session',
        method: 'get',
        url: '/api/v1/sessions/00000000-0000-4000-8000-000000000000/tasks',
        status: 404,
        code: 'session_not_found',
      },
      {
        name: 'limit 0',
        method: 'get',
        url: '/api/v1/tasks?limit=0',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'negative limit',
        method: 'get',
        url: '/api/v1/tasks?limit=-5',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'huge limit',
        method: 'get',
        url: '/api/v1/tasks?limit=100000000000',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'limit not a number',
        method: 'get',
        url: '/api/v1/sessions?limit=abc',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'offset in hexadecimal',
        method: 'get',
        url: '/api/v1/sessions?offset=0x10',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'limit with spaces',
        method: 'get',
        url: '/api/v1/tasks?limit=%20%2010',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'limit in exponent notation',
        method: 'get',
        url: '/api/v1/tasks?limit=1e1',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'empty after_id',
        method: 'get',
        url: () => `/api/v1/tasks/${taskId}/interactions?after_id=`,
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'negative offset',
        method: 'get',
        url: '/api/v1/sessions?offset=-1',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'repeated limit',
        method: 'get',
        url: '/api/v1/tasks?limit=1&limit=2',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'unknown status filter',
        method: 'get',
        url: '/api/v1/tasks?status=DONE',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'malformed session_id filter',
        method: 'get',
        url: '/api/v1/tasks?session_id=1%20OR%201=1',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'unknown query parameter',
        method: 'get',
        url: '/api/v1/tasks?sort=evil',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'unknown route',
        method: 'get',
        url: '/api/v1/nope',
        status: 404,
        code: 'route_not_found',
      },
      {
        name: 'unsupported method',
        method: 'put',
        url: '/api/v1/tasks',
        body: {},
        status: 405,
        code: 'method_not_allowed',
      },
      {
        name: 'path traversal route',
        method: 'get',
        url: '/api/v1/../../etc/passwd',
        status: 404,
        code: 'route_not_found',
      },
    ];

    beforeAll(async () => {
      sessionId = (await createSession({ name: 'hostile' })).id;
      taskId = (await createTask(sessionId)).id;
    });

    const fill = (s: string): string =>
      s
        .replaceAll('<project>', project)
        .replaceAll('<allowed>', allowed)
        .replaceAll('<outside>', outside)
        .replaceAll('<sid>', sid());

    it.each(cases)('$name -> $status $code, nothing stored', async (c) => {
      const before = await counts();
      const url = typeof c.url === 'string' ? c.url : c.url();
      let req = http()[c.method](url);
      if (c.raw !== undefined) {
        req = req.set('Content-Type', c.contentType ?? 'application/json');
        // Bytes are sent as they are: superagent would write a Buffer as JSON, and its
        // serializer's type says string, though Node's request writes a Buffer as well.
        if (c.rawBytes !== undefined) {
          const asIs = (bytes: Buffer): string => bytes as unknown as string;
          req = req.serialize(asIs).send(Buffer.from(fill(c.raw), c.rawBytes));
        } else {
          req = req.send(fill(c.raw));
        }
      } else if (c.body !== undefined) {
        req = req.send(JSON.parse(fill(JSON.stringify(c.body))) as object);
      }
      const res = await req;
      expect({ status: res.status, code: res.body.code }).toEqual({
        status: c.status,
        code: c.code,
      });
      expect(res.body).toEqual(
        expect.objectContaining({ message: expect.any(String), request_id: expect.any(String) }),
      );
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(ts|js):\d+|SELECT|INSERT|QueryFailed/);
      expect(await counts()).toEqual(before);
    });

    it('a method a route does not answer is 405 with the methods it does in Allow; an unknown path stays 404', async () => {
      const put = await http().put('/api/v1/tasks').send({}).expect(405);
      expect(put.headers.allow).toBe('GET, HEAD, POST');
      expect(put.body).toMatchObject({
        code: 'method_not_allowed',
        message: 'PUT is not a method of /api/v1/tasks: it answers GET, HEAD, POST',
        details: { allowed: ['GET', 'HEAD', 'POST'] },
      });
      const status = await http().post(`/api/v1/tasks/${taskId}/status`).send({}).expect(405);
      expect(status.headers.allow).toBe('GET, HEAD');
      const task = await http().patch(`/api/v1/tasks/${taskId}`).send({}).expect(405);
      expect(task.headers.allow).toBe('DELETE, GET, HEAD');
      const unknown = await http().put(`/api/v1/tasks/${taskId}/nope`).send({}).expect(404);
      expect(unknown.headers.allow).toBeUndefined();
      expect(unknown.body.code).toBe('route_not_found');
    });

    it('says a null where no null is taken must be left out for the default', async () => {
      const res = await http()
        .post('/api/v1/tasks')
        .send({ session_id: sid(), description: 'x', max_pauses: null, max_iterations: 3 })
        .expect(400);
      expect(res.body.details.errors).toEqual([
        {
          field: 'max_pauses',
          errors: expect.arrayContaining([
            'max_pauses must not be null: leave it out for its default',
          ]),
        },
      ]);
    });

    it('names a property given twice (a long name clipped); a body that is no JSON besides is told that first', async () => {
      const twice = await http()
        .post('/api/v1/tasks')
        .set('Content-Type', 'application/json')
        .send(`{"session_id":"${sid()}","description":"a","description":"b"}`)
        .expect(400);
      expect(twice.body.details.errors).toEqual([
        {
          field: 'description',
          errors: [
            'property description appears more than once in one object: send each property once',
          ],
        },
      ]);
      const long = 'x'.repeat(300);
      const clipped = await http()
        .post('/api/v1/tasks')
        .set('Content-Type', 'application/json')
        .send(`{"${long}":1,"${long}":2}`)
        .expect(400);
      expect(clipped.body.details.errors[0].field).toBe(`${'x'.repeat(100)}…`);
      await http()
        .post('/api/v1/tasks')
        .set('Content-Type', 'application/json')
        .send(`{"session_id":"${sid()}","description":"a","description":"b",}`)
        .expect(400)
        .expect((res) => expect(res.body.code).toBe('malformed_json'));
    });

    it("takes no null for a merge's target_branch: it would merge into the default branch", async () => {
      const res = await http()
        .post(`/api/v1/tasks/${taskId}/merge`)
        .send({ target_branch: null })
        .expect(400);
      expect(res.body.details.errors).toEqual([
        {
          field: 'target_branch',
          errors: expect.arrayContaining([
            'target_branch must not be null: leave it out for its default',
          ]),
        },
      ]);
    });

    it('names the field of a command that cannot run without a shell', async () => {
      const before = await counts();
      const one = await http()
        .post('/api/v1/sessions')
        .send({ project_path: project, test_command: 'npm test', regression_command: 'make | tee' })
        .expect(400);
      expect(one.body).toMatchObject({
        code: 'validation_failed',
        message: expect.stringMatching(/regression_command: .*shell operator "\|"/),
        details: { errors: [{ field: 'regression_command', errors: [expect.any(String)] }] },
      });
      expect(one.body.message).not.toContain('test_command');
      const both = await http()
        .post('/api/v1/sessions')
        .send({ project_path: project, test_command: "'oops", regression_command: 'a; b' })
        .expect(400);
      expect((both.body.details.errors as { field: string }[]).map((e) => e.field)).toEqual([
        'test_command',
        'regression_command',
      ]);
      expect(both.body.message).toMatch(/test_command: .*unterminated single quote/);
      expect(await counts()).toEqual(before);
    });

    it('accepts quoted special characters in commands and stores them verbatim', async () => {
      const testCommand = `npx jest --testPathPattern '(spec|test)[.]js$' "a b"`;
      const session = await createSession({
        test_command: testCommand,
        regression_command: 'python3 -m pytest -k "not slow"',
      });
      const res = await http().get(`/api/v1/sessions/${session.id}`).expect(200);
      expect(res.body).toMatchObject({
        test_command: testCommand,
        regression_command: 'python3 -m pytest -k "not slow"',
      });
    });

    it('says one thing per field: required when left out, else the first rule it breaks', async () => {
      const missing = await http().post('/api/v1/tasks').send({}).expect(400);
      expect(missing.body).toMatchObject({
        code: 'validation_failed',
        message:
          'Invalid request: session_id: session_id is required; description: description is required',
        details: {
          errors: [
            { field: 'session_id', errors: ['session_id is required'] },
            { field: 'description', errors: ['description is required'] },
          ],
        },
      });
      const wrong = await http()
        .post('/api/v1/tasks')
        .send({ session_id: sid(), description: 'x', max_iterations: 'ten' })
        .expect(400);
      expect(wrong.body.details.errors).toEqual([
        { field: 'max_iterations', errors: ['max_iterations must be an integer number'] },
      ]);
      const query = await http().get('/api/v1/tasks?limit=x').expect(400);
      expect(query.body.details.errors).toEqual([
        { field: 'limit', errors: ['limit must be an integer number'] },
      ]);
    });

    it('refuses a write with a query string its route does not read, naming each parameter and storing nothing; reads keep theirs', async () => {
      const before = await counts();
      const created = await http()
        .post('/api/v1/tasks?max_iterations=3&base_ref=main')
        .send({ session_id: sid(), description: 'x' })
        .expect(400);
      expect(created.body).toMatchObject({
        code: 'validation_failed',
        details: {
          errors: [
            {
              field: 'max_iterations',
              errors: [
                'query parameter max_iterations should not exist: this route reads no query string',
              ],
            },
            { field: 'base_ref' },
          ],
        },
      });
      expect(await counts()).toEqual(before);
      const deleted = await http().delete(`/api/v1/tasks/${taskId}?force=true`).expect(400);
      expect(deleted.body.details.errors).toEqual([
        {
          field: 'force',
          errors: ['query parameter force should not exist: this route reads no query string'],
        },
      ]);
      await http().get(`/api/v1/tasks/${taskId}?_=1700000000`).expect(200);
      const listed = await http().get('/api/v1/tasks?bogus=1').expect(400);
      expect(listed.body.details.errors[0].field).toBe('bogus');
      expect(await counts()).toEqual(before);
    });

    it('refuses a write with a body its route does not read, naming each property and doing nothing; an empty body asks for nothing', async () => {
      const { id } = await createTask(sid());
      const cancelled = await http()
        .post(`/api/v1/tasks/${id}/cancel`)
        .send({ reason: 'not needed' })
        .expect(400);
      expect(cancelled.body).toMatchObject({
        code: 'validation_failed',
        details: {
          errors: [
            {
              field: 'reason',
              errors: ['property reason should not exist: this route reads no request body'],
            },
          ],
        },
      });
      expect((await http().get(`/api/v1/tasks/${id}/status`).expect(200)).body.status).toBe(
        'PENDING',
      );
      await http().post(`/api/v1/tasks/${id}/cancel`).send({}).expect(200);
      const deleted = await http()
        .delete(`/api/v1/tasks/${id}`)
        .send({ keep_workspace: true })
        .expect(400);
      expect(deleted.body.details.errors[0].field).toBe('keep_workspace');
      await http().get(`/api/v1/tasks/${id}`).expect(200);
      await http().delete(`/api/v1/tasks/${id}`).expect(204);
    });

    it('names every bad field of a request in details', async () => {
      const res = await http()
        .post('/api/v1/tasks')
        .send({ session_id: 'x', description: 5, max_pauses: -1, extra: 1 })
        .expect(400);
      const fields = (res.body.details.errors as { field: string }[]).map((e) => e.field).sort();
      expect(fields).toEqual(['description', 'extra', 'max_pauses', 'session_id']);
    });
  });

  describe('JSON bodies', () => {
    it('names a forbidden key in details, and parses +json media types', async () => {
      const refused = await http()
        .post('/api/v1/sessions')
        .set('Content-Type', 'application/json')
        .send(`{"project_path":"${project}","__proto__":{"admin":true}}`)
        .expect(400);
      expect(refused.body.details.errors).toEqual([
        { field: '__proto__', errors: ['property __proto__ is not allowed'] },
      ]);
      const created = await http()
        .post('/api/v1/sessions')
        .set('Content-Type', 'application/vnd.api+json')
        .send(JSON.stringify({ project_path: project, name: 'vendor json' }))
        .expect(201);
      expect(created.body.name).toBe('vendor json');
    });

    it('refuses bodies nested too deep by their depth, and pollutes no prototype on the way', async () => {
      const res = await http()
        .post('/api/v1/sessions')
        .set('Content-Type', 'application/json')
        .send(`{"project_path":"${project}","name":${'['.repeat(33)}${']'.repeat(33)}}`)
        .expect(400);
      expect(res.body.message).toMatch(/deeper than 32 levels/);
      await http()
        .post('/api/v1/sessions')
        .set('Content-Type', 'application/json')
        .send('{"project_path":"x","a":{"__proto__":{"polluted":true}},"b":"[[[[[["}')
        .expect(400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('accepts a body-less POST whatever its Content-Type', async () => {
      const task = await createTask((await createSession()).id);
      await http()
        .post(`/api/v1/tasks/${task.id}/cancel`)
        .set('Content-Type', 'text/plain')
        .expect(200);
    });
  });

  describe('raw requests: refused by the HTTP parser, or too slow', () => {
    const rawRequest = (text: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const { port } = t.app.getHttpServer().address() as AddressInfo;
        const socket = net.connect(port, '127.0.0.1', () => socket.end(text));
        let reply = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (reply += chunk));
        socket.on('close', () => resolve(reply));
        // The server may close before a large request is fully written: keep what it answered.
        socket.on('error', (error) => (reply ? resolve(reply) : reject(error)));
      });
    const parse = (reply: string) => {
      const [head, body] = reply.split('\r\n\r\n');
      return {
        statusLine: head.split('\r\n')[0],
        body: JSON.parse(body) as Record<string, unknown>,
      };
    };

    it("answers a body that does not arrive in time with 408 under the request's id, and closes the connection", async () => {
      const { port } = t.app.getHttpServer().address() as AddressInfo;
      const socket = net.connect(port, '127.0.0.1', () =>
        socket.write(
          'POST /api/v1/sessions HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: slow-body-1\r\n' +
            'Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{"project_path":',
        ),
      );
      let reply = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (reply += chunk));
      await new Promise((closed) => socket.on('close', closed));
      const [head, body] = reply.split('\r\n\r\n');
      const headers = head.split('\r\n');
      expect(headers[0]).toBe('HTTP/1.1 408 Request Timeout');
      expect(headers).toEqual(
        expect.arrayContaining(['X-Request-Id: slow-body-1', 'Connection: close']),
      );
      expect(JSON.parse(body)).toEqual({
        code: 'request_timeout',
        message: `The request body was not received within ${BODY_TIMEOUT_MS} ms`,
        details: { timeout_ms: BODY_TIMEOUT_MS },
        request_id: 'slow-body-1',
      });
    });

    it.each([
      [
        'a malformed header line',
        'GET /health HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n',
        400,
        'bad_request',
      ],
      [
        'both Content-Length and Transfer-Encoding',
        'POST /api/v1/sessions HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
        'bad_request',
      ],
      [
        'chunk extensions over the size limit',
        `POST /api/v1/sessions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=${'a'.repeat(20 * 1024)}\r\n{}\r\n0\r\n\r\n`,
        413,
        'payload_too_large',
      ],
      [
        'headers over the size limit',
        `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`,
        431,
        'headers_too_large',
      ],
    ])('answers %s with a JSON error body', async (_label, text, status, code) => {
      const { statusLine, body } = parse(await rawRequest(text));
      expect(statusLine).toBe(`HTTP/1.1 ${status} ${STATUS_CODES[status]}`);
      expect(body).toEqual({ code, message: expect.any(String), request_id: expect.any(String) });
    });
  });

  describe('task limits', () => {
    it('refuses max_iterations and max_pauses above the configured limits, naming them', async () => {
      const sessionId = (await createSession()).id;
      const res = await http()
        .post('/api/v1/tasks')
        .send({ session_id: sessionId, description: 'x', max_iterations: 1e9, max_pauses: 51 })
        .expect(400);
      expect(res.body.details.errors).toEqual([
        { field: 'max_iterations', errors: ['max_iterations must not be greater than 100'] },
        { field: 'max_pauses', errors: ['max_pauses must not be greater than 50'] },
      ]);
      expect(await t.dataSource.getRepository(Task).countBy({ sessionId })).toBe(0);
    });
  });

  describe('OpenAPI', () => {
    it('documents every endpoint of the seed table with schemas and error responses', async () => {
      const res = await http().get('/docs-json').expect(200);
      const doc = res.body as {
        openapi: string;
        paths: Record<
          string,
          Record<
            string,
            { responses: Record<string, { content?: unknown }>; requestBody?: unknown }
          >
        >;
      };
      expect(doc.openapi).toMatch(/^3\./);
      for (const [method, route] of SEED_ENDPOINTS) {
        const op = doc.paths[route]?.[method];
        expect({ route, method, found: op !== undefined }).toEqual({ route, method, found: true });
        const success = Object.keys(op.responses).filter((s) => s.startsWith('2'));
        expect(success.length).toBeGreaterThan(0);
        expect(op.responses[success[0]].content).toBeDefined();
        if (route !== '/health') {
          expect(Object.keys(op.responses).filter((s) => s.startsWith('4')).length).toBeGreaterThan(
            0,
          );
        }
        if (method === 'post') expect(op.requestBody).toBeDefined();
      }
      for (const [route, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          expect({ route, method, responses: Object.keys(op.responses).length > 0 }).toEqual({
            route,
            method,
            responses: true,
          });
        }
      }
      // What every route answers by its kind, documented where it can be answered: a body too
      // large or of another type (413, 415) by every request but a read (whether or not the
      // route reads its body), a Host header not allowed (403) by every route, and a request
      // without a key (401) or past the rate limit (429) by every route that asks for one; every
      // error is JSON (an event stream's too).
      const undocumented: string[] = [];
      for (const [route, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          const expected = [
            '403',
            ...(route === '/health/live' ? [] : ['401', '429']),
            ...(method !== 'get' ? ['413', '415'] : []),
          ];
          for (const status of expected.filter((s) => !(s in op.responses))) {
            undocumented.push(`${method.toUpperCase()} ${route} ${status}`);
          }
          for (const [status, response] of Object.entries(op.responses)) {
            const types = Object.keys((response.content ?? {}) as object);
            if (Number(status) >= 400 && types.join() !== 'application/json') {
              undocumented.push(`${method.toUpperCase()} ${route} ${status} as ${types.join()}`);
            }
          }
        }
      }
      expect(undocumented).toEqual([]);
      // The liveness probe asks for no key, and says so (the document's default is a bearer key).
      expect((doc.paths['/health/live'].get as { security?: unknown }).security).toEqual([]);
      // A `string | null` property without an explicit type is documented as an object (a
      // nullable object of a known schema is `type: object` with `allOf: [$ref]`, which is typed).
      const schemas = (
        res.body as {
          components: { schemas: Record<string, { properties?: Record<string, object> }> };
        }
      ).components.schemas;
      const untyped = Object.entries(schemas).flatMap(([name, schema]) =>
        Object.entries(schema.properties ?? {})
          .filter(
            ([, prop]) =>
              (prop as { type?: string }).type === 'object' &&
              !('additionalProperties' in prop) &&
              !('allOf' in prop),
          )
          .map(([field]) => `${name}.${field}`),
      );
      expect(untyped).toEqual([]);
      expect(schemas.CreateSessionDto.properties?.test_command).toMatchObject({
        type: 'string',
        nullable: true,
      });
      await http().get('/docs').expect(200).expect('Content-Type', /html/);
    });
  });

  describe('health', () => {
    it('is ok with the database up and reports a missing CLI without failing', async () => {
      const res = await http().get('/health').expect(200);
      expect(res.body).toMatchObject({
        status: 'ok',
        database: { status: 'up' },
        claude_cli: { available: false, error: expect.stringContaining('not found') },
      });
    });

    it('answers 503 once the database is gone', async () => {
      await t.dataSource.destroy();
      const res = await http().get('/health').expect(503);
      expect(res.body).toMatchObject({ status: 'error', database: { status: 'down' } });
    });
  });
}

describe('API on SQLite', () => apiSuite('sqlite'));
describeMysql('API on MySQL', () => apiSuite('mysql'));
