import request from 'supertest';
import type { App } from 'supertest/types';
import {
  copyFixtureProject,
  FAKE_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeScript,
  runSessionTask,
  TestCaseRow,
} from 'test/e2e/support/task-polling';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { describeMysql, TestDatabaseKind } from 'test/e2e/support/test-database';

/**
 * TEXT LONGER THAN ITS COLUMN, from the tests and the repository: MariaDB refuses a value longer
 * than a varchar column where SQLite stores it, and the server answers the same on both. A
 * regression command's case name and a generated test's name over their column are stored cut
 * (the task completes).
 */

/** A regression command of about 1100 characters: node's own tests, flags repeated. */
const LONG_REGRESSION_COMMAND = `node ${'--no-warnings '.repeat(84)}--test`;
const LONG_TEST_NAME = 'n'.repeat(1200);

function suite(kind: TestDatabaseKind): void {
  const work = fakeClaudeWorkdir('cta-long-text-');
  let t: TestApp;
  let server: App;

  beforeAll(async () => {
    t = await createTestApp({ database: kind, env: { ...FAKE_RUNNER_ENV } });
    server = t.app.getHttpServer() as App;
  });

  afterAll(async () => {
    await t?.close();
  });

  it('completes a task whose regression command and generated test are named past their column', async () => {
    expect(LONG_REGRESSION_COMMAND.length).toBeGreaterThan(1100);
    const project = copyFixtureProject('node-basic', work.root(), 'long-names');
    const { final, details } = await runSessionTask(
      server,
      { project_path: project, regression_command: LONG_REGRESSION_COMMAND },
      `Add a test. ${fakeScript('success', `write-tests lang=node result=pass name=${LONG_TEST_NAME}`)}`,
    );
    expect(final.status).toBe('COMPLETED');
    const cases = (await request(server).get(`/api/v1/tasks/${details.id}/test-cases`).expect(200))
      .body.items as TestCaseRow[];
    const regression = cases.find((c) => c.kind === 'regression');
    expect(regression?.name).toMatch(/^regression: node --no-warnings .*… \[cut: \d+ characters/);
    expect(cases.filter((c) => c.name.startsWith(`${'n'.repeat(900)}`))).not.toHaveLength(0);
    for (const c of cases) expect(c.name.length).toBeLessThanOrEqual(1000);
  });
}

describe('text longer than its column (SQLite)', () => suite('sqlite'));
describeMysql('text longer than its column (MariaDB)', () => suite('mysql'));
