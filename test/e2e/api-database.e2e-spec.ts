import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, MIGRATIONS } from 'src/database/database-options';
import { ApiKey } from 'src/auth/api-key.entity';
import { AuditEvent } from 'src/audit/audit-event.entity';
import { Session } from 'src/sessions/session.entity';
import { ClaudeInteraction } from 'src/tasks/claude-interaction.entity';
import { DESCRIPTION_MAX_LENGTH } from 'src/tasks/dto/create-task.dto';
import { TaskStatus } from 'src/tasks/task-status';
import { Task } from 'src/tasks/task.entity';
import { TASK_STATUS_FIELDS } from 'src/tasks/task.mapper';
import { TaskRowReader } from 'src/tasks/task-row-reader';
import { TestCase } from 'src/tasks/test-case.entity';
import {
  createTestDatabase,
  describeMysql,
  TestDatabase,
  TestDatabaseKind,
} from 'test/e2e/support/test-database';

const TABLES = [
  'api_keys',
  'audit_events',
  'claude_interactions',
  'sessions',
  'tasks',
  'test_cases',
];

/** The API's longest description and the longest stored error, in 4-byte characters (utf8mb4). */
const LONGEST_DESCRIPTION = '🚀'.repeat(DESCRIPTION_MAX_LENGTH);
const LONGEST_ERROR = '𠀀'.repeat(16 * 1024);

/** The one migration and the entity mapping, checked on a real engine. */
function databaseSuite(kind: TestDatabaseKind): void {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    ds = await new DataSource(
      buildDataSourceOptions({
        databaseUrl: db.url,
        entities: [Session, Task, ClaudeInteraction, TestCase, ApiKey, AuditEvent],
      }),
    ).initialize();
  });
  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  const tables = async (): Promise<string[]> => {
    const runner = ds.createQueryRunner();
    try {
      const found = await runner.getTables(TABLES);
      return found.map((t) => t.name.split('.').pop() ?? t.name).sort();
    } finally {
      await runner.release();
    }
  };

  it('creates every table and index on start, and reverts and re-applies cleanly', async () => {
    expect(await tables()).toEqual(TABLES);
    const runner = ds.createQueryRunner();
    const tasks = await runner.getTable('tasks');
    const keys = await runner.getTable('api_keys');
    await runner.release();
    const indexes = (tasks?.indices ?? []).map((i) => i.columnNames.join(',')).sort();
    expect(indexes).toEqual(
      expect.arrayContaining([
        'project_path,status',
        'session_id,created_at',
        'status,created_at',
        'running_project_key',
        'owner_key_id,status',
      ]),
    );
    expect(keys?.indices.find((i) => i.name === 'UQ_api_keys_prefix')?.isUnique).toBe(true);
    expect(tasks?.indices.find((i) => i.name === 'UQ_tasks_running_project_key')?.isUnique).toBe(
      true,
    );
    for (let i = 0; i < MIGRATIONS.length; i += 1) await ds.undoLastMigration();
    expect(await tables()).toEqual([]);
    await ds.runMigrations();
    expect(await tables()).toEqual(TABLES);
  });

  it('stores and reads back the types the app relies on', async () => {
    const now = new Date('2026-11-25T06:00:00.123Z');
    const session = await ds.getRepository(Session).save({
      id: randomUUID(),
      name: 'ünïcødé 🚀',
      projectPath: '/tmp/p',
      testCommand: null,
      regressionCommand: null,
      createdAt: now,
      updatedAt: now,
    });
    const task = await ds.getRepository(Task).save({
      id: randomUUID(),
      sessionId: session.id,
      projectPath: session.projectPath,
      description: LONGEST_DESCRIPTION,
      status: TaskStatus.Pending,
      statusReason: 'created',
      phase: 'queued',
      maxIterations: 20,
      maxPauses: 5,
      claudeSessionId: null,
      resultSummary: null,
      errorMessage: LONGEST_ERROR,
      lastAgentMessage: null,
      leaseOwner: null,
      leaseExpiresAt: null,
      processGroupId: 2147483000,
      costUsd: 1.2345678901,
      createdAt: now,
      startedAt: null,
      completedAt: null,
      updatedAt: now,
    });
    const first = await ds.getRepository(ClaudeInteraction).save({
      taskId: task.id,
      kind: 'assistant',
      iteration: 1,
      content: 'a',
      data: { k: [1, 2] },
      costUsd: null,
      inputTokens: null,
      outputTokens: null,
      createdAt: now,
    });
    const second = await ds.getRepository(ClaudeInteraction).save({
      taskId: task.id,
      kind: 'result',
      iteration: 1,
      content: 'b',
      data: null,
      costUsd: 0.5,
      inputTokens: 10,
      outputTokens: 20,
      createdAt: now,
    });
    expect(typeof first.id).toBe('number');
    expect(second.id).toBeGreaterThan(first.id);

    const read = await ds.getRepository(Task).findOneByOrFail({ id: task.id });
    const rows = new TaskRowReader(ds);
    const summary = await rows.read(task.id, TASK_STATUS_FIELDS);
    expect(summary).toEqual(
      Object.fromEntries(TASK_STATUS_FIELDS.map((field) => [field, read[field]])),
    );
    expect(summary?.createdAt).toEqual(now);
    expect(await rows.read(task.id, ['ownerKeyId', 'cancelRequested'])).toEqual({
      ownerKeyId: null,
      cancelRequested: false,
    });
    expect(await rows.read(randomUUID(), TASK_STATUS_FIELDS)).toBeNull();
    expect(read).toMatchObject({
      iteration: 0,
      attempt: 0,
      cancelRequested: false,
      processGroupId: 2147483000,
      costUsd: 1.2345678901,
      createdAt: now,
    });
    expect(typeof read.testsTotal).toBe('number');
    expect(read.description === LONGEST_DESCRIPTION).toBe(true);
    expect(read.errorMessage === LONGEST_ERROR).toBe(true);
    const back = await ds.getRepository(ClaudeInteraction).find({
      where: { taskId: task.id },
      order: { id: 'ASC' },
    });
    expect(back.map((i) => [typeof i.id, i.data, i.createdAt.toISOString()])).toEqual([
      ['number', { k: [1, 2] }, now.toISOString()],
      ['number', null, now.toISOString()],
    ]);
    expect((await ds.getRepository(Session).findOneByOrFail({ id: session.id })).name).toBe(
      'ünïcødé 🚀',
    );

    await ds.getRepository(Session).delete({ id: session.id });
    expect(await ds.getRepository(Task).countBy({ id: task.id })).toBe(0);
    expect(await ds.getRepository(ClaudeInteraction).countBy({ taskId: task.id })).toBe(0);
  });

  it('enforces the foreign keys', async () => {
    await expect(
      ds.getRepository(ClaudeInteraction).insert({
        taskId: randomUUID(),
        kind: 'status',
        iteration: 0,
        content: 'orphan',
        data: null,
        costUsd: null,
        inputTokens: null,
        outputTokens: null,
        createdAt: new Date(),
      }),
    ).rejects.toThrow(/foreign key/i);
  });
}

describe('database on SQLite', () => databaseSuite('sqlite'));
describeMysql('database on MySQL', () => databaseSuite('mysql'));
