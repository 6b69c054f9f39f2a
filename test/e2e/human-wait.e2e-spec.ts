import request from 'supertest';
import type { App } from 'supertest/types';
import { AtomicWriter } from 'src/database/atomic-writer';
import { LeaseSweeperService } from 'src/orchestrator/lease-sweeper.service';
import { DeadlockingWriter } from 'test/e2e/support/deadlocking-writer';
import { eventually } from 'test/e2e/support/eventually';
import { baseUrl, SseClient } from 'test/e2e/support/sse-client';
import {
  copyFixtureProject,
  FAKE_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeInvocations,
  fakeScript,
  getDetails,
  getStatus,
  TaskStatusSummary,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { describeMysql, TestDatabaseKind } from 'test/e2e/support/test-database';

/**
 * WAITING FOR A PERSON (`auto_respond: false`), through real fake-CLI turns: a task whose agent
 * asks waits PAUSED `waiting_for_human` with the question in its status, holding no concurrency
 * slot (with one slot, another task runs to its end meanwhile) but keeping its directory; a message resumes it with the
 * message as the next prompt; `human_timeout_seconds` lets the simulated human answer instead;
 * a person's answers do not count towards `max_pauses`, the simulated human's reply on a timeout
 * does; a waiting task can be cancelled.
 */

const work = fakeClaudeWorkdir('cta-human-wait-');

const QUESTION = 'should the new function accept negative numbers?';

interface StatusRecord {
  kind: string;
  content: string;
  data: { from?: string; to?: string; reason?: string } | null;
}

function humanWaitTests(database: TestDatabaseKind): void {
  let t: TestApp;
  let server: App;

  beforeAll(async () => {
    t = await createTestApp({
      database,
      env: { ...FAKE_RUNNER_ENV, MAX_CONCURRENT_TASKS: '1' },
      override: (builder) => builder.overrideProvider(AtomicWriter).useClass(DeadlockingWriter),
    });
    await t.app.listen(0, '127.0.0.1');
    server = t.app.getHttpServer() as App;
  });

  afterAll(async () => {
    await t?.close();
  });

  async function session(name: string, body: Record<string, unknown> = {}): Promise<string> {
    const project = copyFixtureProject('node-basic', work.root(), `${database}-${name}`);
    const res = await request(server)
      .post('/api/v1/sessions')
      .send({ project_path: project, isolation: 'none', ...body })
      .expect(201);
    return res.body.id as string;
  }

  async function task(sessionId: string, body: Record<string, unknown> = {}): Promise<string> {
    const description = `Add a function. ${fakeScript(
      'ask-question',
      'success',
      'write-tests lang=node result=pass name=answered',
    )}`;
    const res = await request(server)
      .post('/api/v1/tasks')
      .send({ session_id: sessionId, description, ...body })
      .expect(201);
    return res.body.id as string;
  }

  const status = (id: string): Promise<TaskStatusSummary> => getStatus(server, id);

  async function waiting(id: string): Promise<TaskStatusSummary> {
    let last = {} as TaskStatusSummary;
    await eventually(`task ${id} to wait for a person`, async () => {
      last = await status(id);
      return last.status_reason === 'waiting_for_human';
    });
    return last;
  }

  async function statusPath(id: string): Promise<string[]> {
    const details = await getDetails(server, id);
    return (details.interactions as StatusRecord[])
      .filter((i) => i.kind === 'status')
      .map((i) => `${i.data?.to}(${i.data?.reason})`);
  }

  it('waits with the question and no slot; a message resumes it with the message as the prompt', async () => {
    const sessionId = await session('asks', { auto_respond: false });
    const id = await task(sessionId);
    const paused = await waiting(id);
    expect(paused).toMatchObject({ status: 'PAUSED', phase: 'waiting_for_human' });
    expect(paused.waiting_for_human).toMatchObject({ reason: 'answer_question', until: null });
    expect(paused.waiting_for_human?.question).toContain(QUESTION);
    const full = (await request(server).get(`/api/v1/tasks/${id}`).expect(200)).body;
    expect(full).toMatchObject({ auto_respond: false, human_timeout_seconds: null });
    // Ownerless on purpose: the crash-recovery sweep leaves it waiting.
    expect(await t.app.get(LeaseSweeperService).sweep(() => false)).toBe(0);
    expect(await status(id)).toMatchObject({
      status: 'PAUSED',
      status_reason: 'waiting_for_human',
    });

    // One slot in all: a task of another project runs to its end while this one waits; one of
    // the same directory, though older, is not started (the waiting task keeps its directory).
    const sameDirectory = await task(sessionId, { auto_respond: true });
    const other = await session('meanwhile');
    const otherId = await task(other, { auto_respond: true });
    expect((await waitForTerminal(server, otherId)).final.status).toBe('COMPLETED');
    expect(await status(id)).toMatchObject({
      status: 'PAUSED',
      status_reason: 'waiting_for_human',
    });
    expect(await status(sameDirectory)).toMatchObject({ status: 'PENDING', iteration: 0 });

    await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'Yes: negatives too, and zero.' })
      .expect(201);
    const result = await waitForTerminal(server, id);
    expect(result.final.status).toBe('COMPLETED');
    expect(result.final).toMatchObject({ waiting_for_human: null });
    expect((await waitForTerminal(server, sameDirectory)).final.status).toBe('COMPLETED');

    const project = (await request(server).get(`/api/v1/tasks/${id}`).expect(200)).body
      .project_path as string;
    const runs = fakeInvocations(work.logFile(), project);
    expect(runs[1].prompt).toContain('Yes: negatives too, and zero.');
    expect(runs[1].prompt).not.toContain('You asked');
    expect(runs[1].resume).toBe(true);
    const path = await statusPath(id);
    expect(path.slice(0, 4)).toEqual([
      'RUNNING(claimed)',
      'PAUSED(waiting_for_human)',
      'PENDING(human_replied)',
      'RUNNING(resumed)',
    ]);
  });

  it('human_timeout_seconds: nobody answers, so the simulated human does and the task goes on', async () => {
    const sessionId = await session('timeout');
    const id = await task(sessionId, { auto_respond: false, human_timeout_seconds: 1 });
    const paused = await waiting(id);
    const wait = paused.waiting_for_human!;
    expect(Date.parse(wait.until!) - Date.parse(wait.since)).toBe(1000);
    const result = await waitForTerminal(server, id);
    expect(result.final.status).toBe('COMPLETED');
    const path = await statusPath(id);
    expect(path).toContain('PENDING(human_timeout)');
    const details = await getDetails(server, id);
    const reply = details.interactions.filter((i) => i.kind === 'simulated_human')[0];
    expect(reply.content).toContain(QUESTION);
  });

  it("a person's answers are not held to max_pauses: with none allowed, a question still waits and the answer goes on", async () => {
    const sessionId = await session('no-pauses', { auto_respond: false });
    const id = await task(sessionId, { max_pauses: 0 });
    let seen = {} as TaskStatusSummary;
    await eventually(`task ${id} to wait for a person or end`, async () => {
      seen = await status(id);
      return seen.status_reason === 'waiting_for_human' || seen.status === 'FAILED';
    });
    expect(seen).toMatchObject({ status: 'PAUSED', status_reason: 'waiting_for_human' });
    expect(seen.pause_count).toBe(0);
    await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'Yes: negatives too.' })
      .expect(201);
    const result = await waitForTerminal(server, id);
    expect(result.final).toMatchObject({ status: 'COMPLETED', pause_count: 0 });
  });

  it("nobody answers in time and max_pauses allows no intervention: the task fails max_pauses_reached, not the simulated human's reply", async () => {
    const sessionId = await session('no-pauses-timeout');
    const id = await task(sessionId, {
      auto_respond: false,
      human_timeout_seconds: 1,
      max_pauses: 0,
    });
    const result = await waitForTerminal(server, id);
    expect(result.final).toMatchObject({
      status: 'FAILED',
      status_reason: 'max_pauses_reached',
      pause_count: 0,
    });
    expect((await statusPath(id)).slice(0, 4)).toEqual([
      'RUNNING(claimed)',
      'PAUSED(waiting_for_human)',
      'PENDING(human_timeout)',
      'RUNNING(resumed)',
    ]);
    const project = (await request(server).get(`/api/v1/tasks/${id}`).expect(200)).body
      .project_path as string;
    expect(fakeInvocations(work.logFile(), project)).toHaveLength(1);
  });

  it('a waiting task can be cancelled; a message to it is then 409', async () => {
    const sessionId = await session('cancelled');
    const id = await task(sessionId, { auto_respond: false });
    await waiting(id);
    const cancelled = await request(server).post(`/api/v1/tasks/${id}/cancel`).expect(200);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', status_reason: 'cancelled' });
    const late = await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'Too late.' })
      .expect(409);
    // Cancelled, not "being cancelled": the cancel is over.
    expect(late.body.message).toContain('is CANCELLED; a finished task takes no messages');
    expect((await status(id)).waiting_for_human).toBeNull();
  });

  it('a cancel that lands just before the run lets go to wait ends the task: it is not left waiting, cancelling', async () => {
    const sessionId = await session('cancel-as-it-waits', { auto_respond: false });
    let id = '';
    const writer = t.app.get<AtomicWriter, DeadlockingWriter>(AtomicWriter);
    // The run's write that lets go of the task to wait is the first to name `waiting_for_human`;
    // the cancel, made just before it, finds the task still running.
    writer.before = {
      marker: 'waiting_for_human',
      run: () => request(server).post(`/api/v1/tasks/${id}/cancel`).expect(200),
    };
    id = await task(sessionId);
    const result = await waitForTerminal(server, id, { stallMs: 20_000 });
    expect(writer.before).toBeNull();
    expect(result.final).toMatchObject({ status: 'CANCELLED', waiting_for_human: null });
  });

  it('a message whose write fails leaves nothing behind: sent again, the wait ends and the agent gets it once', async () => {
    const sessionId = await session('answer-fails', { auto_respond: false });
    const id = await task(sessionId);
    await waiting(id);
    const writer = t.app.get<AtomicWriter, DeadlockingWriter>(AtomicWriter);
    // The write that ends the wait fails (as if the server died there).
    writer.before = {
      marker: 'human_replied',
      run: () => Promise.reject(new Error('the server died here')),
    };
    await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'Yes: negatives too.' })
      .expect(500);
    expect(writer.before).toBeNull();
    const humans = async (): Promise<number> =>
      (await getDetails(server, id)).interactions.filter((i) => i.kind === 'human').length;
    expect(await humans()).toBe(0);
    expect(await status(id)).toMatchObject({ status_reason: 'waiting_for_human' });
    await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'Yes: negatives too.' })
      .expect(201);
    expect((await waitForTerminal(server, id)).final.status).toBe('COMPLETED');
    expect(await humans()).toBe(1);
  });

  it('a waiting task cancelled in its workspace keeps its work, said before its end: its stream shows both', async () => {
    const sessionId = await session('cancelled-work', {
      isolation: 'worktree',
      auto_respond: false,
    });
    const description = `Add a file. ${fakeScript(
      `edit-files path=a.txt content=hello text="I created a.txt. ${QUESTION}"`,
    )}`;
    const id = (
      await request(server)
        .post('/api/v1/tasks')
        .send({ session_id: sessionId, description })
        .expect(201)
    ).body.id as string;
    await waiting(id);
    const client = await SseClient.connect(`${baseUrl(server)}/api/v1/tasks/${id}/events`);
    await request(server).post(`/api/v1/tasks/${id}/cancel`).expect(200);
    await client.closed;
    const messages = client.messages<StatusRecord & { data: { type?: string } | null }>();
    expect(messages.slice(-2).map((m) => [m.kind, m.data?.type ?? m.data?.to])).toEqual([
      ['system', 'work_kept'],
      ['status', 'CANCELLED'],
    ]);
    expect(client.end()).toMatchObject({ status: 'CANCELLED' });
    const details = await getDetails(server, id);
    expect(details.interactions.at(-1)).toMatchObject({ kind: 'status' });
    expect(details.head_commit).toBe((messages.at(-2)!.data as { commit?: string } | null)?.commit);
  });

  it('rejects a human_timeout_seconds out of range', async () => {
    const sessionId = await session('invalid');
    const res = await request(server)
      .post('/api/v1/tasks')
      .send({ session_id: sessionId, description: 'x', human_timeout_seconds: 0 })
      .expect(400);
    expect(JSON.stringify(res.body)).toContain('human_timeout_seconds');
  });
}

describe('waiting for a person (SQLite)', () => humanWaitTests('sqlite'));

describeMysql('waiting for a person (MariaDB)', () => humanWaitTests('mysql'));
