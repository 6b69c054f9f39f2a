import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
import { git } from 'test/e2e/support/git-repos';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { describeMysql, TestDatabaseKind } from 'test/e2e/support/test-database';

/**
 * TEXT LONGER THAN ITS COLUMN, from the tests and the repository: MariaDB refuses a value longer
 * than a varchar column where SQLite stores it, and the server answers the same on both. A
 * regression command's case name and a generated test's name over their column are stored cut
 * (the task completes); a project checked out on a branch longer than a task's target_branch
 * column takes no task without a base_ref (400 naming the limit); a repository whose git directory
 * lies at a path over 1024 characters is kept whole (`text` since migration 1764190000000).
 */

/** A regression command of about 1100 characters: node's own tests, flags repeated. */
const LONG_REGRESSION_COMMAND = `node ${'--no-warnings '.repeat(84)}--test`;
const LONG_TEST_NAME = 'n'.repeat(1200);
/** 300 characters, in parts a file name can hold (git keeps a branch as a file too). */
const LONG_BRANCH = `feature/${'b'.repeat(150)}/${'c'.repeat(141)}`;

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

  it('refuses a task in a project checked out on a branch too long for its target_branch', async () => {
    const project = copyFixtureProject('node-basic', work.root(), 'long-branch');
    git(project, 'checkout', '-q', '-b', LONG_BRANCH);
    const session = await request(server)
      .post('/api/v1/sessions')
      .send({ project_path: project })
      .expect(201);
    const refused = await request(server)
      .post('/api/v1/tasks')
      .send({ session_id: session.body.id, description: 'Work on the long branch.' });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('validation_failed');
    expect(refused.body.message).toContain(
      "longer than the 255 characters a task's target_branch may have",
    );
    const named = await request(server)
      .post('/api/v1/tasks')
      .send({
        session_id: session.body.id,
        description: 'From its commit.',
        base_ref: git(project, 'rev-parse', 'HEAD').trim(),
      });
    expect(named.status).toBe(201);
    expect(named.body.target_branch).toBeNull();
  });

  it('runs a task of a repository whose git directory lies at a path over 1024 characters', async () => {
    const project = copyFixtureProject('node-basic', work.root(), 'far-git-dir');
    const far = join(work.root(), ...Array.from({ length: 6 }, (_, i) => `${i}${'d'.repeat(199)}`));
    mkdirSync(far, { recursive: true });
    renameSync(join(project, '.git'), join(far, 'repo.git'));
    writeFileSync(join(project, '.git'), `gitdir: ${join(far, 'repo.git')}\n`);
    expect(join(far, 'repo.git').length).toBeGreaterThan(1024);
    const { final, details } = await runSessionTask(
      server,
      { project_path: project },
      `Add a test. ${fakeScript('success', 'write-tests lang=node result=pass')}`,
    );
    expect(final.status).toBe('COMPLETED');
    expect(details.head_commit).not.toBeNull();
  });
}

describe('text longer than its column (SQLite)', () => suite('sqlite'));
describeMysql('text longer than its column (MariaDB)', () => suite('mysql'));
