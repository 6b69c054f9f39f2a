import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { DataSource } from 'typeorm';
import { MAX_UNDELIVERED_MESSAGES, TaskMessages } from 'src/tasks';
import { createSessionTask } from 'test/e2e/support/task-polling';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { describeMysql, TestDatabaseKind } from 'test/e2e/support/test-database';

/**
 * THE CAP ON MESSAGES NO TURN HAS TAKEN under concurrent sends: many requests at once to one
 * queued task, on SQLite and on MariaDB at its default REPEATABLE READ and at READ COMMITTED (an
 * operator's `transaction-isolation`). Exactly MAX_UNDELIVERED_MESSAGES are stored, every other
 * send is a 409 `messages_pending`.
 */

const SENDS = 3 * MAX_UNDELIVERED_MESSAGES;

interface PoolConnection {
  query: (sql: string, callback: (error: Error | null) => void) => void;
}

interface Pool extends EventEmitter {
  _allConnections?: { toArray?: () => PoolConnection[] };
}

/** Every connection of the app's MySQL pool, those open and those opened later, at `level`. */
async function isolationLevel(dataSource: DataSource, level: string): Promise<void> {
  const pool = (dataSource.driver as unknown as { pool: Pool }).pool;
  const set = (connection: PoolConnection): Promise<void> =>
    new Promise((done, fail) =>
      connection.query(`SET SESSION TRANSACTION ISOLATION LEVEL ${level}`, (error) =>
        error === null ? done() : fail(error),
      ),
    );
  pool.on('connection', (connection: PoolConnection) => void set(connection));
  await Promise.all((pool._allConnections?.toArray?.() ?? []).map(set));
  const [row] = await dataSource.query<{ level: string }[]>('SELECT @@tx_isolation AS level');
  expect(row.level).toBe(level.replace(' ', '-'));
}

function suite(kind: TestDatabaseKind, level?: string): void {
  let t: TestApp;
  let server: App;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cta-message-cap-'));
    t = await createTestApp({ database: kind });
    if (level !== undefined) await isolationLevel(t.dataSource, level);
    await t.app.listen(0, '127.0.0.1');
    server = t.app.getHttpServer() as App;
  });

  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it(`stores exactly ${MAX_UNDELIVERED_MESSAGES} of ${SENDS} concurrent messages, 409 messages_pending for the rest`, async () => {
    const id = await createSessionTask(
      server,
      { project_path: realpathSync(work), isolation: 'none' },
      'Waits in the queue.',
    );
    const answers = await Promise.all(
      Array.from({ length: SENDS }, (_, i) =>
        request(server)
          .post(`/api/v1/tasks/${id}/messages`)
          .send({ content: `Message ${i}.` }),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(MAX_UNDELIVERED_MESSAGES);
    expect(
      answers
        .filter((answer) => answer.status !== 201)
        .map((answer) => (answer.body as { code: string }).code),
    ).toEqual(Array(SENDS - MAX_UNDELIVERED_MESSAGES).fill('messages_pending'));
    const stored = await t.app.get(TaskMessages).undelivered(id);
    expect(stored.map((message) => message.id).sort((x, y) => x - y)).toEqual(
      answers
        .filter((answer) => answer.status === 201)
        .map((answer) => answer.body.id as number)
        .sort((x, y) => x - y),
    );
    const [count] = await t.dataSource.query<{ n: number | string }[]>(
      "SELECT COUNT(*) AS n FROM claude_interactions WHERE task_id = ? AND kind = 'human'",
      [id],
    );
    expect(Number(count.n)).toBe(MAX_UNDELIVERED_MESSAGES);
  });
}

describe('the message cap under concurrent sends (SQLite)', () => suite('sqlite'));
describeMysql('the message cap under concurrent sends (MariaDB, REPEATABLE READ)', () =>
  suite('mysql'),
);
describeMysql('the message cap under concurrent sends (MariaDB, READ COMMITTED)', () =>
  suite('mysql', 'READ COMMITTED'),
);
