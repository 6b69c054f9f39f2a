import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { Task } from 'src/tasks';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { describeMysql, TestDatabaseKind } from 'test/e2e/support/test-database';

/**
 * Idempotent creation on both engines: a client that retries `POST /sessions` or `POST /tasks`
 * with the same `Idempotency-Key` (its first answer lost, or sent twice at once) never creates
 * a duplicate.
 */
function suite(kind: TestDatabaseKind): void {
  let t: TestApp;
  let server: App;
  let project: string;

  beforeAll(async () => {
    project = realpathSync(mkdtempSync(join(tmpdir(), 'cta-idem-')));
    t = await createTestApp({ database: kind });
    await t.app.listen(0, '127.0.0.1');
    server = (await t.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
  });
  afterAll(async () => {
    await t?.close();
    rmSync(project, { recursive: true, force: true });
  });

  const session = async (): Promise<string> =>
    (await request(server).post('/api/v1/sessions').send({ project_path: project }).expect(201))
      .body.id as string;
  const createTask = (key: string, body: Record<string, unknown>) =>
    request(server).post('/api/v1/tasks').set('Idempotency-Key', key).send(body);
  const tasksOf = (sessionId: string): Promise<number> =>
    t.dataSource.getRepository(Task).countBy({ sessionId });

  it('answers a retry with the first answer and creates nothing twice', async () => {
    const sessionId = await session();
    const body = { session_id: sessionId, description: 'Add a cube function' };
    const first = await createTask('retry-1', body).expect(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await createTask('retry-1', body).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await tasksOf(sessionId)).toBe(1);
    // The same body without a key, or with another key, is a new task.
    await request(server).post('/api/v1/tasks').send(body).expect(201);
    await createTask('retry-2', body).expect(201);
    expect(await tasksOf(sessionId)).toBe(3);
  });

  it('refuses the same key with another body (422)', async () => {
    const sessionId = await session();
    await createTask('reused', { session_id: sessionId, description: 'one' }).expect(201);
    const res = await createTask('reused', { session_id: sessionId, description: 'two' }).expect(
      422,
    );
    expect(res.body.code).toBe('idempotency_key_reused');
    expect(await tasksOf(sessionId)).toBe(1);
  });

  it('takes the same body with its keys in another order as the same request', async () => {
    const sessionId = await session();
    await createTask('order', { session_id: sessionId, description: 'x', max_pauses: 2 }).expect(
      201,
    );
    const res = await createTask('order', {
      max_pauses: 2,
      description: 'x',
      session_id: sessionId,
    }).expect(201);
    expect(res.headers['idempotent-replayed']).toBe('true');
  });

  it('creates exactly one task from twenty concurrent requests with one key', async () => {
    const sessionId = await session();
    const body = { session_id: sessionId, description: 'Concurrent' };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => createTask('concurrent', body)),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    const created = answers.filter((a) => a.status === 201);
    expect(new Set(created.map((a) => a.body.id as string)).size).toBe(1);
    for (const busy of answers.filter((a) => a.status === 409)) {
      expect(busy.body.code).toBe('idempotency_request_in_progress');
    }
    expect(await tasksOf(sessionId)).toBe(1);
    const later = await createTask('concurrent', body).expect(201);
    expect(later.body.id).toBe(created[0].body.id);
  });

  it('forgets a request that failed, so its retry runs again', async () => {
    const body = { session_id: '00000000-0000-4000-8000-000000000000', description: 'x' };
    await createTask('failed', body).expect(404);
    const again = await createTask('failed', body).expect(404);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
  });

  it('makes session creation idempotent too', async () => {
    const first = await request(server)
      .post('/api/v1/sessions')
      .set('Idempotency-Key', 'session-1')
      .send({ project_path: project, name: 'once' })
      .expect(201);
    const again = await request(server)
      .post('/api/v1/sessions')
      .set('Idempotency-Key', 'session-1')
      .send({ project_path: project, name: 'once' })
      .expect(201);
    expect(again.body.id).toBe(first.body.id);
  });

  it('refuses a malformed key with 400', async () => {
    const sessionId = await session();
    const res = await createTask('x'.repeat(256), {
      session_id: sessionId,
      description: 'x',
    }).expect(400);
    expect(res.body.code).toBe('validation_failed');
    expect(await tasksOf(sessionId)).toBe(0);
  });
}

describe('Idempotent creation (SQLite)', () => suite('sqlite'));
describeMysql('Idempotent creation (MariaDB)', () => suite('mysql'));
