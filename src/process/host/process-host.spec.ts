import { ChildProcess, spawn as nodeSpawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostCommand, HostEvent } from 'src/process/host/host-protocol';
import {
  ESCAPE_LOOK_DELAY_MS,
  ProcessHost,
  ProcessHostOptions,
} from 'src/process/host/process-host';
import { NO_ISOLATION } from 'src/process/child-isolation';
import { findGroupLeader } from 'src/process/group-leader';
import { isProcessAlive, processStat } from 'src/process/process-group';
import { SpawnHelper, spawnHelperPath } from 'src/process/spawn-helper';
import { machineMonotonicMs } from 'src/process/machine-clock';

/**
 * The process host with real child processes: it forwards what they print, marks them with their
 * directory, and ends them (escaped ones included) when their directory's deadline passes or the
 * server goes away, without anyone asking.
 */

const env = { PATH: process.env.PATH ?? '' };

async function eventually(check: () => boolean, what: string): Promise<void> {
  const giveUpAt = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('ProcessHost', () => {
  let dir: string;
  let events: HostEvent[];
  let host: ProcessHost;
  let now: number;

  const spawn = (
    id: number,
    script: string,
    cwd = dir,
    killGraceMs = 200,
    through: ProcessHost = host,
  ): void =>
    through.handle({
      type: 'spawn',
      id,
      command: process.execPath,
      args: ['-e', script],
      cwd,
      env,
      killGraceMs,
      isolation: NO_ISOLATION,
    } satisfies HostCommand);
  const of = (id: number): HostEvent[] => events.filter((e) => 'id' in e && e.id === id);
  const output = (id: number): string =>
    of(id)
      .flatMap((e) => (e.type === 'stdout' ? [Buffer.from(e.chunk).toString()] : []))
      .join('');
  const pidOf = (id: number): number => {
    const spawned = of(id).find((e) => e.type === 'spawned');
    return spawned?.type === 'spawned' ? spawned.pid : 0;
  };
  const ended = (id: number): boolean => of(id).some((e) => e.type === 'end');

  /** A host that records its events (each handed over at once) and runs on the test's clock. */
  const recordingHost = (options: ProcessHostOptions = {}): ProcessHost =>
    new ProcessHost(
      (event, sent) => {
        events.push(event);
        sent();
      },
      { now: () => now, ...options },
    );
  /** Runs `test` with a host that starts its children through a spawn helper of its own. */
  const withHelperHost = async (
    test: (viaHelper: ProcessHost, helper: SpawnHelper) => Promise<void>,
  ): Promise<void> => {
    const helper = new SpawnHelper(spawnHelperPath()!, { ownSession: true, nice: 0 });
    const viaHelper = recordingHost({ spawnHelper: helper });
    try {
      await test(viaHelper, helper);
    } finally {
      await viaHelper.shutdown(200);
      helper.stop();
    }
  };

  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'cta-host-')));
    events = [];
    now = Date.now();
    host = recordingHost();
  });
  /** Processes a test started that the host must not end: ended after the test. */
  const strays: ChildProcess[] = [];
  /** Directories a test made beside `dir`: removed after it. */
  const extraDirs: string[] = [];
  afterEach(async () => {
    await host.shutdown(200);
    for (const stray of strays.splice(0)) stray.kill('SIGKILL');
    for (const extra of [dir, ...extraDirs.splice(0)])
      rmSync(extra, { recursive: true, force: true });
  });

  it("runs a child, forwards its output and exit, and marks it with its directory and the server's pid", async () => {
    spawn(1, 'console.log(process.env.CTA_WORK_DIR, process.env.CTA_SERVER_PID); process.exit(3)');
    await eventually(() => ended(1), 'the child to end');
    expect(output(1)).toBe(`${dir} ${process.pid}\n`);
    expect(of(1).map((e) => e.type)).toEqual(['spawned', 'stdout', 'exit', 'end']);
    expect(of(1).find((e) => e.type === 'exit')).toMatchObject({ code: 3, signal: null });
  });

  it('reports a command that cannot start', async () => {
    host.handle({
      type: 'spawn',
      id: 2,
      command: '/no/such/program',
      args: [],
      cwd: dir,
      env,
      killGraceMs: 200,
      isolation: NO_ISOLATION,
    });
    await eventually(() => ended(2), 'the spawn to end');
    expect(of(2)[0]).toMatchObject({ type: 'spawn_error', code: 'ENOENT' });
  });

  it('ends a child when asked to stop it', async () => {
    spawn(3, "console.log('up'); setInterval(() => {}, 1000)");
    await eventually(() => output(3) === 'up\n', 'the child to start');
    host.handle({ type: 'stop', id: 3 });
    await eventually(() => !isProcessAlive(pidOf(3)), 'the child to be gone');
    expect(ended(3)).toBe(true);
  });

  it('ends, when the server goes away, a child it was still stopping that ignores SIGINT and SIGTERM', async () => {
    // Its stop takes two grace periods of a minute: the host does not wait for them to end it.
    spawn(
      6,
      "process.on('SIGINT', () => {}); process.on('SIGTERM', () => {}); console.log('deaf'); setInterval(() => {}, 1000)",
      dir,
      60_000,
    );
    await eventually(() => output(6) === 'deaf\n', 'the child to ignore the stop signals');
    host.handle({ type: 'stop', id: 6 });
    expect(isProcessAlive(pidOf(6))).toBe(true);
    await host.shutdown(200);
    expect(isProcessAlive(pidOf(6))).toBe(false);
  });

  it('names when it has something to do next: the earliest deadline, or the look for escaped processes after a release', () => {
    expect(host.nextDueMs()).toBeNull();
    host.handle({ type: 'supervise', dir: '/a', killAtMs: now + 5000, killGraceMs: 200 });
    host.handle({ type: 'supervise', dir: '/b', killAtMs: now + 4000, killGraceMs: 200 });
    expect(host.nextDueMs()).toBe(now + 4000);
    // Renewed: the other directory's deadline comes first now.
    host.handle({ type: 'supervise', dir: '/b', killAtMs: now + 6000, killGraceMs: 200 });
    expect(host.nextDueMs()).toBe(now + 5000);
    host.handle({ type: 'release', dir: '/a' });
    expect(host.nextDueMs()).toBe(now + ESCAPE_LOOK_DELAY_MS);
    // A later release shares the look already due.
    now += 1000;
    host.handle({ type: 'release', dir: '/b' });
    expect(host.nextDueMs()).toBe(now - 1000 + ESCAPE_LOOK_DELAY_MS);
  });

  it('looks for escaped processes again once a stop can be over (two kill graces), then has nothing to do', async () => {
    host.handle({ type: 'supervise', dir, killAtMs: now + 60_000, killGraceMs: 3000 });
    host.handle({ type: 'release', dir });
    await host.endEscaped();
    expect(host.nextDueMs()).toBe(now + ESCAPE_LOOK_DELAY_MS);
    now += ESCAPE_LOOK_DELAY_MS;
    await host.endEscaped();
    expect(host.nextDueMs()).toBe(now + 2 * 3000);
    now += 2 * 3000;
    await host.endEscaped();
    expect(host.nextDueMs()).toBeNull();
  });

  it('shares looks between directories released one after the other, at least ESCAPE_LOOK_DELAY_MS apart', async () => {
    const start = now;
    for (const d of ['/a', '/b', '/c']) {
      host.handle({ type: 'supervise', dir: d, killAtMs: now + 60_000, killGraceMs: 3000 });
      host.handle({ type: 'release', dir: d });
      now += 500;
    }
    const looks: number[] = [];
    while (host.nextDueMs() !== null) {
      now = host.nextDueMs()!;
      looks.push(now - start);
      await host.endEscaped();
    }
    // The first look for all three; /a's last look; then one for the last looks of /b and /c.
    expect(looks).toEqual([
      ESCAPE_LOOK_DELAY_MS,
      ESCAPE_LOOK_DELAY_MS + 2 * 3000,
      2 * ESCAPE_LOOK_DELAY_MS + 2 * 3000,
    ]);
  });

  /** Starts, through the host as spawn `id` in `cwd`, a child that starts a process in a session of its own (setsid) and prints its pid. */
  const spawnEscaping = async (id: number, cwd: string): Promise<number> => {
    spawn(
      id,
      [
        "const { spawn } = require('child_process');",
        "const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });",
        'console.log(g.pid);',
        'setInterval(() => {}, 1000);',
      ].join('\n'),
      cwd,
    );
    await eventually(() => /^\d+\n$/.test(output(id)), `spawn ${id}'s process to start`);
    return Number(output(id));
  };

  /**
   * A process in a session of its own marked as a child of server `serverPid` working in `cwd`,
   * started by the test (not by the host); killed after it.
   */
  const markedStray = (cwd: string, serverPid: number): ChildProcess => {
    const stray = nodeSpawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      cwd,
      detached: true,
      stdio: 'ignore',
      env: { CTA_WORK_DIR: cwd, CTA_SERVER_PID: String(serverPid) },
    });
    strays.push(stray);
    return stray;
  };

  it('ends, at the last look after a release, a process that escaped after the first', async () => {
    host.handle({ type: 'supervise', dir, killAtMs: now + 60_000, killGraceMs: 200 });
    host.handle({ type: 'release', dir });
    now += ESCAPE_LOOK_DELAY_MS;
    await host.endEscaped();
    // Started by a script that its run's stop has not ended yet.
    const late = markedStray(dir, process.pid);
    await eventually(() => processStat(late.pid!)?.session === late.pid, 'its setsid');
    now += ESCAPE_LOOK_DELAY_MS;
    await host.endEscaped();
    expect(isProcessAlive(late.pid!)).toBe(false);
    expect(events.filter((e) => e.type === 'escaped')).toEqual([
      { type: 'escaped', dir, pids: [late.pid] },
    ]);
  });

  it("ends, after a release, the processes that escaped from the directory; not the server's running children, nor a directory supervised again, nor another server's", async () => {
    const escaped = await spawnEscaping(1, dir);
    // Marked with the same directory by another server (its pid): not this host's to end.
    const othersChild = markedStray(dir, process.ppid);
    // Released, then claimed by another task at once: its escaped process is left to that
    // task's release.
    const again = `${dir}-again`;
    mkdirSync(again);
    extraDirs.push(again);
    const stays = await spawnEscaping(2, again);

    for (const d of [dir, again]) {
      host.handle({ type: 'supervise', dir: d, killAtMs: now + 60_000, killGraceMs: 200 });
      host.handle({ type: 'release', dir: d });
    }
    host.handle({ type: 'supervise', dir: again, killAtMs: now + 60_000, killGraceMs: 200 });
    now += ESCAPE_LOOK_DELAY_MS - 1;
    await host.endEscaped();
    expect(isProcessAlive(escaped)).toBe(true);

    now += 1;
    await host.endEscaped();
    expect(isProcessAlive(escaped)).toBe(false);
    expect(events.filter((e) => e.type === 'escaped')).toEqual([
      { type: 'escaped', dir, pids: [escaped] },
    ]);
    // The children the host runs are in the server's sessions: still running.
    expect(isProcessAlive(pidOf(1))).toBe(true);
    expect(isProcessAlive(pidOf(2))).toBe(true);
    expect(isProcessAlive(stays)).toBe(true);
    expect(isProcessAlive(othersChild.pid!)).toBe(true);

    host.handle({ type: 'release', dir: again });
    await host.shutdown(200);
    expect(isProcessAlive(stays)).toBe(false);
  });

  it('ends on request, while the directory stays supervised, the processes that escaped from it (before a test round), and answers with them', async () => {
    const escaped = await spawnEscaping(1, dir);
    const othersChild = markedStray(dir, process.ppid);
    host.handle({ type: 'supervise', dir, killAtMs: now + 60_000, killGraceMs: 200 });
    host.handle({ type: 'end_escaped', request: 41, dir, killGraceMs: 200 });
    await eventually(
      () => events.some((e) => e.type === 'escaped_now'),
      'the answer to the request',
    );
    expect(events.filter((e) => e.type === 'escaped_now')).toEqual([
      { type: 'escaped_now', request: 41, pids: [escaped] },
    ]);
    expect(isProcessAlive(escaped)).toBe(false);
    // The host's running child and another server's process stay; the deadline too.
    expect(isProcessAlive(pidOf(1))).toBe(true);
    expect(isProcessAlive(othersChild.pid!)).toBe(true);
    expect(host.nextDueMs()).toBe(now + 60_000);
    await host.shutdown(200);
  });

  it('ends on request the escaped processes of a directory inside a supervised one, and spares those of a supervised directory inside it', async () => {
    const inner = join(dir, 'inner');
    mkdirSync(inner);
    const outerStray = markedStray(dir, process.pid);
    const innerStray = markedStray(inner, process.pid);
    for (const stray of [outerStray, innerStray]) {
      await eventually(() => processStat(stray.pid!)?.session === stray.pid, 'its setsid');
    }
    for (const d of [dir, inner]) {
      host.handle({ type: 'supervise', dir: d, killAtMs: now + 60_000, killGraceMs: 200 });
    }
    host.handle({ type: 'end_escaped', request: 1, dir, killGraceMs: 200 });
    await eventually(() => events.some((e) => e.type === 'escaped_now'), 'the first answer');
    expect(isProcessAlive(outerStray.pid!)).toBe(false);
    expect(isProcessAlive(innerStray.pid!)).toBe(true);
    host.handle({ type: 'end_escaped', request: 2, dir: inner, killGraceMs: 200 });
    await eventually(
      () => events.filter((e) => e.type === 'escaped_now').length === 2,
      'the second answer',
    );
    expect(events.filter((e) => e.type === 'escaped_now')).toEqual([
      { type: 'escaped_now', request: 1, pids: [outerStray.pid] },
      { type: 'escaped_now', request: 2, pids: [innerStray.pid] },
    ]);
    await host.shutdown(200);
  });

  it("leaves a child in a spawn helper's session after a release, and ends a marked process whose parent is the server (an orphan where the server is PID 1)", async () => {
    await withHelperHost(async (viaHelper) => {
      spawn(7, 'setInterval(() => {}, 1000)', dir, 200, viaHelper);
      await eventually(() => pidOf(7) > 0, 'the child to start');
      expect(processStat(pidOf(7))?.session).not.toBe(processStat('self')?.session);
      // Marked by this server, in a session of its own, its parent the server.
      const orphan = markedStray(dir, process.pid);
      await eventually(() => processStat(orphan.pid!)?.session === orphan.pid, 'its setsid');

      viaHelper.handle({ type: 'supervise', dir, killAtMs: now + 60_000, killGraceMs: 200 });
      viaHelper.handle({ type: 'release', dir });
      now += ESCAPE_LOOK_DELAY_MS;
      await viaHelper.endEscaped();
      expect(isProcessAlive(pidOf(7))).toBe(true);
      expect(isProcessAlive(orphan.pid!)).toBe(false);
      expect(events.filter((e) => e.type === 'escaped')).toEqual([
        { type: 'escaped', dir, pids: [orphan.pid] },
      ]);
    });
  });

  /**
   * Starts, through `through` as spawn `id` in `dir`, a shell that runs a job in a process group
   * of its own in the shell's session (`set -m`: job control, setpgid) and exits; the job's pid.
   */
  const spawnJob = async (through: ProcessHost, id: number): Promise<number> => {
    through.handle({
      type: 'spawn',
      id,
      command: 'bash',
      args: ['-c', 'set -m; sleep 600 & echo $!'],
      cwd: dir,
      env,
      killGraceMs: 200,
      isolation: NO_ISOLATION,
    });
    await eventually(() => ended(id), `spawn ${id}'s shell to end`);
    const job = Number(output(id));
    expect(processStat(job)?.pgrp).toBe(job);
    return job;
  };

  it("ends, after a release, a process that left its group for another in a spawn helper's session; not what the helper's running children run, until they are gone", async () => {
    await withHelperHost(async (viaHelper, helper) => {
      const job = await spawnJob(viaHelper, 8);
      const helperSession = processStat(job)!.session;
      // A child of the helper that the host was not told of (the server's own, `local-children.ts`),
      // running a job of its own under job control (a hook of a `git` call, say).
      const running = helper.spawn(
        '/bin/bash',
        'bash',
        ['-c', 'set -m; sleep 600 & echo $!; wait'],
        {
          cwd: dir,
          env: { ...env, CTA_WORK_DIR: dir, CTA_SERVER_PID: String(process.pid) },
          detached: false,
          newGroup: true,
        },
      );
      let printed = '';
      running.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
      await eventually(() => /^\d+\n$/.test(printed), "the running child's job to start");
      const runningJob = Number(printed);
      expect(processStat(runningJob)).toMatchObject({ pgrp: runningJob, session: helperSession });

      viaHelper.handle({ type: 'supervise', dir, killAtMs: now + 60_000, killGraceMs: 200 });
      viaHelper.handle({ type: 'release', dir });
      now += ESCAPE_LOOK_DELAY_MS;
      await viaHelper.endEscaped();
      expect(isProcessAlive(job)).toBe(false);
      expect(isProcessAlive(running.pid!)).toBe(true);
      expect(isProcessAlive(runningJob)).toBe(true);
      expect(events.filter((e) => e.type === 'escaped')).toEqual([
        { type: 'escaped', dir, pids: [job] },
      ]);

      // The child's group ended, its job is left to init: the last look ends it.
      process.kill(-running.pid!, 'SIGKILL');
      await eventually(
        () => processStat(runningJob)?.ppid !== running.pid,
        'the job to be orphaned',
      );
      now += ESCAPE_LOOK_DELAY_MS;
      await viaHelper.endEscaped();
      expect(isProcessAlive(runningJob)).toBe(false);
    });
  });

  it("ends, after a release, a process that left its group for another in the host's own session (children under GNU timeout); not the host's running children", async () => {
    const leader = findGroupLeader(process.env.PATH);
    expect(leader).not.toBeNull();
    const underTimeout = recordingHost({ groupLeader: leader });
    try {
      const job = await spawnJob(underTimeout, 9);
      expect(processStat(job)?.session).toBe(processStat('self')?.session);
      spawn(10, 'setInterval(() => {}, 1000)', dir, 200, underTimeout);
      await eventually(() => pidOf(10) > 0, 'the running child to start');

      underTimeout.handle({ type: 'supervise', dir, killAtMs: now + 60_000, killGraceMs: 200 });
      underTimeout.handle({ type: 'release', dir });
      now += ESCAPE_LOOK_DELAY_MS;
      await underTimeout.endEscaped();
      expect(isProcessAlive(job)).toBe(false);
      expect(isProcessAlive(pidOf(10))).toBe(true);
      expect(events.filter((e) => e.type === 'escaped')).toEqual([
        { type: 'escaped', dir, pids: [job] },
      ]);
    } finally {
      await underTimeout.shutdown(200);
    }
  });

  it("ends the processes in and under a directory whose deadline passed, those that left their group too, not another server's", async () => {
    // The child works in a subdirectory (a project inside a worktree) and starts a grandchild in
    // a session of its own (setsid): outside the child's group.
    const app = join(dir, 'app');
    mkdirSync(app);
    const escaped = await spawnEscaping(4, app);
    // Marked with the same directory by another server (its pid): not this host's to end.
    const othersChild = markedStray(app, process.ppid);
    // A directory whose name merely starts with the supervised one's is another directory.
    const other = `${dir}-other`;
    mkdirSync(other);
    extraDirs.push(other);
    spawn(5, 'setInterval(() => {}, 1000)', other);
    await eventually(() => pidOf(5) > 0, 'the other child to start');

    host.handle({ type: 'supervise', dir, killAtMs: now + 60_000, killGraceMs: 200 });
    host.handle({ type: 'supervise', dir: other, killAtMs: now + 60_000, killGraceMs: 200 });
    await host.enforceDeadlines();
    expect(isProcessAlive(pidOf(4))).toBe(true);

    now += 60_000;
    host.handle({ type: 'supervise', dir: other, killAtMs: now + 60_000, killGraceMs: 200 });
    await host.enforceDeadlines();
    expect(isProcessAlive(pidOf(4))).toBe(false);
    expect(isProcessAlive(escaped)).toBe(false);
    expect(isProcessAlive(othersChild.pid!)).toBe(true);
    expect(events.find((e) => e.type === 'expired')).toEqual({
      type: 'expired',
      dir,
      pids: expect.arrayContaining([pidOf(4), escaped]),
    });
    // The renewed directory keeps its process.
    expect(isProcessAlive(pidOf(5))).toBe(true);
    host.handle({ type: 'release', dir: other });
    now += 120_000;
    await host.enforceDeadlines();
    expect(isProcessAlive(pidOf(5))).toBe(true);
    await host.shutdown(200);
    expect(isProcessAlive(pidOf(5))).toBe(false);
  });

  it('ends an adopted group (one it did not start, unmarked) with its directory, and forgets it once its leader is gone', async () => {
    const started = () =>
      nodeSpawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
        cwd: dir,
        detached: true,
        stdio: 'ignore',
        env: {},
      });
    const adopted = started();
    const gone = started();
    host.handle({ type: 'adopt', pgid: adopted.pid!, dir });
    host.handle({ type: 'adopt', pgid: gone.pid!, dir });
    process.kill(-gone.pid!, 'SIGKILL');
    await eventually(() => !isProcessAlive(gone.pid!), 'the second group to be gone');
    host.forgetStopped();

    host.handle({ type: 'supervise', dir, killAtMs: now - 1, killGraceMs: 200 });
    await host.enforceDeadlines();
    expect(isProcessAlive(adopted.pid!)).toBe(false);
    expect(events.find((e) => e.type === 'expired')).toEqual({
      type: 'expired',
      dir,
      pids: [adopted.pid],
    });
  });

  it("keeps its deadlines on the machine's monotonic clock: the wall clock stepped an hour ahead ends nothing", async () => {
    const onMachine = recordingHost({ now: undefined });
    try {
      spawn(1, 'setInterval(() => {}, 1000)', dir, 200, onMachine);
      await eventually(() => pidOf(1) !== 0, 'the child to start');
      const killAtMs = machineMonotonicMs() + 60_000;
      onMachine.handle({ type: 'supervise', dir, killAtMs, killGraceMs: 200 });
      const wall = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 3_600_000);
      try {
        await onMachine.enforceDeadlines();
      } finally {
        wall.mockRestore();
      }
      expect(events.some((e) => e.type === 'expired')).toBe(false);
      expect(isProcessAlive(pidOf(1))).toBe(true);
      // Its deadline passed on that clock: ended.
      onMachine.handle({
        type: 'supervise',
        dir,
        killAtMs: machineMonotonicMs() - 1,
        killGraceMs: 200,
      });
      await onMachine.enforceDeadlines();
      expect(events.find((e) => e.type === 'expired')).toMatchObject({ type: 'expired', dir });
      await eventually(() => ended(1), 'the child to be ended');
    } finally {
      await onMachine.shutdown(200);
    }
  });

  it('ends adopted groups when the server goes away, and not the directory of one that is gone', async () => {
    const sleeper = (env: NodeJS.ProcessEnv = {}) =>
      nodeSpawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
        cwd: dir,
        detached: true,
        stdio: 'ignore',
        env,
      });
    const adopted = sleeper();
    host.handle({ type: 'adopt', pgid: adopted.pid!, dir });
    await host.shutdown(200);
    expect(isProcessAlive(adopted.pid!)).toBe(false);

    // Its directory is someone else's now: a process marked with it that the host never knew.
    const other = sleeper({ CTA_WORK_DIR: dir, CTA_SERVER_PID: String(process.pid) });
    try {
      await host.shutdown(200);
      expect(isProcessAlive(other.pid!)).toBe(true);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('pauses children while their output waits to be handed over, and goes on once it is', async () => {
    const pending: (() => void)[] = [];
    host = new ProcessHost((event, sent) => {
      events.push(event);
      pending.push(sent);
    });
    // 32 MiB in 64 KiB writes: far more than the host lets wait unsent.
    spawn(
      6,
      'const b = Buffer.alloc(65536, 120); for (let i = 0; i < 512; i++) process.stdout.write(b);',
    );
    await eventually(() => pending.length > 0, 'output to arrive');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const waiting = events.filter((e) => e.type === 'stdout').length;
    const bytes = events
      .filter((e) => e.type === 'stdout')
      .reduce((sum, e) => sum + (e.type === 'stdout' ? e.chunk.length : 0), 0);
    expect(bytes).toBeLessThan(16 * 1024 * 1024);
    expect(ended(6)).toBe(false);
    while (!ended(6)) {
      pending.splice(0).forEach((sent) => sent());
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const total = events
      .filter((e) => e.type === 'stdout')
      .reduce((sum, e) => sum + (e.type === 'stdout' ? e.chunk.length : 0), 0);
    expect(total).toBe(512 * 65536);
    expect(waiting).toBeGreaterThan(0);
  });
});
