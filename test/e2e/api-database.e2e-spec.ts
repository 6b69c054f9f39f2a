import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, MIGRATIONS } from 'src/database/database-options';
import { openDataSource } from 'src/database/migration-run';
import { ApiKey } from 'src/auth/api-key.entity';
import { AuditEvent } from 'src/audit/audit-event.entity';
import { Session } from 'src/sessions/session.entity';
import { ClaudeInteraction } from 'src/tasks/claude-interaction.entity';
import { DESCRIPTION_MAX_LENGTH } from 'src/tasks/dto/create-task.dto';
import { TaskStatus } from 'src/tasks/task-status';
import { Task } from 'src/tasks/task.entity';
import { TASK_STATUS_FIELDS, toTaskStatusResponse } from 'src/tasks/task.mapper';
import { TaskRowReader } from 'src/tasks/task-row-reader';
import { TaskStatusSummaries } from 'src/tasks/task-status-summaries';
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
    ds = await openDataSource(
      buildDataSourceOptions({
        databaseUrl: db.url,
        entities: [Session, Task, ClaudeInteraction, TestCase, ApiKey, AuditEvent],
      }),
    );
  });
  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  const saveSession = (name: string, projectPath: string, at: Date): Promise<Session> =>
    ds.getRepository(Session).save({
      id: randomUUID(),
      name,
      projectPath,
      testCommand: null,
      regressionCommand: null,
      createdAt: at,
      updatedAt: at,
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
    const session = await saveSession('ünïcødé 🚀', '/tmp/p', now);
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
    // The whole row, as the claim reads it.
    const whole = await rows.task(task.id);
    expect(whole).toBeInstanceOf(Task);
    expect(whole).toEqual(read);
    expect(await rows.task(randomUUID())).toBeNull();
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

  it('reads the status summary as the entity mapper makes it from the row', async () => {
    const now = new Date('2026-11-25T06:00:00.123Z');
    const session = await saveSession('status', '/tmp/status', now);
    const base = {
      sessionId: session.id,
      projectPath: session.projectPath,
      description: 'Read me.',
      maxIterations: 20,
      maxPauses: 5,
      createdAt: now,
      updatedAt: now,
    };
    const waiting = await ds.getRepository(Task).save({
      ...base,
      id: randomUUID(),
      status: TaskStatus.Paused,
      statusReason: 'waiting_for_human',
      phase: 'agent_turn',
      iteration: 3,
      pauseCount: 1,
      lastAgentMessage: 'Which port? "8080" or \\u00e9 🚀',
      humanWait: {
        question: 'Which port?',
        reason: 'answer_question',
        reply: 'Use 8080.',
        phase: 'work',
        since: '2026-11-25T06:00:01.000Z',
        until: null,
      },
      testsPassed: 2,
      testsFailed: 1,
      testsTotal: 3,
      costUsd: 0.1 + 0.2,
      inputTokens: 12,
      outputTokens: 34,
      startedAt: new Date('2026-02-28T23:59:59.999Z'),
      completedAt: null,
    });
    const finished = await ds.getRepository(Task).save({
      ...base,
      id: randomUUID(),
      status: TaskStatus.Failed,
      statusReason: 'tests_failed',
      phase: null,
      errorMessage: 'It broke.',
      // Past the 28th: read through a Date.
      startedAt: new Date('2024-02-29T00:00:00.000Z'),
      completedAt: new Date('2026-12-31T23:59:59.000Z'),
      updatedAt: new Date('2000-01-01T00:00:00.000Z'),
    });
    const ids = [waiting.id, finished.id];
    if (kind === 'sqlite') {
      // Timestamps written by other hands, in SQLite's other forms: no milliseconds, ISO with Z.
      const later = randomUUID();
      await ds.query(
        `INSERT INTO tasks (id, session_id, project_path, description, status, max_iterations, max_pauses, created_at, started_at, updated_at) VALUES (?, ?, '/tmp/status', 'x', 'PENDING', 1, 1, '2026-11-25 06:00:00', '2026-11-25T06:00:00.5Z', '2026-11-25T06:00:00')`,
        [later, session.id],
      );
      ids.push(later);
    }
    const summaries = new TaskStatusSummaries(ds, new TaskRowReader(ds));
    for (const id of ids) {
      const row = await ds.getRepository(Task).findOneByOrFail({ id });
      const expected = toTaskStatusResponse(row);
      expect(await summaries.read(id)).toStrictEqual(expected);
    }
    expect(await summaries.read(waiting.id)).toMatchObject({
      waiting_for_human: { question: 'Which port?', reason: 'answer_question', until: null },
      tests: { passed: 2, failed: 1, total: 3 },
      started_at: '2026-02-28T23:59:59.999Z',
      completed_at: null,
    });
    expect(await summaries.read(finished.id)).toMatchObject({
      waiting_for_human: null,
      started_at: '2024-02-29T00:00:00.000Z',
      completed_at: '2026-12-31T23:59:59.000Z',
    });
    await expect(summaries.read(randomUUID())).rejects.toMatchObject({ code: 'task_not_found' });
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
