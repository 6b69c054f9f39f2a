import { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import type { App } from 'supertest/types';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive, isProcessGroupAlive, liveGroupMembers } from 'src/process/process-group';
import { processesMarkedWith } from 'src/process/server-processes';
import { currentProcess } from 'src/process/process-identity';
import { checkoutFingerprint, git, linkedWorktrees } from 'test/e2e/support/git-repos';
import {
  copyFixtureProject,
  fakeScript,
  getDetails,
  getStatus,
  quoted,
  statusChanges,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { eventually } from 'test/e2e/support/eventually';
import { ServerProcess, startTestServer, startTask } from 'test/e2e/support/server-process';

/**
 * Crash recovery with the BUILT server (`dist/src/main.js`, built by `npm test`'s pretest step) as
 * a real process on a real SQLite file: SIGKILL it while the agent (the fake CLI, hung and deaf
 * to SIGINT/SIGTERM) runs, start a new server on the same database, and check that the task is
 * taken back at once, the orphaned CLI process group is ended, and the task resumes its
 * conversation to COMPLETED in the same workspace (the user's checkout untouched throughout, one
 * workspace on disk, a repository lock left by the dead server taken over); that
 * MAX_TASK_ATTEMPTS bounds the retries; and that SIGTERM ends the turn cleanly and leaves the task
 * resumable.
 */

interface FakeLogEntry {
  cwd: string;
  pgid: number;
  argv: string[];
  turn: number;
  sessionId: string;
}

describe('Crash recovery of the built server (SQLite, fake CLI)', () => {
  let work: string;
  let logFile: string;
  let database: string;
  const servers: ChildProcess[] = [];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'orch-crash-'));
    logFile = join(work, 'fake-claude.log');
    database = join(work, 'tasks.db');
  });

  /** Processes a test's agent started outside its group, ended after the test whatever happened. */
  const strays: number[] = [];

  // A test that fails midway must not leave its server holding the database for the next one.
  afterEach(async () => {
    for (const pid of strays.splice(0)) {
      if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    const running = servers
      .splice(0)
      .filter((child) => child.exitCode === null && child.signalCode === null);
    await Promise.all(
      running.map(
        (child) =>
          new Promise((exited) => {
            child.once('exit', exited);
            child.kill('SIGKILL');
          }),
      ),
    );
  });

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const readLog = (): FakeLogEntry[] =>
    existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as FakeLogEntry)
      : [];

  /** Starts the built server on the test database. */
  async function startServer(extraEnv: Record<string, string> = {}): Promise<ServerProcess> {
    const server = await startTestServer(work, {
      DATABASE_URL: `sqlite:///${database}`,
      LEASE_SECONDS: '10',
      FAKE_CLAUDE_STATE_DIR: join(work, 'fake-state'),
      FAKE_CLAUDE_LOG: logFile,
      ...extraEnv,
    });
    servers.push(server.child);
    return server;
  }

  /** The workspace of task `id`, once it has one. */
  async function workspaceOf(url: App, id: string): Promise<string> {
    let workspace = '';
    await eventually('the task to have its workspace', async () => {
      workspace = (await getDetails(url, id)).workspace_path ?? '';
      return workspace !== '';
    });
    return workspace;
  }

  /**
   * SIGKILL of the server, its process host and its spawn helper, none of them able to end the
   * agent first: the helper is stopped before the others die (once its input ended it would).
   */
  function killEverything(server: ServerProcess): void {
    const helper = server.helperPid()!;
    process.kill(helper, 'SIGSTOP');
    process.kill(server.hostPid()!, 'SIGKILL');
    server.child.kill('SIGKILL');
    process.kill(helper, 'SIGKILL');
  }

  /** Waits until the fake CLI of task `id` hangs in its turn `turn`; returns its process group. */
  async function hungAgent(url: App, id: string, turn: number): Promise<number> {
    const workspace = await workspaceOf(url, id);
    let pgid = 0;
    await eventually('the fake CLI to hang in its turn', () => {
      pgid = readLog().find((e) => e.cwd === workspace && e.turn === turn)?.pgid ?? 0;
      return pgid > 0;
    });
    await new Promise((r) => setTimeout(r, 300));
    return pgid;
  }

  /** A task's last two records: kind, type or new status, and the commit a work record names. */
  const keptThenEnd = (
    interactions: { kind: string; data: Record<string, unknown> | null }[],
  ): unknown[][] =>
    interactions
      .slice(-2)
      .map((i) => [i.kind, i.data?.type ?? i.data?.to, i.data?.commit as string | undefined]);

  it('SIGKILL of the server and its spawn helper: its process host ends the agent at once', async () => {
    const project = copyFixtureProject('node-basic', work, 'host-ends');
    const first = await startServer();
    const id = await startTask(first.url, project, `Hang. ${fakeScript('hang')}`);
    const agent = await hungAgent(first.url, id, 1);
    const host = first.hostPid();
    expect(host).not.toBeNull();
    // The helper stopped first, so it cannot end the agent when its input ends.
    const helper = first.helperPid()!;
    process.kill(helper, 'SIGSTOP');
    first.child.kill('SIGKILL');
    await first.exited;
    process.kill(helper, 'SIGKILL');
    // The agent ignores SIGINT and SIGTERM: the host escalates to SIGKILL, then exits itself.
    await eventually('the process host to end the agent', () => !isProcessGroupAlive(agent));
    await eventually('the process host to exit', () => !isProcessAlive(host!));
  });

  it('SIGKILL of the server and its process host: its spawn helper ends the agent at once', async () => {
    const first = await startServer();
    const id = await startTask(
      first.url,
      copyFixtureProject('node-basic', work, 'host-killed'),
      `Hang. ${fakeScript('hang')}`,
    );
    const agent = await hungAgent(first.url, id, 1);
    const host = first.hostPid();
    process.kill(host!, 'SIGKILL');
    first.child.kill('SIGKILL');
    await first.exited;
    await eventually('the spawn helper to end the agent', () => !isProcessGroupAlive(agent));
  });

  it('SIGKILL of the server, its process host and its spawn helper mid-turn: the next server ends the orphaned agent (what left its group too), resumes the conversation in the same workspace and completes', async () => {
    const project = copyFixtureProject('node-basic', work, 'killed');
    const before = checkoutFingerprint(project);
    const first = await startServer();
    const id = await startTask(
      first.url,
      project,
      `Add cube. ${fakeScript('edit-files path=src/partial.js content="// started"', 'hang escape=yes', 'edit-files path=src/cube.js content="module.exports = (x) => x * x * x;"', 'write-tests lang=node result=pass')}`,
    );
    const orphan = await hungAgent(first.url, id, 2);
    // The agent's process that left its group: found by its marks (the workspace, the server).
    const workspace = await workspaceOf(first.url, id);
    let escaped: number[] = [];
    await eventually('the agent to start a process outside its group', () => {
      const inGroup = liveGroupMembers(orphan) ?? [];
      escaped = processesMarkedWith(workspace, first.child.pid!).filter(
        (pid) => !inGroup.includes(pid),
      );
      return escaped.length === 1;
    });
    strays.push(...escaped);
    // All of the server's processes, as `kill -9` of each (or the OOM killer) would, none in time
    // to end the agent: its spawn helper (stopped first: it would end the agent once the server is
    // gone), its process host and the server.
    killEverything(first);
    await first.exited;
    expect(isProcessGroupAlive(orphan)).toBe(true);
    expect(isProcessAlive(escaped[0])).toBe(true);
    // As if the server had died holding the repository's lock: the next one must not wait on it.
    const lock = join(project, '.git', 'cta-workspaces.lock');
    writeFileSync(
      lock,
      JSON.stringify({
        ...currentProcess(hostname()),
        pid: first.child.pid,
        startTime: null,
        token: 'dead',
      }),
    );

    const second = await startServer();
    const { final } = await waitForTerminal(second.url, id);
    expect(final.status).toBe('COMPLETED');
    expect(isProcessGroupAlive(orphan)).toBe(false);
    expect(isProcessAlive(escaped[0])).toBe(false);

    const details = await getDetails(second.url, id);
    expect(details.attempt).toBe(2);
    const changes = statusChanges(details.interactions).map((c) => `${c.to}:${c.reason}`);
    expect(changes).toEqual(
      expect.arrayContaining(['RUNNING:claimed', 'PENDING:server_restart', 'RUNNING:resumed']),
    );
    const resumePrompt = details.interactions.find(
      (i) => i.kind === 'prompt' && i.data?.source === 'resume',
    );
    expect(resumePrompt?.content).toMatch(/^Your work on this task was interrupted/);
    // Every turn, before and after the crash, ran in the one workspace of the task.
    expect(details.workspace_path).toBe(workspace);
    const turns = readLog().filter((e) => e.cwd === workspace);
    expect(turns.map((e) => e.turn)).toEqual([1, 2, 3, 4]);
    expect(new Set(turns.map((e) => e.sessionId)).size).toBe(1);
    expect(turns[2].argv.some((a) => a.startsWith('--resume'))).toBe(true);
    expect(readFileSync(join(workspace, 'src', 'cube.js'), 'utf8')).toContain('x * x * x');
    // The work of both servers is the task's commit; nothing of it reached the user's checkout.
    expect(git(project, 'show', `${details.head_commit}:src/partial.js`)).toBe('// started');
    expect(git(project, 'show', `${details.head_commit}:src/cube.js`)).toContain('x * x * x');
    expect(checkoutFingerprint(project)).toEqual(before);
    expect(linkedWorktrees(project)).toEqual([workspace]);
    // (Beside the workspace of the earlier test's task, which this test leaves alone.)
    expect(readdirSync(join(work, 'data', 'workspaces'))).toContain(id);
    expect(existsSync(lock)).toBe(false);

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
    const marker = join(await workspaceOf(first.url, id), 'first-run.pid');
    await eventually('the first test run to hang', () => existsSync(marker));
    const hungTest = Number(readFileSync(marker, 'utf8'));
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startServer();
    const { final } = await waitForTerminal(second.url, id);
    expect(final).toMatchObject({
      status: 'COMPLETED',
      status_reason: 'verified_without_failing_tests',
    });
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
        .filter((e) => e.cwd === details.workspace_path)
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

  it('a row damaged while the server was down (JSON that does not parse) neither stops the next server nor hides the task', async () => {
    const project = copyFixtureProject('node-basic', work, 'damaged-row');
    const first = await startServer();
    const id = await startTask(first.url, project, `Hang. ${fakeScript('hang signals=honor')}`);
    await hungAgent(first.url, id, 1);
    first.child.kill('SIGKILL');
    await first.exited;
    const db = new Database(database);
    try {
      db.prepare(`UPDATE tasks SET test_files = '["tes' WHERE id = ?`).run(id);
      db.prepare(
        `UPDATE claude_interactions SET data = '{"from":"PEND' WHERE task_id = ? AND kind = 'status'`,
      ).run(id);
    } finally {
      db.close();
    }

    const second = await startServer();
    await eventually('the task to be taken back', async () =>
      statusChanges((await getDetails(second.url, id)).interactions).some(
        (c) => c.reason === 'server_restart',
      ),
    );
    const details = await getDetails(second.url, id);
    expect(details.interactions.find((i) => i.kind === 'status')?.data).toEqual({
      unreadable: '{"from":"PEND',
    });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe('code 0');
  });

  it('fails the task with server_restart once MAX_TASK_ATTEMPTS claims are used up', async () => {
    const project = copyFixtureProject('node-basic', work, 'exhausted');
    const first = await startServer({ MAX_TASK_ATTEMPTS: '1' });
    const id = await startTask(
      first.url,
      project,
      `Hang. ${fakeScript('edit-files path=a.txt content=hello', 'hang')}`,
    );
    const orphan = await hungAgent(first.url, id, 2);
    killEverything(first);
    await first.exited;

    const second = await startServer({ MAX_TASK_ATTEMPTS: '1' });
    const { final } = await waitForTerminal(second.url, id);
    expect(final.status).toBe('FAILED');
    expect(final.status_reason).toBe('server_restart');
    await eventually('the orphaned agent to be gone', () => !isProcessGroupAlive(orphan));
    // Failed by the sweep, without its run: its branch still records where its work stands.
    const failed = await getDetails(second.url, id);
    expect(failed.head_commit).not.toBeNull();
    expect(git(project, 'rev-parse', failed.branch!).trim()).toBe(failed.head_commit);
    expect(git(project, 'show', `${failed.head_commit}:a.txt`)).toBe('hello');
    // The work kept is said before the end, so a stream of the task (which ends with it) has it.
    expect(keptThenEnd(failed.interactions)).toEqual([
      ['system', 'work_kept', failed.head_commit],
      ['status', 'FAILED', undefined],
    ]);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe('code 0');
  });

  it('a task re-queued by a shutdown while its cancel was asked for is cancelled by the queue, its work kept before its end', async () => {
    const project = copyFixtureProject('node-basic', work, 'flagged');
    const first = await startServer();
    const id = await startTask(
      first.url,
      project,
      `Edit, then hang. ${fakeScript('edit-files path=a.txt content=hello', 'hang signals=honor')}`,
    );
    await hungAgent(first.url, id, 2);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe('code 0');
    // The cancel reached the row while the stopping server was putting the task back.
    const db = new Database(database);
    try {
      db.prepare('UPDATE tasks SET cancel_requested = 1 WHERE id = ?').run(id);
    } finally {
      db.close();
    }

    const second = await startServer();
    const { final } = await waitForTerminal(second.url, id);
    expect(final.status).toBe('CANCELLED');
    const details = await getDetails(second.url, id);
    expect(git(project, 'show', `${details.head_commit}:a.txt`)).toBe('hello');
    expect(keptThenEnd(details.interactions)).toEqual([
      ['system', 'work_kept', details.head_commit],
      ['status', 'CANCELLED', undefined],
    ]);
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
    const agent = await hungAgent(first.url, id, 1);
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
