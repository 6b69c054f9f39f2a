import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { Clock } from 'src/common';
import { IdempotencyKey } from 'src/idempotency';
import { ABANDONED_AFTER_MS } from 'src/idempotency/idempotency.service';
import { Session, SessionsService } from 'src/sessions';
import { Task, TaskQueueSignal } from 'src/tasks';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { describeMysql, TestDatabaseKind } from 'test/e2e/support/test-database';

/** The server's clock, moved on by a test: a key's abandonment time passes without waiting. */
class MovableClock extends Clock {
  aheadMs = 0;

  override nowMs(): number {
    return Date.now() + this.aheadMs;
  }
}

/**
 * Idempotent creation on both engines: a client that retries `POST /sessions` or `POST /tasks`
 * with the same `Idempotency-Key` (its first answer lost, or sent twice at once) never creates
 * a duplicate.
 */
function suite(kind: TestDatabaseKind): void {
  let t: TestApp;
  let server: App;
  let project: string;
  const clock = new MovableClock();

  beforeAll(async () => {
    project = realpathSync(mkdtempSync(join(tmpdir(), 'cta-idem-')));
    t = await createTestApp({
      database: kind,
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
    await t.app.listen(0, '127.0.0.1');
    server = (await t.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
  });
  afterEach(() => {
    jest.restoreAllMocks();
    clock.aheadMs = 0;
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

  /** Every write to a stored key outside the creating transaction fails from now on. */
  const failKeyWrites = (...methods: ('update' | 'delete')[]): void => {
    const keys = t.dataSource.getRepository(IdempotencyKey);
    for (const method of methods) {
      jest.spyOn(keys, method).mockRejectedValue(new Error(`injected: ${method} failed`));
    }
  };
  /** The ids of the session's tasks. */
  const taskIdsOf = async (sessionId: string): Promise<string[]> =>
    (await t.dataSource.getRepository(Task).findBy({ sessionId })).map((task) => task.id);

  it('answers a retry with the first task when the key could not be written after it', async () => {
    const sessionId = await session();
    const body = { session_id: sessionId, description: 'Answer lost' };
    // A database error or timeout on the key's writes once the task is stored.
    failKeyWrites('update');
    await createTask('answer-lost', body);
    jest.restoreAllMocks();
    const again = await createTask('answer-lost', body).expect(201);
    expect(await taskIdsOf(sessionId)).toEqual([again.body.id]);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('answers a retry past the abandonment time with the task a dead server created', async () => {
    const sessionId = await session();
    const body = { session_id: sessionId, description: 'Server died' };
    // A server that dies once the task is stored writes nothing more, the key's answer and its
    // removal included; its retry comes after the key counts as abandoned.
    failKeyWrites('update', 'delete');
    await createTask('server-died', body);
    jest.restoreAllMocks();
    clock.aheadMs = ABANDONED_AFTER_MS + 1000;
    const again = await createTask('server-died', body).expect(201);
    expect(await taskIdsOf(sessionId)).toEqual([again.body.id]);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('keeps the key of a request that failed after its task was stored', async () => {
    const sessionId = await session();
    const body = { session_id: sessionId, description: 'Failed late' };
    jest.spyOn(t.app.get(TaskQueueSignal), 'taskQueued').mockImplementationOnce(() => {
      throw new Error('injected: failed after the commit');
    });
    await createTask('failed-late', body).expect(500);
    const again = await createTask('failed-late', body).expect(201);
    expect(await taskIdsOf(sessionId)).toEqual([again.body.id]);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('stores no task when its answer cannot be stored with it', async () => {
    const sessionId = await session();
    const body = { session_id: sessionId, description: 'Both or neither' };
    await t.dataSource.query(
      kind === 'mysql'
        ? `CREATE TRIGGER refuse_answers BEFORE UPDATE ON idempotency_keys FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected fault'`
        : `CREATE TRIGGER refuse_answers BEFORE UPDATE ON idempotency_keys BEGIN SELECT RAISE(ABORT, 'injected fault'); END`,
    );
    try {
      const first = await createTask('both-or-neither', body);
      expect(first.status).toBeGreaterThanOrEqual(500);
      expect(await tasksOf(sessionId)).toBe(0);
    } finally {
      await t.dataSource.query('DROP TRIGGER refuse_answers');
    }
    const again = await createTask('both-or-neither', body).expect(201);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(await taskIdsOf(sessionId)).toEqual([again.body.id]);
  });

  it('answers a retry past the abandonment time with the session a dead server created', async () => {
    const body = { project_path: project, name: 'server died' };
    failKeyWrites('update', 'delete');
    await request(server)
      .post('/api/v1/sessions')
      .set('Idempotency-Key', 'session-lost')
      .send(body);
    jest.restoreAllMocks();
    clock.aheadMs = ABANDONED_AFTER_MS + 1000;
    const again = await request(server)
      .post('/api/v1/sessions')
      .set('Idempotency-Key', 'session-lost')
      .send(body)
      .expect(201);
    expect(await t.dataSource.getRepository(Session).countBy({ name: 'server died' })).toBe(1);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('rolls back the task of a request whose key was taken over while it ran', async () => {
    const sessionId = await session();
    const body = { session_id: sessionId, description: 'Taken over' };
    // The first request waits before it stores its task until the test lets it go on.
    const sessions = t.app.get(SessionsService);
    const findVisible = sessions.findVisible.bind(sessions);
    let goOn!: () => void;
    const held = new Promise<void>((resolve) => (goOn = resolve));
    const waiting = new Promise<void>((resolve) => {
      jest.spyOn(sessions, 'findVisible').mockImplementationOnce(async (id, principal) => {
        resolve();
        await held;
        return findVisible(id, principal);
      });
    });
    const slow = createTask('taken-over', body).then((res) => res);
    await waiting;
    clock.aheadMs = ABANDONED_AFTER_MS + 1000;
    const taker = await createTask('taken-over', body).expect(201);
    goOn();
    const late = await slow;
    expect(await taskIdsOf(sessionId)).toEqual([taker.body.id]);
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('idempotency_request_in_progress');
    const again = await createTask('taken-over', body).expect(201);
    expect(again.body).toEqual(taker.body);
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
