import { existsSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { ApiKey } from 'src/auth/api-key.entity';
import { ApiKeysService } from 'src/auth/api-keys.service';
import { eventually } from 'test/e2e/support/eventually';
import {
  copyFixtureProject,
  FAKE_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeInvocations,
  fakeScript,
  shellCommands,
  statusChanges,
  TaskDetails,
} from 'test/e2e/support/task-polling';
import { storeSession } from 'test/e2e/support/stored-session';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';

/**
 * A REVOKED OR EXPIRED KEY RUNS NOTHING MORE. With keys required and the orchestrator running the
 * fake CLI as real processes: revoking a key (`DELETE /api/v1/api-keys/{id}`) ends its queued
 * tasks before the 204 and stops its running one (its agent's process group ended); a key revoked
 * past this server (as by `npm run api-key -- revoke`, or another instance) or expired stops its
 * task before the next agent turn, and a task of such a key is not started when claimed; a task no
 * key owns runs on.
 */

const workdir = fakeClaudeWorkdir('cta-owner-key-e2e-');

let t: TestApp;
let server: App;
let admin: string;

/** A request carrying `key`. */
const as = (key: string) => ({
  get: (url: string) => request(server).get(url).set('Authorization', `Bearer ${key}`),
  post: (url: string) => request(server).post(url).set('Authorization', `Bearer ${key}`),
  delete: (url: string) => request(server).delete(url).set('Authorization', `Bearer ${key}`),
});

async function createKey(name: string, scopes: string[]): Promise<{ id: string; key: string }> {
  const res = await as(admin).post('/api/v1/api-keys').send({ name, scopes }).expect(201);
  return res.body as { id: string; key: string };
}

/** A project of its own (so the fake CLI's runs there are its tasks'), as a session of `key`. */
async function sessionOf(key: string, name: string): Promise<{ id: string; project: string }> {
  const project = copyFixtureProject('node-basic', workdir.root(), name);
  const res = await as(key)
    .post('/api/v1/sessions')
    .send({ project_path: project, isolation: 'none' })
    .expect(201);
  return { id: res.body.id as string, project };
}

async function createTask(key: string, sessionId: string, description: string): Promise<string> {
  const res = await as(key)
    .post('/api/v1/tasks')
    .send({ session_id: sessionId, description })
    .expect(201);
  return res.body.id as string;
}

async function details(id: string): Promise<TaskDetails> {
  return (await as(admin).get(`/api/v1/tasks/${id}`).expect(200)).body as TaskDetails;
}

/** Waits until the task has ended (read with the admin key); its details. */
async function ended(id: string): Promise<TaskDetails> {
  const seen: TaskDetails[] = [];
  await eventually(`task ${id} to end`, async () => {
    seen.unshift(await details(id));
    return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(seen[0].status);
  });
  return seen[0];
}

/** Waits until the fake CLI started in `project` (its log line is written as it starts). */
async function agentStarted(project: string, runs = 1): Promise<void> {
  await eventually(
    `the agent to start in ${project}`,
    () => fakeInvocations(workdir.logFile(), project).length >= runs,
  );
}

/** Processes working in `dir` now (their current directory, from /proc). */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === dir) pids.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

/** The owner-key records of a task's history: the `system` record and its `status` change. */
function ownerKeyHistory(task: TaskDetails) {
  return {
    records: task.interactions
      .filter((i) => (i.data as { type?: string } | null)?.type === 'owner_key_refused')
      .map((i) => i.data),
    ends: statusChanges(task.interactions)
      .filter((c) => c.to === 'CANCELLED')
      .map(({ from, to, reason }) => ({ from, to, reason })),
  };
}

beforeAll(async () => {
  t = await createTestApp({
    env: {
      ...FAKE_RUNNER_ENV,
      AUTH_REQUIRED: 'true',
      RATE_LIMIT_PER_MINUTE: '0',
      MAX_CONCURRENT_TASKS: '1',
    },
  });
  server = t.app.getHttpServer() as App;
  admin = (
    await t.app.get(ApiKeysService).create({
      name: 'bootstrap admin',
      scopes: ['admin'],
      expiresAt: null,
      createdByKeyId: null,
    })
  ).key;
});

afterAll(async () => {
  await t?.close();
});

describe('Revoking a key through the API', () => {
  it("ends its queued tasks before the 204 and stops its running one: nothing more of the key's runs", async () => {
    const d = await createKey('leaked', ['tasks:write']);
    const { id: sessionId, project } = await sessionOf(d.key, 'revoked-key');
    // The first task's agent runs until its process group is ended (deaf to SIGINT and SIGTERM).
    const running = await createTask(d.key, sessionId, `Work. ${fakeScript('hang')}`);
    const queued: string[] = [];
    for (const i of [2, 3, 4]) {
      queued.push(
        await createTask(
          d.key,
          sessionId,
          `Write a file. ${fakeScript(shellCommands(`date > ran-${i}.txt`))}`,
        ),
      );
    }
    await agentStarted(project);
    expect(processesIn(project)).not.toEqual([]);

    await as(admin).delete(`/api/v1/api-keys/${d.id}`).expect(204);

    // Ended before the answer: none of them can be claimed any more.
    for (const id of queued) {
      const task = await details(id);
      expect(task).toMatchObject({
        status: 'CANCELLED',
        status_reason: 'owner_key_revoked',
        error_message: 'The API key that owns this task was revoked: the task was not started.',
        iteration: 0,
      });
      expect(ownerKeyHistory(task)).toEqual({
        records: [{ type: 'owner_key_refused', refusal: 'revoked', moment: 'start' }],
        ends: [{ from: 'PENDING', to: 'CANCELLED', reason: 'owner_key_revoked' }],
      });
    }
    // The running one is stopped: its agent's processes ended, then its end written.
    const stopped = await ended(running);
    expect(stopped).toMatchObject({ status: 'CANCELLED', status_reason: 'owner_key_revoked' });
    expect(stopped.error_message).toContain('The API key that owns this task was revoked');
    expect(processesIn(project)).toEqual([]);
    expect(ownerKeyHistory(stopped).ends).toEqual([
      expect.objectContaining({ to: 'CANCELLED', reason: 'owner_key_revoked' }),
    ]);
    expect(stopped.interactions.some((i) => i.content.includes('was revoked'))).toBe(true);

    // The queue moves on past them: another key's task in the same project runs, and the revoked
    // key's agents never ran again there.
    const other = await createKey('other', ['tasks:write']);
    const { id: otherSession, project: otherProject } = await sessionOf(other.key, 'other-key');
    const next = await createTask(
      other.key,
      otherSession,
      `Work. ${fakeScript('success text="Not done yet."')}`,
    );
    await agentStarted(otherProject);
    await as(admin).post(`/api/v1/tasks/${next}/cancel`).expect(200);
    await ended(next);
    expect(fakeInvocations(workdir.logFile(), project)).toHaveLength(1);
    for (const i of [2, 3, 4]) expect(existsSync(join(project, `ran-${i}.txt`))).toBe(false);
  });
});

describe('A key revoked past this server, or expired, while its task runs', () => {
  it.each([
    ['revoked', { revokedAt: new Date() }, 'owner_key_revoked'],
    ['expired', { expiresAt: new Date(Date.now() - 1000) }, 'owner_key_expired'],
  ] as const)(
    '%s: the task is stopped before its next agent turn',
    async (label, change, reason) => {
      const k = await createKey(`key ${label}`, ['tasks:write']);
      const { id: sessionId, project } = await sessionOf(k.key, `turn-${label}`);
      const release = join(workdir.root(), `release-${label}`);
      const id = await createTask(
        k.key,
        sessionId,
        `Work. ${fakeScript(`slow-stream until=${release} delay=50`, 'write-tests lang=node')}`,
      );
      await agentStarted(project);
      // Written to the database as `npm run api-key -- revoke` or another instance writes it (or
      // as time makes a key expire): nothing on this server is told.
      await t.dataSource.getRepository(ApiKey).update({ id: k.id }, change);
      writeFileSync(release, '');

      const task = await ended(id);
      expect(task).toMatchObject({ status: 'CANCELLED', status_reason: reason, iteration: 1 });
      expect(ownerKeyHistory(task).records).toEqual([
        { type: 'owner_key_refused', refusal: label, moment: 'step' },
      ]);
      // The test-writing turn never started.
      expect(fakeInvocations(workdir.logFile(), project)).toHaveLength(1);
    },
  );
});

describe('A task whose key was revoked while it was queued (past this server)', () => {
  it('is not started when claimed; a task no key owns, queued behind it, runs (an admin key too)', async () => {
    const blockerKey = await createKey('blocker', ['tasks:write']);
    const blockerSession = await sessionOf(blockerKey.key, 'blocker');
    const blocker = await createTask(
      blockerKey.key,
      blockerSession.id,
      `Work. ${fakeScript('hang')}`,
    );
    // It takes the one slot.
    await agentStarted(blockerSession.project);

    const z = await createKey('admin z', ['admin']);
    const { id: ownSession, project: ownProject } = await sessionOf(z.key, 'admin-z');
    // A session no key owns (made while keys were not required): its tasks belong to no key.
    const freeProject = copyFixtureProject('node-basic', workdir.root(), 'no-owner');
    const freeSession = await storeSession(t.dataSource, freeProject);
    const own = await createTask(z.key, ownSession, `Work. ${fakeScript('hang')}`);
    const free = await createTask(
      z.key,
      freeSession,
      `Work. ${fakeScript('success text="Not done yet."')}`,
    );
    await t.dataSource.getRepository(ApiKey).update({ id: z.id }, { revokedAt: new Date() });
    await as(admin).post(`/api/v1/tasks/${blocker}/cancel`).expect(200);

    const refused = await ended(own);
    expect(refused).toMatchObject({
      status: 'CANCELLED',
      status_reason: 'owner_key_revoked',
      error_message: 'The API key that owns this task was revoked: the task was not started.',
      iteration: 0,
    });
    expect(statusChanges(refused.interactions).map((c) => `${c.to}(${c.reason})`)).toEqual([
      'RUNNING(claimed)',
      'CANCELLED(owner_key_revoked)',
    ]);
    // The task no key owns runs.
    await agentStarted(freeProject);
    expect(fakeInvocations(workdir.logFile(), ownProject)).toEqual([]);
    await as(admin).post(`/api/v1/tasks/${free}/cancel`).expect(200);
    expect(await ended(free)).toMatchObject({ status: 'CANCELLED', status_reason: 'cancelled' });
  });
});
