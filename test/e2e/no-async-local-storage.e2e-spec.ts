import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from 'nestjs-pino';
import request from 'supertest';
import type { App } from 'supertest/types';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import {
  copyFixtureProject,
  createSessionTask,
  FAKE_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeScript,
  quoted,
  waitForTerminal,
} from 'test/e2e/support/task-polling';

/**
 * NO ASYNCLOCALSTORAGE IN THE SERVER. Once any AsyncLocalStorage is entered (`run`,
 * `enterWith`), Node installs async hooks and V8 promise hooks for the whole process, and every
 * promise, timer and file system call pays for them (an experiment put it at a tenth to a quarter
 * of the server's CPU per task; taking it out measured no gain per task, test/bench/RESULTS.md). The app, with pino as Nest's logger as in `main.ts`, answers requests (the full
 * stack, the status fast path, a 404) and runs a task with the fake CLI to its end, its tests
 * included; no AsyncLocalStorage is entered meanwhile.
 */

const entered = [
  jest.spyOn(AsyncLocalStorage.prototype, 'run'),
  jest.spyOn(AsyncLocalStorage.prototype, 'enterWith'),
];

const DOUBLE_JS = "'use strict';\n\nmodule.exports = { double: (x) => x * 2 };\n";

const workdir = fakeClaudeWorkdir('cta-no-als-');
let t: TestApp;
let server: App;

beforeAll(async () => {
  t = await createTestApp({ env: { ...FAKE_RUNNER_ENV } });
  t.app.useLogger(t.app.get(Logger));
  server = t.app.getHttpServer() as App;
});

afterAll(async () => {
  await t?.close();
});

it('enters no AsyncLocalStorage while answering requests and running a task', async () => {
  const project = copyFixtureProject('node-basic', workdir.root(), 'project');
  const taskId = await createSessionTask(
    server,
    { project_path: project },
    `Add a double helper. ${fakeScript(
      `edit-files path=src/double.js content=${quoted(DOUBLE_JS)} cost=0.01`,
      'write-tests lang=node result=pass name=double cost=0.01',
    )}`,
  );
  const { final } = await waitForTerminal(server, taskId);
  expect(final.status).toBe('COMPLETED');
  await request(server).get(`/api/v1/tasks/${taskId}`).expect(200);
  await request(server).get('/api/v1/no-such-route').expect(404);
  for (const spy of entered) expect(spy).not.toHaveBeenCalled();
});
