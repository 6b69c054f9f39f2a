import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { projectKey } from 'src/orchestrator/task-queue.repository';
import { TaskStatus } from 'src/tasks/task-status';
import { Task } from 'src/tasks/task.entity';
import {
  copyFixtureProject,
  FAKE_CLAUDE,
  fakeInvocations,
  fakeScript,
  getDetails,
  quoted,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { eventually } from 'test/e2e/support/eventually';
import { createTestApp } from 'test/e2e/support/test-app';
import {
  createTestDatabase,
  describeMysql,
  TestDatabase,
  TestDatabaseKind,
} from 'test/e2e/support/test-database';

/**
 * WHAT AN OPERATOR WATCHES, against real tasks run by the fake CLI on SQLite and MariaDB: the
 * Prometheus metrics move with claims, turns, cost, tokens, test runs, status changes and a lease
 * taken back from a dead server; the queue gauges; readiness (and its 503 once the database
 * stops); and the cost budget ending a task whose agent keeps spending.
 */

const DOUBLE_JS = 'module.exports = (x) => 2 * x;\n';

/** The value of one sample of a Prometheus text exposition (0 when it is absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',');
    if (wanted.every((w) => have.includes(w))) return Number(match[3]);
  }
  return 0;
}

function observabilitySuite(kind: TestDatabaseKind): void {
  let work: string;
  let db: TestDatabase;
  const savedEnv = { ...process.env };
  const logFile = (): string => join(work, 'fake-claude.log');

  const env = (orchestrator: boolean): Record<string, string> => ({
    ORCHESTRATOR_ENABLED: String(orchestrator),
    QUEUE_POLL_MS: '100',
    MAX_CONCURRENT_TASKS: '4',
    KILL_GRACE_SECONDS: '1',
    CLI_RESULT_GRACE_SECONDS: '2',
    CLAUDE_CLI_COMMAND: FAKE_CLAUDE,
    CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
  });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), `cta-obs-${kind}-`));
    process.env.FAKE_CLAUDE_STATE_DIR = join(work, 'state');
    process.env.FAKE_CLAUDE_LOG = logFile();
    db = await createTestDatabase(kind);
  });

  afterAll(async () => {
    process.env = savedEnv;
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  let staleTask: string;

  it('reports the queue (depth, age of the oldest task, tasks by status) and readiness of an API-only instance', async () => {
    const t = await createTestApp({ database: db, env: env(false) });
    try {
      const http = request(t.app.getHttpServer() as App);
      const stale = copyFixtureProject('node-basic', work, 'stale');
      const waiting = copyFixtureProject('node-basic', work, 'waiting');
      const post = async (project: string, description: string) => {
        const session = await request(t.app.getHttpServer() as App)
          .post('/api/v1/sessions')
          .send({ project_path: project })
          .expect(201);
        return (
          await request(t.app.getHttpServer() as App)
            .post('/api/v1/tasks')
            .send({ session_id: session.body.id, description })
            .expect(201)
        ).body.id as string;
      };
      staleTask = await post(
        stale,
        `Add a double helper. ${fakeScript(
          `edit-files path=src/double.js content=${quoted(DOUBLE_JS)}`,
          'write-tests lang=node result=pass name=double',
        )}`,
      );
      const queued = await post(waiting, 'waits in the queue');
      // The first task looks like one a server died running: live, its lease long expired.
      await t.dataSource.getRepository(Task).update(
        { id: staleTask },
        {
          status: TaskStatus.Running,
          attempt: 1,
          leaseOwner: 'gone@elsewhere.example:1:1:deadbeef',
          leaseExpiresAt: new Date(Date.now() - 60_000),
          runningProjectKey: projectKey(stale),
        },
      );
      const text = (await http.get('/metrics').expect(200)).text;
      expect(sample(text, 'cta_queue_depth')).toBe(1);
      expect(sample(text, 'cta_tasks', { status: 'RUNNING' })).toBe(1);
      expect(sample(text, 'cta_tasks', { status: 'PENDING' })).toBe(1);
      expect(sample(text, 'cta_tasks', { status: 'COMPLETED' })).toBe(0);
      expect(sample(text, 'cta_queue_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(0);
      expect(text).toMatch(/^cta_queue_oldest_pending_age_seconds \d/m);
      const ready = await request(t.app.getHttpServer() as App)
        .get('/health/ready')
        .expect(200);
      expect(ready.body).toMatchObject({
        status: 'ok',
        details: {
          database: { status: 'up' },
          migrations: { status: 'up' },
          orchestrator: { status: 'up', enabled: false },
          claude_cli: { status: 'up', version: '2.1.197' },
        },
      });
      await request(t.app.getHttpServer() as App)
        .get('/health/live')
        .expect(200, { status: 'ok' });
      await http.delete(`/api/v1/tasks/${queued}`).expect(204);
    } finally {
      await t.close();
    }
  });

  it('moves the counters with real tasks: claims, a lease taken back, turns, cost, tokens, tests, budget', async () => {
    const t = await createTestApp({ database: db, env: env(true) });
    try {
      await t.app.listen(0, '127.0.0.1');
      const server = t.app.getHttpServer() as App;
      const scrape = async (): Promise<string> =>
        (await request(server).get('/metrics').expect(200)).text;
      const recovered = await waitForTerminal(server, staleTask);
      expect(recovered.final).toMatchObject({
        status: 'COMPLETED',
        status_reason: 'verified_without_failing_tests',
      });
      // The counters move once the status change is written, a moment after a read can see it.
      const completions = (text: string) =>
        sample(text, 'cta_task_status_changes_total', {
          to: 'COMPLETED',
          reason: 'verified_without_failing_tests',
        });
      await eventually('the recovered task to be counted', async () => {
        return completions(await scrape()) === 1;
      });
      const before = await scrape();
      expect(sample(before, 'cta_lease_recoveries_total', { to: 'PENDING' })).toBe(1);
      expect(
        sample(before, 'cta_task_status_changes_total', {
          to: 'PENDING',
          // Its owner ran on another host: nobody here can tell it died, only that its lease ran out.
          reason: 'lease_expired',
        }),
      ).toBe(1);

      const project = copyFixtureProject('node-basic', work, `fresh`);
      const costly = copyFixtureProject('node-basic', work, `costly`);
      const session = async (p: string) =>
        (await request(server).post('/api/v1/sessions').send({ project_path: p }).expect(201)).body
          .id as string;
      const done = await request(server)
        .post('/api/v1/tasks')
        .send({
          session_id: await session(project),
          description: `Add a double helper. ${fakeScript(
            `edit-files path=src/double.js content=${quoted(DOUBLE_JS)} cost=0.25 input_tokens=1000 output_tokens=300`,
            'write-tests lang=node result=pass name=double cost=0.05',
          )}`,
        })
        .expect(201);
      const spender = await request(server)
        .post('/api/v1/tasks')
        .send({
          session_id: await session(costly),
          description: `Keep going. ${fakeScript(
            'stop-short cost=0.2',
            'stop-short cost=0.3',
            'stop-short cost=0.6',
            'stop-short cost=0.8',
            'stop-short cost=1.2',
          )}`,
          max_cost_usd: 1,
        })
        .expect(201);
      expect(spender.body.max_cost_usd).toBe(1);
      expect(done.body.max_cost_usd).toBe(10);
      const [completed, stopped] = await Promise.all([
        waitForTerminal(server, done.body.id as string),
        waitForTerminal(server, spender.body.id as string),
      ]);
      expect(completed.final).toMatchObject({ status: 'COMPLETED', cost_usd: 0.3 });
      expect(stopped.final).toMatchObject({
        status: 'FAILED',
        status_reason: 'budget_exceeded',
        iteration: 3,
      });
      expect(stopped.final.cost_usd).toBeCloseTo(1.1);
      expect(stopped.final.error_message).toMatch(/budget of \$1 \(max_cost_usd\)/);
      // Its agent ran three times, in the task's workspace (a worktree of the project).
      const { workspace_path } = await getDetails(server, spender.body.id as string);
      expect(fakeInvocations(logFile(), workspace_path!)).toHaveLength(3);

      const after = await scrape();
      const delta = (name: string, labels: Record<string, string> = {}): number =>
        sample(after, name, labels) - sample(before, name, labels);
      expect(delta('cta_task_claims_total', { reason: 'claimed' })).toBe(2);
      expect(delta('cta_agent_turns_total', { outcome: 'success' })).toBe(5);
      expect(delta('cta_agent_turn_duration_seconds_count')).toBe(5);
      expect(delta('cta_agent_cost_usd_total')).toBeCloseTo(1.4);
      expect(delta('cta_agent_tokens_total', { direction: 'input' })).toBeGreaterThanOrEqual(1000);
      expect(delta('cta_agent_tokens_total', { direction: 'output' })).toBeGreaterThanOrEqual(300);
      expect(delta('cta_test_runs_total', { kind: 'generated', result: 'passed' })).toBe(1);
      expect(completions(after) - completions(before)).toBe(1);
      expect(
        delta('cta_task_status_changes_total', { to: 'FAILED', reason: 'budget_exceeded' }),
      ).toBe(1);
      expect(sample(after, 'cta_tasks', { status: 'COMPLETED' })).toBe(2);
      expect(sample(after, 'cta_tasks', { status: 'FAILED' })).toBe(1);
      expect(sample(after, 'cta_queue_depth')).toBe(0);
      expect(
        delta('cta_http_requests_total', {
          method: 'GET',
          route: '/api/v1/tasks/:id/status',
          status: '200',
        }),
      ).toBeGreaterThan(0);
      expect(
        sample(after, 'cta_http_request_duration_seconds_count', {
          method: 'POST',
          route: '/api/v1/tasks',
          status: '201',
        }),
      ).toBe(2);
      for (const name of [
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_seconds',
        'nodejs_heap_size_used_bytes',
      ]) {
        expect(after).toMatch(new RegExp(`^${name} \\d`, 'm'));
      }
    } finally {
      await t.close();
    }
  });

  it('is ready with the database, migrations, orchestrator and CLI up, and 503 once the database stops', async () => {
    const t = await createTestApp({ database: db, env: env(true) });
    try {
      const http = () => request(t.app.getHttpServer() as App);
      const ready = await http().get('/health/ready').expect(200);
      expect(ready.body.details).toMatchObject({
        orchestrator: { status: 'up', enabled: true },
        claude_cli: { status: 'up' },
      });
      await t.dataSource.destroy();
      const down = await http().get('/health/ready').expect(503);
      expect(down.body).toMatchObject({
        status: 'error',
        error: { database: { status: 'down' } },
        details: { database: { status: 'down' }, migrations: { status: 'down' } },
      });
      await http().get('/health/live').expect(200, { status: 'ok' });
      await http().get('/health').expect(503);
    } finally {
      await t.close();
    }
  });
}

describe('Observability on SQLite', () => observabilitySuite('sqlite'));
describeMysql('Observability on MySQL', () => observabilitySuite('mysql'));
