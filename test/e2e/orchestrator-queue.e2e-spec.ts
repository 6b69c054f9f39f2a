import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { In } from 'typeorm';
import { isProcessGroupAlive } from 'src/process/process-group';
import { TaskOrchestratorService } from 'src/orchestrator/task-orchestrator.service';
import { TaskStatus } from 'src/tasks/task-status';
import { Task } from 'src/tasks/task.entity';
import {
  copyFixtureProject,
  FAKE_CLAUDE,
  fakeScript,
  getDetails,
  statusPath,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { eventually } from 'test/e2e/support/eventually';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';

/**
 * The queue and cancellation through the real AppModule on SQLite, with the fake CLI as real
 * child processes: concurrency cap, one task per project at a time for tasks in place (isolation
 * `none`), cancel while queued and while running (no process of the task survives). Tasks of one
 * repository in workspaces running side by side: task-workspaces.e2e-spec.ts.
 */

interface FakeLogEntry {
  cwd: string;
  pgid: number;
  prompt: string;
}

const readLog = (file: string): FakeLogEntry[] => {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as FakeLogEntry);
  } catch {
    return [];
  }
};

describe('Orchestrator queue and cancellation (SQLite, fake CLI)', () => {
  let work: string;
  let logFile: string;
  let t: TestApp;
  /** A listening server's URL: concurrent supertest requests against one unlistened server reset. */
  let server: App;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'orch-queue-'));
    logFile = join(work, 'fake-claude.log');
    process.env.FAKE_CLAUDE_STATE_DIR = join(work, 'state');
    process.env.FAKE_CLAUDE_LOG = logFile;
    t = await createTestApp({
      env: {
        ORCHESTRATOR_ENABLED: 'true',
        QUEUE_POLL_MS: '100',
        MAX_CONCURRENT_TASKS: '2',
        KILL_GRACE_SECONDS: '1',
        CLAUDE_CLI_COMMAND: FAKE_CLAUDE,
        CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
      },
    });
    await t.app.listen(0, '127.0.0.1');
    server = (await t.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
  });

  afterAll(async () => {
    await t?.close();
    process.env = savedEnv;
    rmSync(work, { recursive: true, force: true });
  });

  const session = async (
    project: string,
    isolation: 'worktree' | 'none' = 'worktree',
  ): Promise<string> => {
    const res = await request(server)
      .post('/api/v1/sessions')
      .send({ project_path: project, isolation })
      .expect(201);
    return res.body.id as string;
  };
  const task = async (sessionId: string, description: string): Promise<string> => {
    const res = await request(server)
      .post('/api/v1/tasks')
      .send({ session_id: sessionId, description })
      .expect(201);
    return res.body.id as string;
  };

  it('runs a task to COMPLETED with its generated tests executed', async () => {
    const project = copyFixtureProject('node-basic', work, 'smoke');
    const id = await task(
      await session(project),
      `Add a square function. ${fakeScript('edit-files path=src/square.js content="module.exports = (x) => x * x;"', 'write-tests lang=node result=pass')}`,
    );
    const { final } = await waitForTerminal(server, id);
    const details = await getDetails(server, id);
    expect(final.status).toBe('COMPLETED');
    expect(statusPath(details.interactions)).toEqual([
      'PENDING',
      'RUNNING',
      'TESTING',
      'COMPLETED',
    ]);
    expect(details.test_cases.length).toBeGreaterThan(0);
  });

  it('never runs more than MAX_CONCURRENT_TASKS at once and serializes tasks of one project in place', async () => {
    const projects = ['c1', 'c2', 'c3'].map((n) => copyFixtureProject('node-basic', work, n));
    const sessions = await Promise.all(projects.map((p) => session(p, 'none')));
    const slow = `${fakeScript('slow-stream lines=8 delay=100', 'write-tests lang=node result=pass')}`;
    const ids: string[] = [];
    for (const s of sessions) ids.push(await task(s, `slow ${slow}`));
    ids.push(await task(sessions[0], `same project ${slow}`));
    const orchestrator = t.app.get(TaskOrchestratorService);
    let maxRunning = 0;
    let sameProjectOverlap = false;
    const sampler = setInterval(() => {
      maxRunning = Math.max(maxRunning, orchestrator.stats().running);
    }, 10);
    try {
      await eventually('every task COMPLETED', async () => {
        // One SELECT, so the statuses are a consistent snapshot (separate requests could see the
        // first task still live and the second already claimed a moment later).
        const rows = await t.dataSource.getRepository(Task).findBy({ id: In(ids) });
        const statuses = ids.map((id) => rows.find((r) => r.id === id)?.status);
        const live = (i: number): boolean =>
          [TaskStatus.Running, TaskStatus.Paused, TaskStatus.Testing].some(
            (s) => s === statuses[i],
          );
        if (live(0) && live(3)) sameProjectOverlap = true;
        return statuses.every((s) => s === TaskStatus.Completed);
      });
    } finally {
      clearInterval(sampler);
    }
    expect(maxRunning).toBe(2);
    const health = await request(server).get('/health').expect(200);
    expect(health.body.orchestrator).toEqual({
      enabled: true,
      owner: orchestrator.stats().owner,
      running: 0,
      peak: 2,
      limit: 2,
    });
    expect(sameProjectOverlap).toBe(false);
    const first = await getDetails(server, ids[0]);
    const second = await getDetails(server, ids[3]);
    expect(new Date(second.started_at!).getTime()).toBeGreaterThanOrEqual(
      new Date(first.completed_at!).getTime(),
    );
  });

  it('cancels a queued task: it never starts', async () => {
    const project = copyFixtureProject('node-basic', work, 'queued');
    const s = await session(project, 'none');
    const blocker = await task(s, `block ${fakeScript('slow-stream lines=20 delay=100')}`);
    const queued = await task(s, 'must never start');
    const res = await request(server).post(`/api/v1/tasks/${queued}/cancel`).expect(200);
    expect(res.body.status).toBe('CANCELLED');
    await request(server).post(`/api/v1/tasks/${queued}/cancel`).expect(200);
    await request(server).post(`/api/v1/tasks/${blocker}/cancel`).expect(200);
    await waitForTerminal(server, blocker);
    await new Promise((r) => setTimeout(r, 500));
    const details = await getDetails(server, queued);
    expect(details.status).toBe('CANCELLED');
    expect(details.started_at).toBeNull();
    expect(readLog(logFile).filter((e) => e.prompt.includes('must never start'))).toEqual([]);
  });

  it('cancels a running task: its hung CLI process group is ended and it ends CANCELLED', async () => {
    const project = copyFixtureProject('node-basic', work, 'running');
    const id = await task(await session(project), `hang ${fakeScript('hang')}`);
    let pgid = 0;
    await eventually('the fake CLI to start in the task workspace', async () => {
      const workspace = (await getDetails(server, id)).workspace_path;
      const entry = readLog(logFile).find((e) => e.cwd === workspace);
      pgid = entry?.pgid ?? 0;
      return pgid > 0;
    });
    await eventually(
      'the task to be RUNNING',
      async () => (await getDetails(server, id)).status === 'RUNNING',
    );
    const res = await request(server).post(`/api/v1/tasks/${id}/cancel`).expect(200);
    expect(res.body.cancel_requested).toBe(true);
    const { final } = await waitForTerminal(server, id);
    expect(final.status).toBe('CANCELLED');
    expect(final.status_reason).toBe('cancelled');
    expect(isProcessGroupAlive(pgid)).toBe(false);
    await request(server).post(`/api/v1/tasks/${id}/cancel`).expect(200);
  });

  it('an agent that never writes tests: nothing runs, nothing is counted, no_tests_written', async () => {
    const project = copyFixtureProject('node-basic', work, 'no-tests');
    const res = await request(server)
      .post('/api/v1/tasks')
      .send({
        session_id: await session(project),
        description: 'Never writes tests.',
        max_iterations: 5,
      })
      .expect(201);
    const id = res.body.id as string;
    const { final } = await waitForTerminal(server, id);
    expect(final.status).toBe('FAILED');
    expect(final.status_reason).toBe('no_tests_written');
    expect(final.iteration).toBe(3);
    expect(final.tests).toEqual({ passed: 0, failed: 0, total: 0 });
    const details = await getDetails(server, id);
    expect(details.interactions.filter((i) => i.kind === 'test')).toEqual([]);
    expect(details.test_cases).toEqual([]);
  });

  it('refuses to cancel a finished task', async () => {
    const project = copyFixtureProject('node-basic', work, 'finished');
    const id = await task(await session(project), 'Do it.');
    await waitForTerminal(server, id);
    const res = await request(server).post(`/api/v1/tasks/${id}/cancel`).expect(409);
    expect(res.body.code).toBe('task_not_cancellable');
  });
});
