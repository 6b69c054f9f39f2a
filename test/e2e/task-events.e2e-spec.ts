import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import request from 'supertest';
import type { App } from 'supertest/types';
import { ApiKeysService } from 'src/auth/api-keys.service';
import { TaskEventStreams } from 'src/events';
import { eventually } from 'test/e2e/support/eventually';
import { baseUrl, SseClient } from 'test/e2e/support/sse-client';
import {
  copyFixtureProject,
  createSessionTask,
  FAKE_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeScript,
  Interaction,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { createTestDatabase, describeMysql, TestDatabase } from 'test/e2e/support/test-database';

/**
 * LIVE TASK EVENTS over SSE, against the real AppModule with the orchestrator on and the fake CLI:
 * what a client following a task receives is exactly what is stored, once, in order, across
 * reconnects; the stream ends with the task; a client that leaves frees its stream.
 */

const work = fakeClaudeWorkdir('cta-events-');

const STREAMING_TASK = `Stream some lines. ${fakeScript(
  'slow-stream lines=25 delay=40',
  'write-tests lang=node result=pass name=streamed',
)}`;

/** Every stored interaction of a task, oldest first. */
async function storedInteractions(server: App, taskId: string): Promise<Interaction[]> {
  const all: Interaction[] = [];
  let after = 0;
  for (;;) {
    const res = await request(server)
      .get(`/api/v1/tasks/${taskId}/interactions?after_id=${after}&limit=500`)
      .expect(200);
    const page = res.body as { items: Interaction[]; next_after_id: number; has_more: boolean };
    all.push(...page.items);
    if (!page.has_more) return all;
    after = page.next_after_id;
  }
}

/** What an instance running tasks with the fake CLI needs (plus quick stream timers). */
const RUNNER_ENV = {
  ...FAKE_RUNNER_ENV,
  MAX_CONCURRENT_TASKS: '8',
  SSE_KEEPALIVE_SECONDS: '1',
  SSE_POLL_MS: '200',
};

describe('task event streams (SSE)', () => {
  let t: TestApp;
  let server: App;
  let url: string;
  let projects = 0;

  const newTask = async (description = STREAMING_TASK): Promise<string> => {
    projects += 1;
    const project = copyFixtureProject('node-basic', work.root(), `project-${projects}`);
    const session = await request(server)
      .post('/api/v1/sessions')
      .send({ project_path: project })
      .expect(201);
    const task = await request(server)
      .post('/api/v1/tasks')
      .send({ session_id: session.body.id, description })
      .expect(201);
    return task.body.id as string;
  };

  beforeAll(async () => {
    t = await createTestApp({ env: RUNNER_ENV });
    await t.app.listen(0, '127.0.0.1');
    server = t.app.getHttpServer() as App;
    url = baseUrl(server);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('sends every stored event of a running task once, in order, live, then the end', async () => {
    const taskId = await newTask();
    const client = await SseClient.connect(`${url}/api/v1/tasks/${taskId}/events`);
    expect(client.status).toBe(200);
    expect(client.contentType).toMatch(/^text\/event-stream/);
    await eventually('an agent line to arrive while the task runs', async () => {
      const status = await request(server).get(`/api/v1/tasks/${taskId}/status`).expect(200);
      const live = client.messages<Interaction>().some((i) => i.kind === 'assistant');
      return live && status.body.status !== 'COMPLETED';
    });
    await client.closed;
    const stored = await storedInteractions(server, taskId);
    expect(client.messages<Interaction>()).toEqual(stored);
    expect(client.events.filter((e) => e.event === 'message').map((e) => Number(e.id))).toEqual(
      stored.map((i) => i.id),
    );
    expect(client.end()).toEqual({
      task_id: taskId,
      status: 'COMPLETED',
      status_reason: 'verified_without_failing_tests',
    });
    expect(client.raw.startsWith('retry: 1000\nid: 0\n\n')).toBe(true);
  });

  it('resumes after Last-Event-ID or after_id: the union is exactly the stored events', async () => {
    const taskId = await newTask();
    const first = await SseClient.connect(`${url}/api/v1/tasks/${taskId}/events`);
    await eventually('a few events', () => first.events.length >= 6);
    first.close();
    await first.closed;
    const lastId = first.lastEventId!;
    const second = await SseClient.connect(`${url}/api/v1/tasks/${taskId}/events`, {
      'Last-Event-ID': lastId,
    });
    await eventually('more events', () => second.events.length >= 6);
    second.close();
    const third = await SseClient.connect(
      `${url}/api/v1/tasks/${taskId}/events?after_id=${second.lastEventId}`,
    );
    await third.closed;
    await waitForTerminal(server, taskId);
    const received = [first, second, third].flatMap((c) => c.messages<Interaction>());
    const stored = await storedInteractions(server, taskId);
    expect(received.map((i) => i.id)).toEqual(stored.map((i) => i.id));
    expect(received).toEqual(stored);
    expect(third.end()).toMatchObject({ status: 'COMPLETED' });
  });

  it('replays a finished task and ends at once; the header wins over after_id', async () => {
    const taskId = await newTask(`Quick. ${fakeScript('success', 'write-tests lang=node')}`);
    await waitForTerminal(server, taskId);
    const stored = await storedInteractions(server, taskId);
    const all = await SseClient.connect(`${url}/api/v1/tasks/${taskId}/events`);
    await all.closed;
    expect(all.messages()).toEqual(stored);
    const tail = await SseClient.connect(`${url}/api/v1/tasks/${taskId}/events?after_id=0`, {
      'Last-Event-ID': String(stored[stored.length - 3].id),
    });
    await tail.closed;
    expect(tail.messages()).toEqual(stored.slice(-2));
    expect(tail.end()).toMatchObject({ status: 'COMPLETED' });
  });

  it('streams every task on /events, with task ids, filtered by session', async () => {
    const everything = await SseClient.connect(`${url}/api/v1/events`);
    const taskId = await newTask(`Quick. ${fakeScript('success', 'write-tests lang=node')}`);
    const task = await request(server).get(`/api/v1/tasks/${taskId}`).expect(200);
    const otherSession = await SseClient.connect(
      `${url}/api/v1/events?session_id=${'00000000-0000-4000-8000-00000000000a'}`,
    );
    expect(otherSession.status).toBe(404);
    const ofSession = await SseClient.connect(
      `${url}/api/v1/events?session_id=${task.body.session_id}&after_id=0`,
    );
    await waitForTerminal(server, taskId);
    const stored = await storedInteractions(server, taskId);
    const lastStored = stored[stored.length - 1].id;
    await eventually('both streams to reach the last event', () =>
      [everything, ofSession].every((c) => Number(c.lastEventId) >= lastStored),
    );
    const expected = stored.map((i) => ({ task_id: taskId, ...i }));
    expect(ofSession.messages()).toEqual(expected);
    expect(everything.messages().filter((m) => m.task_id === taskId)).toEqual(expected);

    // The session's stream ends once the session is deleted; the stream of every task goes on.
    await request(server).delete(`/api/v1/sessions/${task.body.session_id}`).expect(204);
    await ofSession.closed;
    const last = ofSession.events[ofSession.events.length - 1];
    expect(last.event).toBe('closed');
    expect(JSON.parse(last.data)).toMatchObject({ code: 'session_deleted' });
    everything.close();
  });

  it('a stream of every task opened from now tells where it starts: a reconnect before any event misses none', async () => {
    const quick = `Quick. ${fakeScript('success', 'write-tests lang=node')}`;
    const first = await SseClient.connect(`${url}/api/v1/events`);
    await eventually('a keep-alive comment', () => first.comments > 0);
    first.close();
    await first.closed;
    // Stored while no stream was open: a reconnecting client must get them all the same.
    const meanwhile = await newTask(quick);
    await waitForTerminal(server, meanwhile);
    const cursor = first.lastEventId;
    const second = await SseClient.connect(
      `${url}/api/v1/events`,
      cursor === null ? {} : { 'Last-Event-ID': cursor },
    );
    const after = await newTask(quick);
    await eventually('an event of the task created after the reconnect', () =>
      second.messages().some((m) => m.task_id === after),
    );
    second.close();
    expect(second.messages().filter((m) => m.task_id === meanwhile)).toEqual(
      (await storedInteractions(server, meanwhile)).map((i) => ({ task_id: meanwhile, ...i })),
    );
    await waitForTerminal(server, after);
  });

  it('a cursor past every event (a database started again since) goes on from the newest event: what is stored next is sent', async () => {
    const ahead = String(Number.MAX_SAFE_INTEGER);
    const everything = await SseClient.connect(`${url}/api/v1/events`, { 'Last-Event-ID': ahead });
    expect(everything.status).toBe(200);
    const release = join(work.root(), 'cursor-ahead-released');
    // The agent streams until the test has seen the task's own stream send an event.
    const taskId = await newTask(
      `Stream until released. ${fakeScript(
        `slow-stream until=${release} delay=40`,
        'write-tests lang=node result=pass name=streamed',
      )}`,
    );
    await eventually('the first event of the task on the stream of every task', () =>
      everything.messages().some((m) => m.task_id === taskId),
    );
    const ofTask = await SseClient.connect(
      `${url}/api/v1/tasks/${taskId}/events?after_id=${ahead}`,
    );
    try {
      await eventually("an event on the task's stream", () => ofTask.messages().length > 0);
    } finally {
      writeFileSync(release, '');
    }
    await ofTask.closed;
    const stored = await storedInteractions(server, taskId);
    await eventually("the stream of every task to reach the task's last event", () =>
      everything.messages().some((m) => m.id === stored[stored.length - 1].id),
    );
    expect(everything.messages().filter((m) => m.task_id === taskId)).toEqual(
      stored.map((i) => ({ task_id: taskId, ...i })),
    );
    const sent = ofTask.messages<Interaction>();
    expect(sent.length).toBeGreaterThan(0);
    expect(sent).toEqual(stored.slice(stored.length - sent.length));
    expect(ofTask.end()).toMatchObject({ status: 'COMPLETED' });
    everything.close();
  });

  it('sends keep-alive comments and frees the stream when the client leaves', async () => {
    const streams = t.app.get(TaskEventStreams);
    const idle = await SseClient.connect(`${url}/api/v1/events`);
    await eventually('a keep-alive comment', () => idle.comments > 0);
    expect(streams.openStreams).toBeGreaterThan(0);
    idle.close();
    await eventually('the stream to be released', () => streams.openStreams === 0);
  });

  it("answers a HEAD with the stream's headers and ends the response, holding no stream open", async () => {
    const streams = t.app.get(TaskEventStreams);
    const taskId = await newTask();
    for (const path of [`/api/v1/tasks/${taskId}/events`, '/api/v1/events']) {
      const res = await request(server).head(path).expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    }
    expect(streams.openStreams).toBe(0);
    await waitForTerminal(server, taskId);
  });

  it('answers 404 for an unknown task and 400 for a bad Last-Event-ID, before streaming', async () => {
    await request(server)
      .get('/api/v1/tasks/00000000-0000-4000-8000-000000000001/events')
      .expect(404)
      .expect((res) => expect(res.body.code).toBe('task_not_found'));
    const taskId = await newTask(`Quick. ${fakeScript('success', 'write-tests lang=node')}`);
    await request(server)
      .get(`/api/v1/tasks/${taskId}/events`)
      .set('Last-Event-ID', 'abc')
      .expect(400)
      .expect((res) => expect(res.body.code).toBe('validation_failed'));
    await waitForTerminal(server, taskId);
  });
});

describe('event streams held open at once', () => {
  it('refuses a stream past MAX_EVENT_STREAMS_PER_KEY (429 too_many_streams) before sending anything, and opens one again once a stream closed', async () => {
    const t = await createTestApp({ env: { MAX_EVENT_STREAMS_PER_KEY: '2' } });
    try {
      await t.app.listen(0, '127.0.0.1');
      const server = t.app.getHttpServer() as App;
      const url = baseUrl(server);
      const streams = t.app.get(TaskEventStreams);
      const first = await SseClient.connect(`${url}/api/v1/events`);
      const second = await SseClient.connect(`${url}/api/v1/events`);
      const refused = await request(server).get('/api/v1/events').expect(429);
      expect(refused.body).toMatchObject({ code: 'too_many_streams', details: { limit: 2 } });
      expect(refused.headers['retry-after']).toBeUndefined();
      expect(streams.openStreams).toBe(2);
      first.close();
      await eventually('the stream to be released', () => streams.openStreams === 1);
      const third = await SseClient.connect(`${url}/api/v1/events`);
      expect(third.status).toBe(200);
      second.close();
      third.close();
    } finally {
      await t.close();
    }
  });
});

describe('event streams opened without a key', () => {
  it('close with key_required once the first key is created; an explicit AUTH_REQUIRED=false keeps them', async () => {
    const [t, open] = await Promise.all([
      createTestApp(),
      createTestApp({ env: { AUTH_REQUIRED: 'false' } }),
    ]);
    try {
      const [url, openUrl] = await Promise.all(
        [t, open].map(async (app) => {
          await app.app.listen(0, '127.0.0.1');
          return baseUrl(app.app.getHttpServer() as App);
        }),
      );
      const project = copyFixtureProject('node-basic', work.root(), 'key-required');
      const taskId = await createSessionTask(
        t.app.getHttpServer() as App,
        { project_path: project },
        'Stays queued: the orchestrator is off',
      );
      const everything = await SseClient.connect(`${url}/api/v1/events`);
      const ofTask = await SseClient.connect(`${url}/api/v1/tasks/${taskId}/events`);
      const keysOff = await SseClient.connect(`${openUrl}/api/v1/events`);
      expect([everything.status, ofTask.status, keysOff.status]).toEqual([200, 200, 200]);
      for (const app of [t, open]) {
        await app.app.get(ApiKeysService).create({
          name: 'first',
          scopes: ['tasks:write'],
          expiresAt: null,
          createdByKeyId: null,
        });
      }
      await Promise.all([everything.closed, ofTask.closed]);
      for (const client of [everything, ofTask]) {
        const last = client.events[client.events.length - 1];
        expect(last.event).toBe('closed');
        expect(JSON.parse(last.data)).toEqual({
          code: 'key_required',
          message: 'API keys are now required: the stream, opened without one, is closed',
        });
      }
      await request(t.app.getHttpServer() as App)
        .get('/api/v1/events')
        .expect(401);
      // Keys are not required where AUTH_REQUIRED=false says so: its stream stays, and gets on.
      await request(open.app.getHttpServer() as App)
        .post('/api/v1/sessions')
        .send({ project_path: project })
        .expect(201);
      expect(keysOff.events.filter((e) => e.event === 'closed')).toEqual([]);
      keysOff.close();
    } finally {
      await Promise.all([t.close(), open.close()]);
    }
  });
});

describeMysql('task event streams across two instances on one MariaDB database', () => {
  let db: TestDatabase;
  let runner: TestApp;
  let watcher: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase('mysql');
    runner = await createTestApp({ database: db, env: RUNNER_ENV });
    watcher = await createTestApp({
      database: db,
      env: { ORCHESTRATOR_ENABLED: 'false', SSE_POLL_MS: '100' },
    });
    await runner.app.listen(0, '127.0.0.1');
    await watcher.app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await watcher?.close();
    await runner?.close();
    await db?.drop();
  });

  it('streams a task live from an instance that does not run it', async () => {
    const runs = runner.app.getHttpServer() as App;
    const watches = watcher.app.getHttpServer() as App;
    const project = copyFixtureProject('node-basic', work.root(), 'two-instances');
    const session = await request(runs)
      .post('/api/v1/sessions')
      .send({ project_path: project })
      .expect(201);
    const task = await request(runs)
      .post('/api/v1/tasks')
      .send({ session_id: session.body.id, description: STREAMING_TASK })
      .expect(201);
    const taskId = task.body.id as string;
    const client = await SseClient.connect(`${baseUrl(watches)}/api/v1/tasks/${taskId}/events`);
    await eventually('an agent line on the other instance while the task runs', async () => {
      const status = await request(runs).get(`/api/v1/tasks/${taskId}/status`).expect(200);
      const live = client.messages<Interaction>().some((i) => i.kind === 'assistant');
      return live && status.body.status !== 'COMPLETED';
    });
    await client.closed;
    const stored = await storedInteractions(watches, taskId);
    expect(client.messages<Interaction>()).toEqual(stored);
    expect(client.end()).toMatchObject({ status: 'COMPLETED' });
  });

  /**
   * On the all-tasks stream of the instance that runs nothing: a transaction of another writer
   * takes an event id (`first`) and ends (`end`) only after a later write committed ("written
   * second") and the stream could read it. Returns the stream's events of the two.
   *
   * The later write is a plain INSERT of a second connection, not a request to the server: a
   * server's conditional write (a message's "room for a message" count) reads the history's
   * (task_id, id) index with next-key locks, and where the open transaction's row is the next
   * entry of that index (its task's id sorts right after the other's) it waits for that
   * transaction, which here waits for the request: a deadlock only this test could make, ended by
   * the query timeout (a 503) or, after a retry, with a write whose time is seconds old.
   */
  async function idTakenBeforeALaterCommit(
    end: 'commit' | 'rollback',
  ): Promise<{ ours: () => Interaction[]; close: () => void }> {
    const watches = watcher.app.getHttpServer() as App;
    const project = copyFixtureProject('node-basic', work.root(), `commit-order-${end}`);
    const session = await request(watches)
      .post('/api/v1/sessions')
      .send({ project_path: project })
      .expect(201);
    const queued = async () =>
      (
        await request(watches)
          .post('/api/v1/tasks')
          .send({ session_id: session.body.id, description: 'Wait in the queue.' })
          .expect(201)
      ).body.id as string;
    // Two tasks: a write to one task's history locks that task's row.
    const [one, other] = [await queued(), await queued()];
    const client = await SseClient.connect(`${baseUrl(watches)}/api/v1/events`);
    const slow = await createConnection(db.url);
    try {
      await slow.beginTransaction();
      await slow.query(
        'INSERT INTO claude_interactions (task_id, kind, iteration, content, created_at) VALUES (?, ?, 0, ?, UTC_TIMESTAMP(3))',
        [one, 'system', 'first'],
      );
      const later = await createConnection(db.url);
      try {
        await later.query(
          'INSERT INTO claude_interactions (task_id, kind, iteration, content, created_at) VALUES (?, ?, 0, ?, UTC_TIMESTAMP(3))',
          [other, 'system', 'written second'],
        );
      } finally {
        await later.end();
      }
      // Time for the stream (polling every 100 ms) to read the later event and hold it back.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await (end === 'commit' ? slow.commit() : slow.rollback());
    } finally {
      await slow.end();
    }
    // (The other instance runs the two tasks meanwhile: their events are on the stream too.)
    return {
      ours: () =>
        client
          .messages<Interaction>()
          .filter((e) => ['first', 'written second'].includes(e.content)),
      close: () => client.close(),
    };
  }

  it('the all-tasks stream waits for an event whose write commits after a later one, and sends both in order', async () => {
    const { ours, close } = await idTakenBeforeALaterCommit('commit');
    await eventually('both events on the stream', () => ours().length >= 2);
    expect(ours().map((e) => e.content)).toEqual(['first', 'written second']);
    expect(ours()[0].id).toBeLessThan(ours()[1].id);
    close();
  });

  it('the all-tasks stream goes on past an id whose write was rolled back', async () => {
    const { ours, close } = await idTakenBeforeALaterCommit('rollback');
    await eventually('the later event on the stream', () => ours().length >= 1);
    expect(ours().map((e) => e.content)).toEqual(['written second']);
    close();
  });

  it('a cursor past every event goes on from the newest on MariaDB too: a message stored next is sent on both streams', async () => {
    const watches = watcher.app.getHttpServer() as App;
    const project = copyFixtureProject('node-basic', work.root(), 'cursor-ahead');
    // The other instance runs it: an agent that waits until the task is cancelled below.
    const taskId = await createSessionTask(
      watches,
      { project_path: project },
      `Wait. ${fakeScript(`hang until=${join(work.root(), 'never-released')}`)}`,
    );
    const ahead = String(Number.MAX_SAFE_INTEGER);
    const everything = await SseClient.connect(`${baseUrl(watches)}/api/v1/events`, {
      'Last-Event-ID': ahead,
    });
    const ofTask = await SseClient.connect(
      `${baseUrl(watches)}/api/v1/tasks/${taskId}/events?after_id=${ahead}`,
    );
    expect([everything.status, ofTask.status]).toEqual([200, 200]);
    await request(watches)
      .post(`/api/v1/tasks/${taskId}/messages`)
      .send({ content: 'stored after the streams opened' })
      .expect(201);
    const sent = (client: SseClient) =>
      client.messages<Interaction>().filter((e) => e.content === 'stored after the streams opened');
    await eventually('the message on both streams', () =>
      [everything, ofTask].every((client) => sent(client).length === 1),
    );
    everything.close();
    await request(watches).post(`/api/v1/tasks/${taskId}/cancel`).expect(200);
    await ofTask.closed;
    expect(ofTask.end()).toMatchObject({ status: 'CANCELLED' });
  });
});
