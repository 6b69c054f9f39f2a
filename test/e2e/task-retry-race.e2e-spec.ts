import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import request from 'supertest';
import type { App } from 'supertest/types';
import { TaskQueueRepository } from 'src/orchestrator/task-queue.repository';
import { TaskEventLog, TaskNote } from 'src/tasks';
import { eventually } from 'test/e2e/support/eventually';
import { committedProject } from 'test/e2e/support/git-repos';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { createTestDatabase, describeMysql, TestDatabase } from 'test/e2e/support/test-database';

/**
 * TWO RETRIES OF ONE TASK AT ONCE, with a claim between them: the one that loses gets 409 and
 * leaves no task behind, not even one a claim took before it lost. The interleaving is forced, not
 * timed: on MariaDB a row lock held on the original keeps both requests at their link while the
 * queue claims; on SQLite (one server per file) the losing request's link waits for the winning
 * request and the claims.
 */

/** A worktree session with a CANCELLED task in `server`'s database; returns the task's id. */
async function cancelledTask(server: App, project: string): Promise<string> {
  const session = await request(server)
    .post('/api/v1/sessions')
    .send({ project_path: project, isolation: 'worktree' })
    .expect(201);
  const task = await request(server)
    .post('/api/v1/tasks')
    .send({ session_id: session.body.id, description: 'Add a helper.' })
    .expect(201);
  const id = task.body.id as string;
  await request(server).post(`/api/v1/tasks/${id}/cancel`).expect(200);
  const status = await request(server).get(`/api/v1/tasks/${id}/status`).expect(200);
  expect(status.body.status).toBe('CANCELLED');
  return id;
}

/** Claims every task the queue would start now, as a server's orchestrator does; their ids. */
async function claimAll(queue: TaskQueueRepository): Promise<string[]> {
  const claimed: string[] = [];
  for (;;) {
    const next = await queue.claimNext();
    if (next === null) return claimed;
    claimed.push(next.task.id);
  }
}

/** The tasks that retry `original`, and the one `original` names as its retry. */
async function retriesOf(
  t: TestApp,
  original: string,
): Promise<{ retries: string[]; retriedBy: string | null }> {
  const rows: { id: string }[] = await t.dataSource.query(
    'SELECT id FROM tasks WHERE retry_of = ?',
    [original],
  );
  const [row]: { retried_by: string | null }[] = await t.dataSource.query(
    'SELECT retried_by FROM tasks WHERE id = ?',
    [original],
  );
  return { retries: rows.map((r) => r.id), retriedBy: row.retried_by };
}

describe('two retries of one task at once (SQLite)', () => {
  let work: string;
  let t: TestApp;
  let server: App;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cta-retry-race-'));
    t = await createTestApp({ database: 'sqlite' });
    server = t.app.getHttpServer() as App;
  });

  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('stores only the winning retry, even when the queue claims while the losing one links', async () => {
    const original = await cancelledTask(server, committedProject(join(work, 'repo'), { a: '1' }));
    const events = t.app.get(TaskEventLog);
    const link = events.noteWhere.bind(events);
    const queue = t.app.get(TaskQueueRepository);
    let claimed: string[] = [];
    let winner: request.Response | undefined;
    // The first retry's link waits while a second retry runs through and the queue claims.
    jest.spyOn(events, 'noteWhere').mockImplementationOnce(async (note: TaskNote) => {
      winner = await request(server).post(`/api/v1/tasks/${original}/retry`);
      claimed = await claimAll(queue);
      return link(note);
    });
    const loser = await request(server).post(`/api/v1/tasks/${original}/retry`);
    expect(winner?.status).toBe(201);
    expect(loser.status).toBe(409);
    expect(loser.body.message).toContain('was retried meanwhile');
    const { retries, retriedBy } = await retriesOf(t, original);
    expect(retries).toEqual([winner?.body.id]);
    expect(retriedBy).toBe(winner?.body.id);
    expect(claimed).toEqual([winner?.body.id]);
  });
});

describeMysql('two retries of one task at once on two servers (MariaDB)', () => {
  let work: string;
  let db: TestDatabase;
  const apps: TestApp[] = [];
  const servers: App[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cta-retry-race-'));
    db = await createTestDatabase('mysql');
    for (const name of ['a', 'b']) {
      const app = await createTestApp({ database: db, env: { INSTANCE_ID: name } });
      apps.push(app);
      servers.push(app.app.getHttpServer() as App);
    }
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('stores only the winning retry: no claim between the two links finds a retry task', async () => {
    const original = await cancelledTask(
      servers[0],
      committedProject(join(work, 'repo'), { a: '1' }),
    );
    const name = new URL(db.url).pathname.slice(1);
    const holder = await createConnection({ uri: db.url });
    let claimed: string[];
    let answers: request.Response[];
    try {
      // Both retries reach the link of the original (the row this transaction holds) and wait.
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM tasks WHERE id = ? FOR UPDATE', [original]);
      const retries = servers.map((server) =>
        request(server)
          .post(`/api/v1/tasks/${original}/retry`)
          .then((response) => response),
      );
      // The link cannot finish while the lock is held: an UPDATE of the row seen running waits.
      // (INNODB_TRX would say so directly, but its cache is refreshed only once nobody read it for
      // 0.1 s, which polling never lets happen.)
      await eventually('both retries to wait for the row lock', async () => {
        const [rows] = await holder.query(
          `SELECT COUNT(*) AS waiting FROM information_schema.PROCESSLIST
            WHERE DB = ? AND COMMAND = 'Query' AND INFO LIKE 'UPDATE tasks SET retried_by%'`,
          [name],
        );
        return Number((rows as { waiting: unknown }[])[0].waiting) === 2;
      });
      claimed = await claimAll(apps[1].app.get(TaskQueueRepository));
      await holder.query('ROLLBACK');
      answers = await Promise.all(retries);
    } finally {
      await holder.end();
    }
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    const winner = answers.find((a) => a.status === 201)!;
    const { retries, retriedBy } = await retriesOf(apps[0], original);
    expect(retries).toEqual([winner.body.id]);
    expect(retriedBy).toBe(winner.body.id);
    expect(claimed).toEqual([]);
  });
});
