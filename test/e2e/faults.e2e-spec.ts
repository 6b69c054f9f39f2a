import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { isProcessAlive, liveGroupMembers } from 'src/process/process-group';
import { eventually } from 'test/e2e/support/eventually';
import { ServerProcess, startTask, startTestServer } from 'test/e2e/support/server-process';
import { baseUrl, SseClient } from 'test/e2e/support/sse-client';
import {
  copyFixtureProject,
  FAKE_CLAUDE,
  fakeRuns,
  fakeScript,
  getDetails,
  statusChanges,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { TcpProxy } from 'test/e2e/support/tcp-proxy';
import { createMysqlDatabase, describeMysql, TestDatabase } from 'test/e2e/support/test-database';

/**
 * FAULTS INJECTED FOR REAL into the built server running as a process: frozen (SIGSTOP) while
 * another instance waits to take over, stopped past its lease with nobody else around, its
 * database connections reset and blackholed through a TCP proxy, its SQLite disk full, a second
 * server on its SQLite file, and SIGTERM while it drains. Each checks what users would count:
 * agents alive at once in one project, tasks failed for reasons that were not theirs, requests
 * that hung.
 */

interface Sample {
  at: number;
  agents: number[];
}

/**
 * Sessions here run their tasks in the project directory itself (isolation `none`), where these
 * tests watch the agent: what they inject concerns processes and the database, not workspaces
 * (the crash-recovery suite covers those).
 */
const IN_PLACE = { isolation: 'none' };

/**
 * Pids of the fake CLI processes working in `project` right now (from /proc): the processes that
 * run its script (`node <script>`), not the group leader that started one (`timeout 0 <script>`).
 */
function agentsIn(project: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) !== project) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[1] === FAKE_CLAUDE && isProcessAlive(Number(entry))) pids.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

/** Samples the agents of `project` every 10 ms until `stop()`; returns every sample. */
function sampleAgents(project: string): { stop: () => Sample[] } {
  const samples: Sample[] = [];
  const timer = setInterval(() => samples.push({ at: Date.now(), agents: agentsIn(project) }), 10);
  return {
    stop: () => {
      clearInterval(timer);
      return samples;
    },
  };
}

const changesOf = async (url: App, id: string): Promise<string[]> =>
  statusChanges((await getDetails(url, id)).interactions).map((c) => `${c.to}:${c.reason}`);

describe('Faults injected into the running server', () => {
  let work: string;
  const servers: ServerProcess[] = [];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'cta-faults-'));
  });
  afterAll(() => {
    for (const s of servers) {
      s.child.kill('SIGCONT');
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
    rmSync(work, { recursive: true, force: true });
  });

  const server = async (
    env: Record<string, string>,
    options?: { expectHealthy?: boolean },
  ): Promise<ServerProcess> => {
    const s = await startTestServer(
      work,
      {
        FAKE_CLAUDE_STATE_DIR: join(work, 'fake-state'),
        FAKE_CLAUDE_LOG: join(work, 'fake-claude.log'),
        ...env,
      },
      options,
    );
    servers.push(s);
    return s;
  };

  describeMysql('two instances on MariaDB', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createMysqlDatabase();
    });
    afterAll(async () => {
      await db?.drop();
    });

    it('a server frozen (SIGSTOP) past its lease: its agent is gone before another instance takes the task over, never two at once', async () => {
      const project = copyFixtureProject('node-basic', work, 'frozen');
      const env = { DATABASE_URL: db.url, LEASE_SECONDS: '12', KILL_GRACE_SECONDS: '1' };
      const a = await server({ ...env, HOST_ID: 'host-a' });
      const id = await startTask(
        a.url,
        project,
        `Add cube. ${fakeRuns(
          'hang signals=honor',
          'edit-files path=src/cube.js content="module.exports = (x) => x * x * x;"',
          'write-tests lang=node result=pass',
        )}`,
        IN_PLACE,
      );
      await eventually('the first agent to run', () => agentsIn(project).length === 1);
      const first = agentsIn(project)[0];
      const b = await server({ ...env, HOST_ID: 'host-b' });
      const sampler = sampleAgents(project);
      a.child.kill('SIGSTOP');
      try {
        const { final } = await waitForTerminal(b.url, id);
        expect(final.status).toBe('COMPLETED');
      } finally {
        a.child.kill('SIGCONT');
      }
      const samples = sampler.stop();
      expect(samples.length).toBeGreaterThan(50);
      expect(Math.max(...samples.map((s) => s.agents.length))).toBeLessThanOrEqual(1);
      // The frozen server's own process host ended its agent: nobody else could reach it.
      expect(isProcessAlive(first)).toBe(false);
      const lastWithFirst = samples.filter((s) => s.agents.includes(first)).pop()!.at;
      const firstOther = samples.find((s) => s.agents.some((p) => p !== first))!.at;
      expect(lastWithFirst).toBeLessThan(firstOther);
      const changes = await changesOf(b.url, id);
      expect(changes).toEqual(
        expect.arrayContaining([
          'PENDING:lease_expired',
          'RUNNING:resumed',
          'COMPLETED:verified_without_base',
        ]),
      );
      expect(changes).not.toContain('PENDING:server_restart');
      // A, thawed, finds the lease gone and writes nothing more.
      await eventually('the thawed server to let go', () =>
        a.output().includes(`Task ${id}: lease lost`),
      );
      expect((await getDetails(b.url, id)).status).toBe('COMPLETED');
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect(await a.exited).toBe('code 0');
      expect(await b.exited).toBe('code 0');
    });
  });

  it('a server stopped past its lease with nobody else around keeps its tasks: all complete, none counted as a death', async () => {
    const projects = ['stall-1', 'stall-2', 'stall-3', 'stall-4'].map((name) =>
      copyFixtureProject('node-basic', work, name),
    );
    const s = await server({
      DATABASE_URL: `sqlite:///${join(work, 'stall.db')}`,
      LEASE_SECONDS: '6',
      MAX_CONCURRENT_TASKS: '4',
      MAX_TASK_ATTEMPTS: '1',
    });
    const ids: string[] = [];
    for (const project of projects) {
      ids.push(
        await startTask(
          s.url,
          project,
          `Add cube. ${fakeScript(
            'slow-stream lines=40 delay=250',
            'edit-files path=src/cube.js content="module.exports = (x) => x * x * x;"',
            'write-tests lang=node result=pass',
          )}`,
          IN_PLACE,
        ),
      );
    }
    await eventually('every agent to run', () => projects.every((p) => agentsIn(p).length === 1));
    s.child.kill('SIGSTOP');
    // Stopped for longer than the lease: to the server this is an event loop stalled 9 s.
    await new Promise((resolve) => setTimeout(resolve, 9000));
    s.child.kill('SIGCONT');
    for (const id of ids) {
      const { final } = await waitForTerminal(s.url, id);
      expect(final.status).toBe('COMPLETED');
      const details = await getDetails(s.url, id);
      expect(details.attempt).toBe(1);
      const changes = await changesOf(s.url, id);
      expect(changes).not.toContain('PENDING:server_restart');
      expect(changes).not.toContain('FAILED:server_restart');
    }
    expect(s.output()).not.toMatch(/is gone/);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe('code 0');
  });

  describeMysql('a database behind a TCP proxy', () => {
    let db: TestDatabase;
    let proxy: TcpProxy;
    let url: string;
    beforeAll(async () => {
      db = await createMysqlDatabase();
      const target = new URL(db.url);
      proxy = new TcpProxy(target.hostname, Number(target.port || 3306));
      const port = await proxy.start();
      target.host = `127.0.0.1:${port}`;
      url = target.toString();
    });
    afterAll(async () => {
      await proxy?.stop();
      await db?.drop();
    });

    it('connections reset while tasks run: no task fails for it', async () => {
      const projects = ['reset-1', 'reset-2', 'reset-3'].map((n) =>
        copyFixtureProject('node-basic', work, n),
      );
      const s = await server({ DATABASE_URL: url, MAX_CONCURRENT_TASKS: '3' });
      const ids: string[] = [];
      for (const project of projects) {
        ids.push(
          await startTask(
            s.url,
            project,
            `Add cube. ${fakeScript(
              'slow-stream lines=30 delay=100',
              'edit-files path=src/cube.js content="module.exports = (x) => x * x * x;"',
              'write-tests lang=node result=pass',
            )}`,
            IN_PLACE,
          ),
        );
      }
      let resets = 0;
      const resetter = setInterval(() => {
        proxy.reset();
        resets += 1;
      }, 700);
      try {
        // A status read can meet a reset connection too and answer 503 database_unavailable (a
        // client tries again); what must hold is the tasks' outcome.
        await eventually('the tasks to end through the resets', async () => {
          const answers = await Promise.all(
            ids.map((id) => request(s.url).get(`/api/v1/tasks/${id}/status`)),
          );
          return answers.every(
            (res) =>
              res.status === 200 && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(res.body.status),
          );
        });
      } finally {
        clearInterval(resetter);
      }
      for (const id of ids) {
        const { final } = await waitForTerminal(s.url, id);
        expect({ status: final.status, error: final.error_message }).toEqual({
          status: 'COMPLETED',
          error: null,
        });
      }
      expect(resets).toBeGreaterThan(3);
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe('code 0');
    });

    it('a database that stops answering (blackholed): requests fail with 503 instead of hanging, the running task waits it out, and all works again after', async () => {
      const project = copyFixtureProject('node-basic', work, 'blackhole');
      const release = join(work, 'blackhole-over');
      // Keys off by setting: unset with no key created, each request would ask the database
      // whether one was created since, and the outage would refuse it before its route runs.
      const s = await server({
        DATABASE_URL: url,
        DATABASE_TIMEOUT_SECONDS: '2',
        AUTH_REQUIRED: 'false',
      });
      const session = await request(s.url)
        .post('/api/v1/sessions')
        .send({ project_path: project, ...IN_PLACE })
        .expect(201);
      const running = await request(s.url)
        .post('/api/v1/tasks')
        .send({
          session_id: session.body.id,
          description: `Add cube. ${fakeScript(
            // Streams through the whole outage, however slow the machine: until it is over.
            `slow-stream until=${release} delay=200`,
            'edit-files path=src/cube.js content="module.exports = (x) => x * x * x;"',
            'write-tests lang=node result=pass',
          )}`,
        })
        .expect(201);
      await eventually('the agent to run', () => agentsIn(project).length === 1);
      proxy.blackhole(true);
      // Each request must come back (with 503), never hang: the bound is a guard against a
      // hang, far above what DATABASE_TIMEOUT_SECONDS=2 lets a request take.
      const answered = <T extends { timeout: (ms: number) => T }>(req: T): T => req.timeout(60_000);
      let stream!: SseClient;
      try {
        for (let i = 0; i < 2; i += 1) {
          const list = await answered(request(s.url).get('/api/v1/tasks'));
          expect(list.status).toBe(503);
          expect(list.body.code).toBe('database_unavailable');
          const create = await answered(
            request(s.url)
              .post('/api/v1/tasks')
              .send({ session_id: session.body.id, description: 'x' }),
          );
          expect(create.status).toBe(503);
        }
        const health = await answered(request(s.url).get('/health'));
        expect(health.status).toBe(503);
        expect(health.body.database.status).toBe('down');
        // A stream asked for with a cursor opens: the newest event's id, which a cursor past it
        // is clamped to, cannot be read, so the cursor is taken as it is.
        stream = await SseClient.connect(`${baseUrl(s.url)}/api/v1/events`, {
          'Last-Event-ID': '1',
        });
        expect({ status: stream.status, type: stream.contentType }).toEqual({
          status: 200,
          type: expect.stringContaining('text/event-stream'),
        });
      } finally {
        proxy.blackhole(false);
      }
      await eventually('the database to answer again', async () => {
        const res = await request(s.url).get('/health');
        return res.status === 200;
      });
      await request(s.url).get('/api/v1/tasks').expect(200);
      // The stream's reads waited the outage out: it sends the task's events after the cursor.
      try {
        await eventually('the stream to send an event past its cursor', () =>
          stream.events.some((event) => event.event === 'message' && Number(event.id) > 1),
        );
      } finally {
        stream.close();
      }
      expect(s.output()).toMatch(/the newest event id could not be read/);
      writeFileSync(release, '');
      // The task's writes waited the outage out (tried again), it was not failed for it.
      const { final } = await waitForTerminal(s.url, running.body.id as string);
      expect({ status: final.status, error: final.error_message }).toEqual({
        status: 'COMPLETED',
        error: null,
      });
      expect(s.output()).toMatch(/database error, trying again/);
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe('code 0');
    });
  });

  it('a full disk: 507 storage_full, /health and /health/ready say the database cannot write, and the task goes on once space returns', async () => {
    const disk = join(work, 'small-disk');
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', disk]);
    try {
      const project = copyFixtureProject('node-basic', work, 'disk-full');
      const release = join(work, 'disk-full-over');
      const s = await server({
        DATABASE_URL: `sqlite:///${join(disk, 'tasks.db')}`,
        LEASE_SECONDS: '6',
      });
      const id = await startTask(
        s.url,
        project,
        `Add cube. ${fakeScript(
          // Streams until space is back, however slow the machine.
          `slow-stream until=${release} delay=100`,
          'edit-files path=src/cube.js content="module.exports = (x) => x * x * x;"',
          'write-tests lang=node result=pass',
        )}`,
        IN_PLACE,
      );
      // Streaming, so that its run writes while the disk is full.
      await eventually('the agent to stream', async () =>
        (await getDetails(s.url, id)).interactions.some((i) => i.content.startsWith('progress')),
      );
      // Fill the disk to the last byte.
      const filler = join(disk, 'filler');
      const fd = openSync(filler, 'w');
      const block = Buffer.alloc(64 * 1024, 1);
      try {
        for (;;) writeSync(fd, block);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        closeSync(fd);
      }
      for (let i = 0; i < 4; i += 1) {
        try {
          const small = openSync(join(disk, `filler-${i}`), 'w');
          writeSync(small, Buffer.alloc(512, 1));
          closeSync(small);
        } catch {
          break;
        }
      }
      // SQLite fails a write when it needs space, which is not every write: one may still fit
      // where the WAL, once checkpointed, starts over in its file, or change pages the database
      // file has. So each answer below is the first that is not a success, and must say why.
      const firstFailure = async (what: string, ask: () => request.Test) => {
        let answer: request.Response | undefined;
        await eventually(what, async () => {
          answer = await ask();
          return answer.status >= 300;
        });
        return answer!;
      };
      const full = await firstFailure('a session not to be stored', () =>
        request(s.url)
          .post('/api/v1/sessions')
          .send({ project_path: project, ...IN_PLACE }),
      );
      expect(full.status).toBe(507);
      expect(full.body.code).toBe('storage_full');
      const health = await firstFailure('/health to fail', () => request(s.url).get('/health'));
      expect(health.status).toBe(503);
      expect(health.body.database).toMatchObject({ status: 'up', writable: false });
      const ready = await firstFailure('/health/ready to fail', () =>
        request(s.url).get('/health/ready'),
      );
      expect(ready.status).toBe(503);
      expect(ready.body.error).toMatchObject({ database_writable: { status: 'down' } });
      // The run's next write met the full disk too: it stopped, to resume when its lease runs out.
      await eventually('the run to stop on the full disk', () =>
        /the database stayed full .*; stopped/.test(s.output()),
      );
      rmSync(filler);
      for (let i = 0; i < 4; i += 1) rmSync(join(disk, `filler-${i}`), { force: true });
      writeFileSync(release, '');
      const { final } = await waitForTerminal(s.url, id);
      expect(final.status).toBe('COMPLETED');
      await request(s.url).get('/health').expect(200);
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe('code 0');
    } finally {
      execFileSync('umount', ['-l', disk]);
    }
  });

  it('a second server on the same SQLite file refuses to start, saying why', async () => {
    const database = `sqlite:///${join(work, 'shared.db')}`;
    const first = await server({ DATABASE_URL: database });
    const second = await server({ DATABASE_URL: database }, { expectHealthy: false });
    expect(await second.exited).toBe('code 1');
    expect(second.output()).toMatch(
      /Startup failed: .*shared\.db is used by another server \(pid \d+\); a SQLite database serves one server process/,
    );
    await request(first.url).get('/health').expect(200);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe('code 0');
    // Once the first is gone, the file is free again.
    const third = await server({ DATABASE_URL: database });
    third.child.kill('SIGKILL');
    await third.exited;
    const fourth = await server({ DATABASE_URL: database });
    fourth.child.kill('SIGTERM');
    expect(await fourth.exited).toBe('code 0');
  });

  it('draining after SIGTERM: /health and /health/ready answer 503 and new tasks are refused with 503, then it exits 0', async () => {
    const project = copyFixtureProject('node-basic', work, 'draining');
    const release = join(work, 'drain-seen');
    const s = await server({
      DATABASE_URL: `sqlite:///${join(work, 'drain.db')}`,
      // The agent ends once the test has seen the drain (`until`), however slow the machine:
      // the grace periods only bound a broken run.
      KILL_GRACE_SECONDS: '60',
    });
    const sessionId = (
      await request(s.url)
        .post('/api/v1/sessions')
        .send({ project_path: project, ...IN_PLACE })
        .expect(201)
    ).body.id as string;
    await request(s.url)
      .post('/api/v1/tasks')
      .send({ session_id: sessionId, description: `Hang. ${fakeScript(`hang until=${release}`)}` })
      .expect(201);
    // Until its handlers are set the agent would die of the first signal, and until the server
    // has recorded its process group the run would not wait for it: either way the drain would
    // be over before it could be seen.
    // The fake's `hang` starts its grandchild, in its group, once its handlers are set. (`SigCgt`
    // in /proc cannot tell: Node catches SIGINT and SIGTERM from its start, to exit on them.)
    await eventually('the agent to ignore SIGINT and SIGTERM', () =>
      agentsIn(project).some((agent) => (liveGroupMembers(agent)?.length ?? 0) > 1),
    );
    const db = new Database(join(work, 'drain.db'), { readonly: true, fileMustExist: true });
    try {
      await eventually("the server to record the agent's process group", () => {
        const row = db.prepare('SELECT process_group_id AS pgid FROM tasks').get() as
          | { pgid: number | null }
          | undefined;
        return (row?.pgid ?? null) !== null;
      });
      s.child.kill('SIGTERM');
      // The agent ignores SIGINT and SIGTERM: the drain lasts until it ends, when told to below.
      await eventually('the server to report draining', async () => {
        const res = await request(s.url)
          .get('/health')
          .catch(() => null);
        return res?.status === 503 && res.body.status === 'draining';
      });
      const refused = await request(s.url)
        .post('/api/v1/tasks')
        .send({ session_id: sessionId, description: 'Too late' });
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('shutting_down');
      const ready = await request(s.url).get('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.error).toMatchObject({ accepting_work: { status: 'down' } });
      writeFileSync(release, '');
      expect(await s.exited).toBe('code 0');
      // The server waited for its run's agent to end: nothing is left, and the task is back in
      // the queue saying why its turn was cut short.
      expect(agentsIn(project)).toEqual([]);
      expect(db.prepare('SELECT status, process_group_id AS pgid FROM tasks').get()).toEqual({
        status: 'PENDING',
        pgid: null,
      });
      const interrupted = db
        .prepare("SELECT content FROM claude_interactions WHERE kind = 'system' ORDER BY id")
        .all() as { content: string }[];
      expect(interrupted.map((row) => row.content)).toContainEqual(
        expect.stringContaining('the server is shutting down'),
      );
    } finally {
      db.close();
    }
  });
});
