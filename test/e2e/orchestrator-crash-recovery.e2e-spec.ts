import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { isProcessAlive, isProcessGroupAlive } from 'src/process/process-group';
import {
  copyFixtureProject,
  FAKE_CLAUDE,
  fakeScript,
  getDetails,
  getStatus,
  quoted,
  statusChanges,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { eventually } from 'test/e2e/support/eventually';

/**
 * Crash recovery with the BUILT server (`dist/src/main.js`, built by `npm test`'s pretest step) as
 * a real process on a real SQLite file: SIGKILL it while the agent (the fake CLI, hung and deaf
 * to SIGINT/SIGTERM) runs, start a new server on the same database, and check that the task is
 * taken back at once, the orphaned CLI process group is ended, and the task resumes its
 * conversation to COMPLETED; that MAX_TASK_ATTEMPTS bounds the retries; and that SIGTERM ends
 * the turn cleanly and leaves the task resumable.
 */

const ROOT = resolve(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'main.js');

interface FakeLogEntry {
  cwd: string;
  pid: number;
  argv: string[];
  turn: number;
  sessionId: string;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => ok(port));
    });
  });
}

describe('Crash recovery of the built server (SQLite, fake CLI)', () => {
  let work: string;
  let logFile: string;
  let database: string;
  const servers: ChildProcess[] = [];

  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
    work = mkdtempSync(join(tmpdir(), 'orch-crash-'));
    logFile = join(work, 'fake-claude.log');
    database = join(work, 'tasks.db');
  });

  afterAll(() => {
    for (const child of servers) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });

  const readLog = (): FakeLogEntry[] =>
    existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as FakeLogEntry)
      : [];

  /** Starts the built server on the test database; resolves with its base URL once healthy. */
  async function startServer(
    extraEnv: Record<string, string> = {},
  ): Promise<{ url: App; child: ChildProcess; exited: Promise<string> }> {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: work,
        NO_COLOR: '1',
        ALLOW_ROOT: 'true',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: `sqlite:///${database}`,
        ORCHESTRATOR_ENABLED: 'true',
        QUEUE_POLL_MS: '100',
        LEASE_SECONDS: '2',
        KILL_GRACE_SECONDS: '1',
        CLAUDE_CLI_COMMAND: FAKE_CLAUDE,
        CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
        FAKE_CLAUDE_STATE_DIR: join(work, 'fake-state'),
        FAKE_CLAUDE_LOG: logFile,
        ...extraEnv,
      },
    });
    servers.push(child);
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    /** `code N`, or `signal S` for a process killed by a signal. */
    const exited = new Promise<string>((ok) =>
      child.on('exit', (code, signal) => ok(signal ? `signal ${signal}` : `code ${code}`)),
    );
    const url = `http://127.0.0.1:${port}`;
    try {
      await eventually('the server to answer /health', async () => {
        if (child.exitCode !== null) throw new Error(`server exited early:\n${output}`);
        const res = await request(url)
          .get('/health')
          .catch(() => null);
        return res?.status === 200;
      });
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return { url: url as unknown as App, child, exited };
  }

  async function startTask(url: App, project: string, description: string): Promise<string> {
    const s = await request(url)
      .post('/api/v1/sessions')
      .send({ project_path: project })
      .expect(201);
    const t = await request(url)
      .post('/api/v1/tasks')
      .send({ session_id: s.body.id, description })
      .expect(201);
    return t.body.id as string;
  }

  /** Waits until the fake CLI of `project` hangs in its turn `turn`; returns its pid (= group). */
  async function hungAgent(project: string, turn: number): Promise<number> {
    let pid = 0;
    await eventually('the fake CLI to hang in its turn', () => {
      pid = readLog().find((e) => e.cwd === project && e.turn === turn)?.pid ?? 0;
      return pid > 0;
    });
    await new Promise((r) => setTimeout(r, 300));
    return pid;
  }

  it('SIGKILL mid-turn: the next server ends the orphaned agent, resumes the conversation and completes', async () => {
    const project = copyFixtureProject('node-basic', work, 'killed');
    const first = await startServer();
    const id = await startTask(
      first.url,
      project,
      `Add cube. ${fakeScript('hang', 'edit-files path=src/cube.js content="module.exports = (x) => x * x * x;"', 'write-tests lang=node result=pass')}`,
    );
    const orphan = await hungAgent(project, 1);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(isProcessGroupAlive(orphan)).toBe(true);

    const second = await startServer();
    const { final } = await waitForTerminal(second.url, id);
    expect(final.status).toBe('COMPLETED');
    expect(isProcessGroupAlive(orphan)).toBe(false);

    const details = await getDetails(second.url, id);
    expect(details.attempt).toBe(2);
    const changes = statusChanges(details.interactions).map((c) => `${c.to}:${c.reason}`);
    expect(changes).toEqual(
      expect.arrayContaining(['RUNNING:claimed', 'PENDING:server_restart', 'RUNNING:resumed']),
    );
    const resumePrompt = details.interactions.find(
      (i) => i.kind === 'prompt' && i.data?.source === 'resume',
    );
    expect(resumePrompt?.content).toMatch(/restarted/);
    const turns = readLog().filter((e) => e.cwd === project);
    expect(turns.map((e) => e.turn)).toEqual([1, 2, 3]);
    expect(new Set(turns.map((e) => e.sessionId)).size).toBe(1);
    expect(turns[1].argv.some((a) => a.startsWith('--resume'))).toBe(true);
    expect(readFileSync(join(project, 'src', 'cube.js'), 'utf8')).toContain('x * x * x');

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe('code 0');
  });

  it('SIGKILL during the test round: the next server runs the round again, without asking for tests', async () => {
    const project = copyFixtureProject('node-basic', work, 'killed-testing');
    // A test that hangs on its first run (leaving a marker with its pid) and passes afterwards.
    const slowTest = [
      "'use strict';",
      "const test = require('node:test');",
      "const fs = require('node:fs');",
      "const path = require('node:path');",
      "test('passes on its second run', async () => {",
      "  const marker = path.join(__dirname, '..', 'first-run.pid');",
      '  if (fs.existsSync(marker)) return;',
      '  fs.writeFileSync(marker, String(process.pid));',
      '  await new Promise(() => setInterval(() => {}, 1000));',
      '});',
      '',
    ].join('\n');
    const first = await startServer();
    const id = await startTask(
      first.url,
      project,
      `Add cube. ${fakeScript(
        'edit-files path=src/cube.js content="module.exports = (x) => x * x * x;"',
        `edit-files path=test/cube.test.js content=${quoted(slowTest)}`,
      )}`,
    );
    const marker = join(project, 'first-run.pid');
    await eventually('the first test run to hang', () => existsSync(marker));
    const hungTest = Number(readFileSync(marker, 'utf8'));
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startServer();
    const { final } = await waitForTerminal(second.url, id);
    expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'tests_passed' });
    const details = await getDetails(second.url, id);
    const changes = statusChanges(details.interactions).map((c) => `${c.to}:${c.reason}`);
    expect(changes).toEqual(
      expect.arrayContaining([
        'PENDING:server_restart',
        'RUNNING:resumed',
        'TESTING:tests_running',
      ]),
    );
    // No agent turn after the restart: the round ran again with the test file found before.
    expect(
      readLog()
        .filter((e) => e.cwd === project)
        .map((e) => e.turn),
    ).toEqual([1, 2]);
    expect(
      details.interactions.filter((i) => i.kind === 'simulated_human').map((i) => i.data?.reason),
    ).toEqual(['write_tests']);
    expect(details.test_cases.map((c) => [c.name, c.status])).toEqual([
      ['passes on its second run', 'passed'],
    ]);
    // The test command the dead server left running was ended by the new one.
    await eventually('the orphaned test run to be gone', () => !isProcessAlive(hungTest));
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe('code 0');
  });

  it('fails the task with server_restart once MAX_TASK_ATTEMPTS claims are used up', async () => {
    const project = copyFixtureProject('node-basic', work, 'exhausted');
    const first = await startServer({ MAX_TASK_ATTEMPTS: '1' });
    const id = await startTask(first.url, project, `Hang. ${fakeScript('hang')}`);
    const orphan = await hungAgent(project, 1);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startServer({ MAX_TASK_ATTEMPTS: '1' });
    const { final } = await waitForTerminal(second.url, id);
    expect(final.status).toBe('FAILED');
    expect(final.status_reason).toBe('server_restart');
    await eventually('the orphaned agent to be gone', () => !isProcessGroupAlive(orphan));
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe('code 0');
  });

  it('SIGTERM mid-turn ends the agent, leaves the task PENDING (shutdown) and a restart resumes it', async () => {
    const project = copyFixtureProject('node-basic', work, 'terminated');
    // A graceful shutdown is not a crash: with MAX_TASK_ATTEMPTS=1 the task still resumes.
    const first = await startServer({ MAX_TASK_ATTEMPTS: '1' });
    const id = await startTask(
      first.url,
      project,
      `Slow. ${fakeScript('hang signals=honor', 'success', 'write-tests lang=node result=pass')}`,
    );
    const agent = await hungAgent(project, 1);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe('code 0');
    expect(isProcessGroupAlive(agent)).toBe(false);

    const second = await startServer({ MAX_TASK_ATTEMPTS: '1' });
    const queued = await getStatus(second.url, id);
    expect(['PENDING', 'RUNNING', 'TESTING', 'COMPLETED']).toContain(queued.status);
    const { final } = await waitForTerminal(second.url, id);
    const details = await getDetails(second.url, id);
    expect(final.status).toBe('COMPLETED');
    const changes = statusChanges(details.interactions).map((c) => `${c.to}:${c.reason}`);
    expect(changes).toEqual(expect.arrayContaining(['PENDING:shutdown', 'RUNNING:resumed']));
    expect(
      details.interactions.some((i) => i.kind === 'system' && /shutting down/.test(i.content)),
    ).toBe(true);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe('code 0');
  });
});
