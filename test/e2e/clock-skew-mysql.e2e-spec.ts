import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { DataSource } from 'typeorm';
import { Clock } from 'src/common';
import { buildDataSourceOptions } from 'src/database';
import { LeaseSweeperService } from 'src/orchestrator/lease-sweeper.service';
import { HumanWaits } from 'src/tasks';
import { eventually } from 'test/e2e/support/eventually';
import {
  copyFixtureProject,
  createSessionTask,
  FAKE_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeScript,
  getDetails,
  getStatus,
  quoted,
  statusChanges,
  TaskDetails,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { ServerProcess, startTestServer } from 'test/e2e/support/server-process';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { createTestDatabase, describeMysql, TestDatabase } from 'test/e2e/support/test-database';

/** How far instance b's machine clock is ahead: far past a lease and a person's timeout. */
const SKEW_MS = 10 * 60_000;

/** A machine whose clock is set SKEW_MS ahead, as instance b's server reads it. */
class SkewedClock extends Clock {
  override localMs(): number {
    return Date.now() + SKEW_MS;
  }
}

/** Preloaded into a server process: its clock reads SKEW_MS off (`Date.now()`, `new Date()`). */
const SKEW_PRELOAD = join(__dirname, '..', 'fixtures', 'clock-skew', 'skew.js');

/**
 * Instances on one MariaDB database, one on a machine whose clock is 10 minutes ahead: leases
 * and deadlines are judged by the database's clock, so it takes no healthy task of another
 * instance back and ends no wait for a person early, and what it stores is stamped in the
 * database's time like what the others store.
 */
describeMysql('Instances whose machine clocks differ, on one MariaDB database (fake CLI)', () => {
  const work = fakeClaudeWorkdir('cta-clock-skew-');
  let db: TestDatabase;
  const apps: TestApp[] = [];

  const start = async (name: string, override?: Clock): Promise<App> => {
    const t = await createTestApp({
      database: db,
      env: { ...FAKE_RUNNER_ENV, INSTANCE_ID: name },
      ...(override ? { override: (b) => b.overrideProvider(Clock).useValue(override) } : {}),
    });
    apps.push(t);
    await t.app.listen(0, '127.0.0.1');
    return t.app.getHttpServer() as App;
  };

  let probe: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('mysql');
    probe = await new DataSource(buildDataSourceOptions({ databaseUrl: db.url })).initialize();
  });

  let skewedServer: ServerProcess | undefined;

  afterAll(async () => {
    if (skewedServer !== undefined && skewedServer.child.exitCode === null) {
      skewedServer.child.kill('SIGTERM');
      await skewedServer.exited;
    }
    for (const t of apps.reverse()) await t.close();
    await probe?.destroy();
    await db?.drop();
  });

  /** The database's time now, read on a connection of the test's own. */
  const databaseNow = async (): Promise<number> => {
    const rows = await probe.query<{ now: Date }[]>('SELECT UTC_TIMESTAMP(3) AS now');
    return rows[0].now.getTime();
  };

  /**
   * The task's records were stamped in the order of their ids and none after `latestMs`, give or
   * take what two instances' readings of the database's clock may differ by (far less than the
   * skew).
   */
  const expectStampedInOrder = (details: TaskDetails, latestMs: number): void => {
    const stamps = details.interactions.map((i) => Date.parse(i.created_at));
    const toleranceMs = 1000;
    stamps.slice(1).forEach((stamp, i) => expect(stamp).toBeGreaterThan(stamps[i] - toleranceMs));
    expect(Math.max(...stamps)).toBeLessThan(latestMs + toleranceMs);
  };

  it("takes no healthy task of another instance back and ends no person's wait early", async () => {
    const a = await start('a');
    const done = join(work.root(), 'long-turn-done');
    const running = await createSessionTask(
      a,
      { project_path: copyFixtureProject('node-basic', work.root(), 'long'), isolation: 'none' },
      `long turn ${fakeScript(
        `slow-stream until=${quoted(done)} delay=100`,
        'write-tests lang=node result=pass',
      )}`,
    );
    const waiting = await createSessionTask(
      a,
      {
        project_path: copyFixtureProject('node-basic', work.root(), 'asks'),
        isolation: 'none',
        auto_respond: false,
      },
      {
        description: `asks ${fakeScript('ask-question', 'success', 'write-tests lang=node result=pass')}`,
        human_timeout_seconds: 60,
      },
    );
    await eventually('a to run one task and the other to wait for a person', async () => {
      const [r, w] = await Promise.all([getStatus(a, running), getStatus(a, waiting)]);
      return r.status === 'RUNNING' && w.status_reason === 'waiting_for_human';
    });

    // b starts (its start-up sweep runs before this returns), then sweeps once more.
    const skewed = new SkewedClock();
    const b = await start('b', skewed);
    expect(Math.abs(skewed.offset() + SKEW_MS)).toBeLessThan(5000);
    const bApp = apps[1].app;
    expect(await bApp.get(LeaseSweeperService).sweep(() => false)).toBe(0);
    expect(await bApp.get(HumanWaits).due()).toEqual([]);
    const stillRunning = await getDetails(b, running);
    expect(stillRunning).toMatchObject({ status: 'RUNNING', attempt: 1 });
    expect(statusChanges(stillRunning.interactions).map((c) => c.reason)).toEqual(['claimed']);
    const stillWaiting = await getStatus(b, waiting);
    expect(stillWaiting).toMatchObject({ status: 'PAUSED', status_reason: 'waiting_for_human' });
    const wait = stillWaiting.waiting_for_human!;
    expect(Date.parse(wait.until!) - Date.parse(wait.since)).toBe(60_000);

    // The person answers through b: b's record of it is stamped in the database's time.
    await request(b)
      .post(`/api/v1/tasks/${waiting}/messages`)
      .send({ content: 'Yes, negatives too.' })
      .expect(201);
    writeFileSync(done, '');
    for (const id of [running, waiting]) {
      expect((await waitForTerminal(b, id)).final.status).toBe('COMPLETED');
    }
    const latest = await databaseNow();
    const ran = await getDetails(a, running);
    expect(ran.attempt).toBe(1);
    expect(statusChanges(ran.interactions).map((c) => c.reason)).not.toContain('lease_expired');
    expectStampedInOrder(ran, latest);
    const answered = await getDetails(a, waiting);
    expect(statusChanges(answered.interactions).map((c) => c.reason)).toContain('human_replied');
    expectStampedInOrder(answered, latest);
  });

  it("a server whose process clock runs ahead stamps what it creates in the database's time", async () => {
    const before = await databaseNow();
    skewedServer = await startTestServer(work.root(), {
      DATABASE_URL: db.url,
      INSTANCE_ID: 'skewed',
      NODE_OPTIONS: `--require=${SKEW_PRELOAD}`,
      SKEW_MS: String(SKEW_MS),
      FAKE_CLAUDE_STATE_DIR: process.env.FAKE_CLAUDE_STATE_DIR!,
      FAKE_CLAUDE_LOG: process.env.FAKE_CLAUDE_LOG!,
    });
    const server = skewedServer.url;
    const session = await request(server)
      .post('/api/v1/sessions')
      .send({
        project_path: copyFixtureProject('node-basic', work.root(), 'made-by-skewed'),
        isolation: 'worktree',
      })
      .expect(201);
    const task = await request(server)
      .post('/api/v1/tasks')
      .send({
        session_id: session.body.id,
        description: `quick ${fakeScript('write-tests lang=node result=pass')}`,
      })
      .expect(201);
    const id = task.body.id as string;
    expect((await waitForTerminal(server, id)).final.status).toBe('COMPLETED');
    await request(server).post(`/api/v1/tasks/${id}/merge`).send({}).expect(200);
    const latest = await databaseNow();
    const details = await getDetails(server, id);
    const stamps = [
      session.body.created_at,
      details.created_at,
      details.started_at,
      details.completed_at,
      details.merged_at,
    ].map((at) => Date.parse(String(at)));
    for (const stamp of stamps) {
      expect(stamp).toBeGreaterThan(before - 1000);
      expect(stamp).toBeLessThan(latest + 1000);
    }
    expectStampedInOrder(details, latest);
    expect(skewedServer.output()).toMatch(/clock is 600\.\d s ahead of the database's/);
  });
});
