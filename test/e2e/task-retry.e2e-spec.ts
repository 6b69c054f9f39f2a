import request from 'supertest';
import type { App } from 'supertest/types';
import { eventually } from 'test/e2e/support/eventually';
import {
  copyFixtureProject,
  FAKE_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeInvocations,
  fakeRuns,
  fakeScript,
  getStatus,
  TaskDetails,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { Task } from 'src/tasks';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';

/**
 * RETRY: a FAILED or CANCELLED task becomes a new task in the same session, linked both ways,
 * with its limits (or the body's), continuing the old agent conversation when asked.
 */

const work = fakeClaudeWorkdir('cta-retry-');

/**
 * The first run in the project hangs (cancelled there), the next ones finish, whatever the
 * conversation. The tasks run in place: an agent conversation belongs to its directory, so only a
 * task in the same directory can continue it.
 */
const HANGS_THEN_WORKS = `Add a helper. ${fakeRuns(
  'hang signals=honor',
  'success',
  'write-tests lang=node result=pass name=retried',
)}`;

describe('task retry', () => {
  let t: TestApp;
  let server: App;
  let projects = 0;

  /** A task in a new project that hangs in its first turn, cancelled there; returns its id. */
  const cancelledTask = async (
    body: Record<string, unknown> = {},
    isolation: 'none' | 'worktree' = 'none',
  ): Promise<string> => {
    projects += 1;
    const project = copyFixtureProject('node-basic', work.root(), `project-${projects}`);
    const session = await request(server)
      .post('/api/v1/sessions')
      .send({ project_path: project, isolation })
      .expect(201);
    const task = await request(server)
      .post('/api/v1/tasks')
      .send({ session_id: session.body.id, description: HANGS_THEN_WORKS, ...body })
      .expect(201);
    const id = task.body.id as string;
    await eventually('the agent to run', async () => {
      const details = await request(server).get(`/api/v1/tasks/${id}`).expect(200);
      return details.body.claude_session_id !== null;
    });
    await request(server).post(`/api/v1/tasks/${id}/cancel`).expect(200);
    const result = await waitForTerminal(server, id);
    expect(result.final.status).toBe('CANCELLED');
    return id;
  };

  beforeAll(async () => {
    t = await createTestApp({
      env: { ...FAKE_RUNNER_ENV, MAX_CONCURRENT_TASKS: '4' },
    });
    await t.app.listen(0, '127.0.0.1');
    server = t.app.getHttpServer() as App;
  });

  afterAll(async () => {
    await t?.close();
  });

  it('makes a new task linked both ways that continues the old conversation', async () => {
    const oldId = await cancelledTask({ max_iterations: 9, max_pauses: 2 });
    const old = await request(server).get(`/api/v1/tasks/${oldId}`).expect(200);
    const res = await request(server)
      .post(`/api/v1/tasks/${oldId}/retry`)
      .send({ continue_conversation: true, max_pauses: 3 })
      .expect(201);
    expect(res.body).toMatchObject({
      session_id: old.body.session_id,
      description: HANGS_THEN_WORKS,
      status: 'PENDING',
      retry_of: oldId,
      retried_by: null,
      max_iterations: 9,
      max_pauses: 3,
      claude_session_id: old.body.claude_session_id,
    });
    const newId = res.body.id as string;
    const after = await request(server).get(`/api/v1/tasks/${oldId}`).expect(200);
    expect(after.body).toMatchObject({ retried_by: newId, status: 'CANCELLED' });
    const records = (after.body as TaskDetails).interactions;
    expect(records[records.length - 1]).toMatchObject({
      kind: 'system',
      data: { event: 'retried', retried_by: newId, continue_conversation: true },
    });
    const result = await waitForTerminal(server, newId);
    expect(result.final.status).toBe('COMPLETED');
    const runs = fakeInvocations(work.logFile(), old.body.project_path as string);
    const first = runs.find((r) => r.sessionId === old.body.claude_session_id && r.resume);
    expect(runs.indexOf(first!)).toBe(1);
  });

  it("keeps the task's test policy: require_failing_tests and allow_test_changes", async () => {
    const oldId = await cancelledTask({ require_failing_tests: true, allow_test_changes: true });
    const res = await request(server).post(`/api/v1/tasks/${oldId}/retry`).send({}).expect(201);
    expect(res.body).toMatchObject({ require_failing_tests: true, allow_test_changes: true });
    await waitForTerminal(server, res.body.id as string);
  });

  it('refuses to continue the conversation of a task in a workspace (the retry works in a new one), and retries it without', async () => {
    const oldId = await cancelledTask({}, 'worktree');
    const refused = await request(server)
      .post(`/api/v1/tasks/${oldId}/retry`)
      .send({ continue_conversation: true })
      .expect(400);
    expect(refused.body).toMatchObject({
      code: 'validation_failed',
      details: { errors: [{ field: 'continue_conversation' }] },
    });
    const after = await request(server).get(`/api/v1/tasks/${oldId}`).expect(200);
    expect(after.body.retried_by).toBeNull();
    const res = await request(server).post(`/api/v1/tasks/${oldId}/retry`).send({}).expect(201);
    expect(res.body.claude_session_id).toBeNull();
    // Its new workspace is the fake agent's first run there again, which hangs: cancelled.
    await request(server)
      .post(`/api/v1/tasks/${res.body.id as string}/cancel`)
      .expect(200);
    await waitForTerminal(server, res.body.id as string);
  });

  it('starts a new conversation unless asked to continue; a task is retried once', async () => {
    const oldId = await cancelledTask();
    const old = await request(server).get(`/api/v1/tasks/${oldId}`).expect(200);
    const res = await request(server).post(`/api/v1/tasks/${oldId}/retry`).send({}).expect(201);
    expect(res.body.claude_session_id).toBeNull();
    const again = await request(server).post(`/api/v1/tasks/${oldId}/retry`).send({}).expect(409);
    expect(again.body).toMatchObject({
      code: 'task_not_retryable',
      details: { retried_by: res.body.id },
    });
    await waitForTerminal(server, res.body.id as string);
    const runs = fakeInvocations(work.logFile(), old.body.project_path as string);
    expect(runs.filter((r) => r.sessionId === old.body.claude_session_id && r.resume)).toEqual([]);
  });

  it('a deleted retry lets go of both links: its original can be retried again, its own retry names it no more', async () => {
    // In workspaces every run is the fake agent's first in its directory, which hangs: each
    // retry is cancelled, so each can be retried.
    const retryCancelled = async (id: string): Promise<string> => {
      const res = await request(server).post(`/api/v1/tasks/${id}/retry`).send({}).expect(201);
      const retry = res.body.id as string;
      await request(server).post(`/api/v1/tasks/${retry}/cancel`).expect(200);
      expect((await waitForTerminal(server, retry)).final.status).toBe('CANCELLED');
      return retry;
    };
    const first = await cancelledTask({}, 'worktree');
    const second = await retryCancelled(first);
    const third = await retryCancelled(second);

    await request(server).delete(`/api/v1/tasks/${second}`).expect(204);
    const original = await request(server).get(`/api/v1/tasks/${first}`).expect(200);
    expect(original.body.retried_by).toBeNull();
    const orphan = await request(server).get(`/api/v1/tasks/${third}`).expect(200);
    expect(orphan.body.retry_of).toBeNull();
    const again = await request(server).get(`/api/v1/tasks/${await retryCancelled(first)}`);
    expect(again.body.retry_of).toBe(first);
  });

  it('retries a task whose retry is gone though the link to it was left (a delete cut off before it let go)', async () => {
    const first = await cancelledTask({}, 'worktree');
    const missing = '00000000-0000-4000-8000-00000000dead';
    await t.dataSource.getRepository(Task).update({ id: first }, { retriedBy: missing });
    const res = await request(server).post(`/api/v1/tasks/${first}/retry`).send({}).expect(201);
    expect(res.body.retry_of).toBe(first);
    const original = await request(server).get(`/api/v1/tasks/${first}`).expect(200);
    expect(original.body.retried_by).toBe(res.body.id);
    await request(server)
      .post(`/api/v1/tasks/${res.body.id as string}/cancel`)
      .expect(200);
    await waitForTerminal(server, res.body.id as string);
  });

  it('refuses a task that is not FAILED or CANCELLED with 409, an unknown one with 404', async () => {
    projects += 1;
    const project = copyFixtureProject('node-basic', work.root(), `project-${projects}`);
    const session = await request(server)
      .post('/api/v1/sessions')
      .send({ project_path: project })
      .expect(201);
    const task = await request(server)
      .post('/api/v1/tasks')
      .send({
        session_id: session.body.id,
        description: `Quick. ${fakeScript('success', 'write-tests lang=node')}`,
      })
      .expect(201);
    const id = task.body.id as string;
    await waitForTerminal(server, id);
    expect((await getStatus(server, id)).status).toBe('COMPLETED');
    const res = await request(server).post(`/api/v1/tasks/${id}/retry`).send({}).expect(409);
    expect(res.body).toMatchObject({
      code: 'task_not_retryable',
      details: { status: 'COMPLETED' },
    });
    await request(server)
      .post('/api/v1/tasks/00000000-0000-4000-8000-000000000001/retry')
      .send({})
      .expect(404);
  });
});
