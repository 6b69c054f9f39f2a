import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { serverInstallDir } from 'src/common';
import { serverDependenciesDir } from 'src/sessions/server-install';
import { storeSession } from 'test/e2e/support/stored-session';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { createTestDatabase, TestDatabase } from 'test/e2e/support/test-database';
import {
  FAKE_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeInvocations,
  fakeScript,
  getDetails,
  waitForTerminal,
} from 'test/e2e/support/task-polling';

/**
 * SESSIONS HELD TO THE PROJECT_PATH RULES AS THEY ARE NOW. A session stored before a rule existed
 * (here: a row written straight into the database, past the API) or whose directory changed since
 * (made a bare repository) takes no new task, and a task already queued on it fails when it
 * starts, without its agent ever running there.
 */

const workdir = fakeClaudeWorkdir('cta-path-recheck-e2e-');

let database: TestDatabase;
let api: TestApp;
let server: App;

beforeAll(async () => {
  database = await createTestDatabase('sqlite');
  api = await createTestApp({ database });
  await api.app.listen(0, '127.0.0.1');
  server = (await api.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
});

afterAll(async () => {
  await api?.close();
  await database?.drop();
});

describe('Task creation on a session whose project_path breaks a rule now', () => {
  it.each<[string, () => string, string]>([
    [
      'a bare repository',
      () => {
        const bare = join(workdir.root(), 'stored.git');
        execFileSync('git', ['init', '-q', '--bare', bare]);
        return bare;
      },
      "The session's project_path is a bare git repository",
    ],
    [
      'inside the node_modules the server loads from',
      () => join(serverDependenciesDir(), '@nestjs', 'core'),
      // Its installation's or its dependencies', wherever its node_modules lies.
      "The session's project_path lies inside the server's",
    ],
    [
      "the server's installation",
      () => serverInstallDir(),
      "The session's project_path is the server's installation",
    ],
  ])('is refused with 400 project_path_invalid: %s', async (_label, place, message) => {
    const projectPath = place();
    const session = await storeSession(api.dataSource, projectPath);
    const res = await request(server)
      .post('/api/v1/tasks')
      .send({ session_id: session, description: 'Add a helper.' })
      .expect(400);
    expect(res.body).toMatchObject({
      code: 'project_path_invalid',
      message: expect.stringContaining(message) as unknown,
      details: { project_path: projectPath },
    });
    const tasks = await request(server).get(`/api/v1/sessions/${session}/tasks`).expect(200);
    expect(tasks.body.total).toBe(0);
  });
});

describe('A task queued on a session whose directory became a bare repository since', () => {
  it('fails project_path_refused when it starts: no agent runs there', async () => {
    const project = join(workdir.root(), 'became-bare');
    mkdirSync(project);
    const session = await request(server)
      .post('/api/v1/sessions')
      .send({ project_path: project })
      .expect(201);
    expect(session.body.isolation).toBe('none');
    // Queued by this API-only server (no orchestrator): PENDING until a runner claims it.
    const task = await request(server)
      .post('/api/v1/tasks')
      .send({
        session_id: session.body.id,
        description: `Add a helper. ${fakeScript('write-tests lang=node')}`,
      })
      .expect(201);
    execFileSync('git', ['init', '-q', '--bare', project]);

    const runner = await createTestApp({ database, env: FAKE_RUNNER_ENV });
    try {
      const { final } = await waitForTerminal(server, task.body.id as string);
      expect(final).toMatchObject({ status: 'FAILED', status_reason: 'project_path_refused' });
      expect(final.error_message).toMatch(
        /^The session's project_path is a bare git repository: .*\. The task was not run\.$/s,
      );
      const details = await getDetails(server, task.body.id as string);
      expect(details.iteration).toBe(0);
      expect(details.interactions.filter((i) => i.kind === 'prompt')).toEqual([]);
      expect(fakeInvocations(workdir.logFile(), realpathSync(project))).toEqual([]);
    } finally {
      await runner.close();
    }
  });
});
