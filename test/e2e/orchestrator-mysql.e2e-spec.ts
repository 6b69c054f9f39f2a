import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { isProcessGroupAlive } from 'src/process/process-group';
import { TaskOrchestratorService } from 'src/orchestrator/task-orchestrator.service';
import {
  copyFixtureProject,
  createSessionTask,
  FAKE_CLAUDE,
  fakeScript,
  getDetails,
  quoted,
  statusChanges,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { checkoutFingerprint, git } from 'test/e2e/support/git-repos';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { createTestDatabase, describeMysql, TestDatabase } from 'test/e2e/support/test-database';

/**
 * Two server instances (two AppModules, each with its orchestrator on) sharing one fresh
 * MariaDB database: tasks are spread over both, each runs exactly once, no instance exceeds its
 * MAX_CONCURRENT_TASKS, tasks of one project in place never overlap, tasks of one repository in
 * workspaces run side by side, and a cancel sent to the instance that does not run the task
 * still ends it.
 */

describeMysql('Orchestrator with two instances on one MariaDB database (fake CLI)', () => {
  let work: string;
  let logFile: string;
  let db: TestDatabase;
  const apps: TestApp[] = [];
  const urls: App[] = [];
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'orch-mysql-'));
    logFile = join(work, 'fake-claude.log');
    process.env.FAKE_CLAUDE_STATE_DIR = join(work, 'state');
    process.env.FAKE_CLAUDE_LOG = logFile;
    db = await createTestDatabase('mysql');
    for (const name of ['a', 'b']) {
      const app = await createTestApp({
        database: db,
        env: {
          INSTANCE_ID: name,
          ORCHESTRATOR_ENABLED: 'true',
          QUEUE_POLL_MS: '100',
          MAX_CONCURRENT_TASKS: '2',
          KILL_GRACE_SECONDS: '1',
          CLAUDE_CLI_COMMAND: FAKE_CLAUDE,
          CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
        },
      });
      apps.push(app);
      await app.app.listen(0, '127.0.0.1');
      urls.push((await app.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App);
    }
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await db?.drop();
    process.env = savedEnv;
    rmSync(work, { recursive: true, force: true });
  });

  const createTask = async (
    url: App,
    project: string,
    description: string,
    isolation: 'worktree' | 'none' = 'worktree',
  ): Promise<string> => createSessionTask(url, { project_path: project, isolation }, description);

  it('spreads tasks over both instances, runs each once, within each cap, one per project in place', async () => {
    const script = fakeScript('slow-stream lines=5 delay=100', 'write-tests lang=node result=pass');
    const projects = ['m1', 'm2', 'm3', 'm4'].map((n) => copyFixtureProject('node-basic', work, n));
    const ids: string[] = [];
    for (const [i, project] of projects.entries()) {
      ids.push(await createTask(urls[i % 2], project, `task on ${i} ${script}`, 'none'));
    }
    ids.push(await createTask(urls[1], projects[0], `second task on m1 ${script}`, 'none'));
    ids.push(await createTask(urls[0], projects[1], `second task on m2 ${script}`, 'none'));
    const orchestrators = apps.map((a) => a.app.get(TaskOrchestratorService));
    let peakTotal = 0;
    const sampler = setInterval(() => {
      peakTotal = Math.max(
        peakTotal,
        orchestrators[0].stats().running + orchestrators[1].stats().running,
      );
    }, 10);
    try {
      for (const id of ids) {
        const { final } = await waitForTerminal(urls[0], id);
        expect(final.status).toBe('COMPLETED');
      }
    } finally {
      clearInterval(sampler);
    }
    const details = await Promise.all(ids.map((id) => getDetails(urls[1], id)));
    const owners = new Set<string>();
    for (const d of details) {
      expect(d.attempt).toBe(1);
      const claims = statusChanges(d.interactions).filter((c) => c.reason === 'claimed');
      expect(claims).toHaveLength(1);
      const claim = d.interactions.find((i) => i.kind === 'status' && i.data?.reason === 'claimed');
      owners.add(String(claim?.data?.owner).split('@')[0]);
    }
    expect([...owners].sort()).toEqual(['a', 'b']);
    for (const o of orchestrators) expect(o.stats().peak).toBeLessThanOrEqual(2);
    expect(peakTotal).toBeGreaterThan(2);
    for (const [first, second] of [
      [0, 4],
      [1, 5],
    ]) {
      const a = details[first];
      const b = details[second];
      const aStart = new Date(a.started_at!).getTime();
      const aEnd = new Date(a.completed_at!).getTime();
      const bStart = new Date(b.started_at!).getTime();
      const bEnd = new Date(b.completed_at!).getTime();
      expect(bStart >= aEnd || aStart >= bEnd).toBe(true);
    }
  });

  it('a cancel sent to the other instance ends the running task', async () => {
    const project = copyFixtureProject('node-basic', work, 'cancel-remote');
    const id = await createTask(urls[0], project, `hang ${fakeScript('hang')}`);
    let pgid = 0;
    const deadline = Date.now() + 20_000;
    while (pgid === 0 && Date.now() < deadline) {
      const entries = readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { cwd: string; pgid: number });
      const workspace = (await getDetails(urls[0], id)).workspace_path;
      pgid = entries.find((e) => e.cwd === workspace)?.pgid ?? 0;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(pgid).toBeGreaterThan(0);
    const runningOn = apps.findIndex((a) => a.app.get(TaskOrchestratorService).stats().running > 0);
    expect(runningOn).toBeGreaterThanOrEqual(0);
    const other = urls[1 - runningOn];
    await request(other).post(`/api/v1/tasks/${id}/cancel`).expect(200);
    const { final } = await waitForTerminal(other, id);
    expect(final.status).toBe('CANCELLED');
    expect(isProcessGroupAlive(pgid)).toBe(false);
  });

  it('runs tasks of one repository side by side on both instances, each on its own branch', async () => {
    const repo = copyFixtureProject('node-basic', work, 'shared-repo');
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    const before = checkoutFingerprint(repo);
    const barrier = join(work, 'shared-repo-barrier');
    const ids: string[] = [];
    for (let k = 1; k <= 4; k += 1) {
      ids.push(
        await createTask(
          urls[k % 2],
          repo,
          `feature ${k} ${fakeScript(
            `barrier dir=${barrier} count=4 path=src/f${k}.js content=${quoted(`module.exports = ${k};\n`)}`,
            'write-tests lang=node result=pass',
          )}`,
        ),
      );
    }
    for (const id of ids) {
      const { final } = await waitForTerminal(urls[0], id);
      expect(final.status).toBe('COMPLETED');
    }
    const details = await Promise.all(ids.map((id) => getDetails(urls[1], id)));
    expect(new Set(details.map((d) => d.branch)).size).toBe(4);
    for (const [index, d] of details.entries()) {
      expect(d.base_commit).toBe(base);
      expect(git(repo, 'show', `${d.head_commit}:src/f${index + 1}.js`)).toBe(
        `module.exports = ${index + 1};\n`,
      );
    }
    expect(checkoutFingerprint(repo)).toEqual(before);
    expect(git(repo, 'fsck', '--no-progress').trim()).toBe('');
  });
});
