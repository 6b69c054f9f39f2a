import { Logger } from '@nestjs/common';
import { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { AppConfig } from 'src/config';
import { NO_ISOLATION } from 'src/process/child-isolation';
import { isProcessAlive, ProcessEvent, ProcessSpec, processStat } from 'src/process/process-group';
import { ProcessLauncher } from 'src/process/process-launcher';
import { machineMonotonicMs } from 'src/process/machine-clock';
import { sessionNiceOf } from 'src/process/session-nice';
import * as spawnHelper from 'src/process/spawn-helper';

/**
 * A directory of this file's own for its children: the process host ends the processes working
 * in a directory of its children when it closes, and other test files' children work under the
 * temp directory too.
 */
const workDir = realpathSync(mkdtempSync(join(tmpdir(), 'cta-launcher-spec-')));

/** `node -e script` in this file's directory, with nothing but PATH in its environment. */
const nodeScript = (script: string): ProcessSpec => ({
  command: process.execPath,
  args: ['-e', script],
  cwd: workDir,
  env: { PATH: process.env.PATH },
  killGraceMs: 1000,
  isolation: NO_ISOLATION,
});

/** A child's script that prints its process group and session (it runs in the child: no imports). */
const PRINT_GROUP = `
  const stat = require('fs').readFileSync('/proc/self/stat', 'utf8');
  const [pgrp, session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(2, 4);
  console.log(JSON.stringify({ pgrp: Number(pgrp), session: Number(session) }))`;

/** A child's script that starts a process in a session of its own (setsid) and prints its pid. */
const ESCAPING = [
  "const { spawn } = require('child_process');",
  "const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });",
  'console.log(g.pid);',
  'g.unref();',
].join('\n');

/** Resolves once `check` holds, asking every 10 ms. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

const stdoutOf = (events: ProcessEvent[]): string =>
  Buffer.concat(events.flatMap((e) => (e.type === 'stdout' ? [e.chunk] : []))).toString();

/** Ends process group `pgid` unless it is gone already. */
function endGroupIfThere(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

describe('ProcessLauncher', () => {
  const launcher = new ProcessLauncher();
  afterAll(async () => {
    await launcher.onModuleDestroy();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('delivers each run its own events, two at once through the one host channel', async () => {
    const run = (name: string) =>
      lastValueFrom(
        launcher.run(nodeScript(`process.stdout.write(${JSON.stringify(name)})`)).pipe(toArray()),
      );
    const [a, b] = await Promise.all([run('task-a'), run('task-b')]);
    expect(stdoutOf(a)).toBe('task-a');
    expect(stdoutOf(b)).toBe('task-b');
    expect(a.map((event) => event.type).at(-1)).toBe('exit');
    expect(b.map((event) => event.type).at(-1)).toBe('exit');
  });

  it('says so when no spawn helper was built, and not otherwise', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const missing = jest.spyOn(spawnHelper, 'spawnHelperPath').mockReturnValue(null);
    const without = new ProcessLauncher();
    const built = new ProcessLauncher();
    try {
      await lastValueFrom(without.run(nodeScript('')).pipe(toArray()));
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('spawn-helper is not built'));
      warn.mockClear();
      missing.mockRestore();
      await lastValueFrom(built.run(nodeScript('')).pipe(toArray()));
      expect(warn).not.toHaveBeenCalled();
    } finally {
      missing.mockRestore();
      warn.mockRestore();
      await without.onModuleDestroy();
      await built.onModuleDestroy();
    }
  });

  it.each([
    ['its own spawn helper', true],
    ['the process host', false],
  ])("marks the children started by %s with the server's pid", async (_by, helperBuilt) => {
    if (!helperBuilt) jest.spyOn(spawnHelper, 'spawnHelperPath').mockReturnValue(null);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const starter = new ProcessLauncher();
    try {
      const events = await lastValueFrom(
        starter.run(nodeScript('console.log(process.env.CTA_SERVER_PID)')).pipe(toArray()),
      );
      expect(stdoutOf(events)).toBe(`${process.pid}\n`);
    } finally {
      jest.restoreAllMocks();
      await starter.onModuleDestroy();
    }
  });

  it.each([
    ['its own spawn helper', true],
    ['the process host', false],
  ])(
    'starts children through %s CHILD_NICE steps nicer than the server, what they start too, and their session as well',
    async (_by, helperBuilt) => {
      const missing = helperBuilt
        ? null
        : jest.spyOn(spawnHelper, 'spawnHelperPath').mockReturnValue(null);
      const nicer = new ProcessLauncher({ CHILD_NICE: 7 } as AppConfig);
      const script = `
        const grandchild = require('child_process').execFileSync(process.execPath,
          ['-e', 'console.log(require("os").getPriority())']);
        console.log(JSON.stringify([require('os').getPriority(), Number(grandchild),
          (() => { try { return require('fs').readFileSync('/proc/self/autogroup', 'utf8'); }
            catch { return ''; } })()]));`;
      try {
        const events = await lastValueFrom(nicer.run(nodeScript(script)).pipe(toArray()));
        const expected = Math.min(19, getPriority() + 7);
        const [own, grandchild, autogroup] = JSON.parse(stdoutOf(events)) as [
          number,
          number,
          string,
        ];
        expect([own, grandchild]).toEqual([expected, expected]);
        // The child's session (the helper's or the host's) is a scheduling group that much nicer.
        if (existsSync('/proc/self/autogroup')) {
          expect(autogroup).toMatch(` nice ${Math.min(19, sessionNiceOf('self') + 7)}`);
        }
      } finally {
        missing?.mockRestore();
        await nicer.onModuleDestroy();
      }
    },
  );

  it("runs children in its spawn helper's session, apart from the server's, each leading its own process group", async () => {
    const run = () => lastValueFrom(launcher.run(nodeScript(PRINT_GROUP)).pipe(toArray()));
    const [first, second] = (await Promise.all([run(), run()])).map((events) => ({
      spawned: events.find((e) => e.type === 'spawned')!,
      ...(JSON.parse(stdoutOf(events)) as { pgrp: number; session: number }),
    }));
    const serverSession = processStat('self')!.session;
    for (const child of [first, second]) {
      expect(child.spawned).toEqual({ type: 'spawned', pid: child.pgrp });
      expect(child.session).not.toBe(serverSession);
      expect(child.session).not.toBe(child.pgrp);
    }
    expect(first.session).toBe(second.session);
    expect(first.pgrp).not.toBe(second.pgrp);
  });

  it.each([
    ['its own spawn helper', false],
    ['the process host (where the server has no spawn helper)', true],
  ])('ends the runs started by %s as killed by SIGKILL when it dies', async (_what, noHelper) => {
    const missing = noHelper
      ? jest.spyOn(spawnHelper, 'spawnHelperPath').mockReturnValue(null)
      : null;
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const dying = new ProcessLauncher();
    // The child's session is its starter's: the helper and the host each lead a session.
    const script = `${PRINT_GROUP}; setInterval(() => {}, 1000);`;
    let childGroup = 0;
    try {
      const events = await lastValueFrom(
        dying.run(nodeScript(script)).pipe(
          tap((event) => {
            if (event.type !== 'stdout') return;
            const child = JSON.parse(event.chunk.toString()) as { pgrp: number; session: number };
            childGroup = child.pgrp;
            process.kill(child.session, 'SIGKILL');
          }),
          toArray(),
        ),
      );
      expect(events.map((e) => e.type)).toEqual(['spawned', 'stdout', 'exit']);
      expect(events[2]).toEqual({ type: 'exit', code: null, signal: 'SIGKILL' });
    } finally {
      missing?.mockRestore();
      warn.mockRestore();
      // Should the child outlive its starter, it is this test's to end (it may be gone already).
      if (childGroup > 0) endGroupIfThere(childGroup);
      await dying.onModuleDestroy();
    }
  });

  /**
   * Starts `sleep 600` in a directory of its own (under `env -i` when `unmarked`: without the
   * directory marker), has `supervise` give that directory its deadlines once it runs, and
   * expects the host to end it (SIGINT).
   */
  async function expectHostToEndSleeper(
    unmarked: boolean,
    supervise: (launcher: ProcessLauncher, dir: string, exited: () => boolean) => Promise<void>,
  ): Promise<void> {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'cta-launcher-')));
    const supervised = new ProcessLauncher();
    try {
      const events: ProcessEvent[] = [];
      const command = unmarked
        ? { command: 'env', args: ['-i', 'sleep', '600'] }
        : { command: 'sleep', args: ['600'] };
      const done = lastValueFrom(
        supervised.run({ ...nodeScript(''), ...command, cwd: dir }).pipe(
          tap((event) => events.push(event)),
          toArray(),
        ),
      );
      await until(() => events.some((e) => e.type === 'spawned'));
      await supervise(supervised, dir, () => events.some((e) => e.type === 'exit'));
      const ended = await done;
      expect(ended[ended.length - 1]).toEqual({ type: 'exit', code: null, signal: 'SIGINT' });
    } finally {
      await supervised.onModuleDestroy();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it.each([
    ['the host it started with', (): Promise<void> => Promise.resolve()],
    [
      'a host forked again (the last one died)',
      async (launcher: ProcessLauncher, dir: string): Promise<void> => {
        launcher.supervise(dir, machineMonotonicMs() + 600_000, 200);
        const first = (launcher as unknown as { host: ChildProcess }).host;
        first.kill('SIGKILL');
        await once(first, 'exit');
        // The next command forks a new host: only it can end the sleeper now.
      },
    ],
  ])(
    "has %s end a child it started itself once the child's directory's deadline passed (told of its group, or finding it in the spawn helper's session)",
    (_host, beforeDeadline) =>
      // `env -i`: the sleeper carries no directory marker; only its group tells the host of it.
      expectHostToEndSleeper(true, async (launcher, dir) => {
        await beforeDeadline(launcher, dir);
        launcher.supervise(dir, machineMonotonicMs(), 200);
      }),
  );

  it('has a host forked again (the last one died) end, on release, a process that left the group of a child of the directory', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'cta-launcher-')));
    const released = new ProcessLauncher();
    let escaped = 0;
    try {
      released.supervise(dir, machineMonotonicMs() + 600_000, 200);
      const events = await lastValueFrom(
        released.run({ ...nodeScript(ESCAPING), cwd: dir }).pipe(toArray()),
      );
      escaped = Number(stdoutOf(events));
      expect(escaped).toBeGreaterThan(0);
      const first = (released as unknown as { host: ChildProcess }).host;
      first.kill('SIGKILL');
      await once(first, 'exit');
      expect(isProcessAlive(escaped)).toBe(true);
      released.release(dir);
      await until(() => !isProcessAlive(escaped));
    } finally {
      if (escaped > 0 && isProcessAlive(escaped)) process.kill(escaped, 'SIGKILL');
      await released.onModuleDestroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("has the host end a directory's child when a deadline to come is due, without further word, and not at one renewed before it came", () =>
    expectHostToEndSleeper(false, async (launcher, dir, exited) => {
      const firstDeadline = machineMonotonicMs() + 300;
      launcher.supervise(dir, firstDeadline, 200);
      launcher.supervise(dir, machineMonotonicMs() + 600_000, 200);
      // Past the first deadline (however late this looks): the renewal moved it.
      await until(() => machineMonotonicMs() > firstDeadline + 1000);
      expect(exited()).toBe(false);
      launcher.supervise(dir, machineMonotonicMs() + 500, 200);
    }));
});
