import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive, isProcessGroupAlive, processStat } from 'src/process/process-group';
import { helperGroupsWorkingIn } from 'src/process/server-processes';
import { goneGroups } from 'src/process/gone-groups';
import { HelperChild, SpawnHelper, spawnHelperPath } from 'src/process/spawn-helper';

const SH = '/bin/sh';

/** What the child wrote to stdout and stderr, and how it ended, once it closed. */
async function outcome(child: HelperChild): Promise<{
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { stdout, stderr, code, signal };
}

/** Resolves once `check` holds, asking every 10 ms. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('SpawnHelper (native/spawn-helper.c, built by npm ci)', () => {
  const path = spawnHelperPath();
  let helper: SpawnHelper;
  let dir: string;

  beforeAll(() => {
    expect(path).not.toBeNull();
  });

  beforeEach(() => {
    helper = new SpawnHelper(path!);
    dir = mkdtempSync(join(tmpdir(), 'spawn-helper-'));
  });

  afterEach(() => {
    helper.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `script` run by sh in `dir`, leading a new session, with an empty environment. */
  const shell = (script: string): HelperChild =>
    helper.spawn(SH, 'sh', ['-c', script], { cwd: dir, env: {}, detached: true });

  /**
   * A child that starts `sleep 30` in the background (holding its pipes), then does `then`;
   * resolves once it printed the sleeper's pid.
   */
  async function withSleeper(then = 'wait'): Promise<{ child: HelperChild; sleeper: number }> {
    const child = shell(`sleep 30 & echo $!; ${then}`);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.resume();
    await until(() => stdout.endsWith('\n'));
    return { child, sleeper: Number(stdout.trim()) };
  }

  it('runs the command in cwd with exactly the given environment, stdin empty, and reports its output and exit', async () => {
    const child = helper.spawn(
      SH,
      'sh',
      ['-c', 'pwd; env | sort; cat; echo oops >&2; exit 7', 'ignored-arg0'],
      { cwd: dir, env: { ONLY: 'this', OTHER: undefined }, detached: true },
    );
    const spawned = once(child, 'spawn');
    const result = await outcome(child);
    await spawned;
    expect(result).toEqual({
      stdout: `${dir}\nONLY=this\nPWD=${dir}\n`,
      stderr: 'oops\n',
      code: 7,
      signal: null,
    });
    expect(child.exitCode).toBe(7);
    expect(child.pid).toEqual(expect.any(Number));
  });

  it('gives the child the argv[0] it was asked for, not the path it runs', async () => {
    const child = helper.spawn(SH, 'the-shell', ['-c', 'cat /proc/$$/cmdline'], {
      cwd: dir,
      env: {},
      detached: true,
    });
    expect((await outcome(child)).stdout.split('\0')[0]).toBe('the-shell');
  });

  it.each([
    ['an argument', [SH, 'sh', ['-c', 'env\0\x01\0\0\0LD_PRELOAD=/tmp/evil.so'], {}]],
    ['an environment value', [SH, 'sh', ['-c', 'env'], { A: 'x\0y' }]],
    ['the working directory', [SH, 'sh', ['-c', 'pwd'], {}, '/tmp\0/etc']],
  ] as const)(
    'refuses a null byte in %s, as Node does, starting nothing',
    (_what, [path, argv0, args, env, cwd]) => {
      expect(() =>
        helper.spawn(path, argv0, args, { cwd: cwd ?? dir, env, detached: true }),
      ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    },
  );

  it('passes strings of several bytes a character intact: arguments, environment and cwd', async () => {
    const unicodeDir = join(dir, 'prüfung-目录');
    mkdirSync(unicodeDir);
    const child = helper.spawn(SH, 'sh', ['-c', 'pwd; printf "%s|%s" "$1" "$NAME"', 'sh', 'ä€😀'], {
      cwd: unicodeDir,
      env: { NAME: 'naïve ✓' },
      detached: true,
    });
    expect((await outcome(child)).stdout).toBe(`${unicodeDir}\nä€😀|naïve ✓`);
  });

  it('refuses a start request past 8 MiB with E2BIG and starts the next child', async () => {
    const huge = 'x'.repeat(8 * 1024 * 1024);
    expect(() =>
      helper.spawn(SH, 'sh', ['-c', 'true', huge], { cwd: dir, env: {}, detached: true }),
    ).toThrow(expect.objectContaining({ code: 'E2BIG' }));
    expect((await outcome(shell('echo next'))).stdout).toBe('next\n');
  });

  it('keeps reading one stream after the child closed the other', async () => {
    expect(await outcome(shell('exec >&-; sleep 0.3; echo still here >&2'))).toEqual({
      stdout: '',
      stderr: 'still here\n',
      code: 0,
      signal: null,
    });
  });

  it('ignores SIGTERM and SIGINT sent to it (they are for the host`s group, which it is in)', async () => {
    const helperPid = Number((await outcome(shell('echo $PPID'))).stdout);
    const child = shell('sleep 0.5; echo alive');
    process.kill(helperPid, 'SIGTERM');
    process.kill(helperPid, 'SIGINT');
    expect(await outcome(child)).toMatchObject({ stdout: 'alive\n', code: 0 });
  });

  it('starts the child as the leader of a new session when detached, in the helper`s group otherwise', async () => {
    const script = 'echo $$ $(ps -o pgid= -p $$) $(ps -o sid= -p $$)';
    const led = await outcome(shell(script));
    const [pid, pgid, sid] = led.stdout.trim().split(/\s+/).map(Number);
    expect(pgid).toBe(pid);
    expect(sid).toBe(pid);

    const plain = await outcome(
      helper.spawn(SH, 'sh', ['-c', script], { cwd: dir, env: {}, detached: false }),
    );
    const [ownPid, ownPgid] = plain.stdout.trim().split(/\s+/).map(Number);
    expect(ownPgid).not.toBe(ownPid);
  });

  it('with its own session and niceness: each child with newGroup leads a group in that session, that much nicer', async () => {
    const own = new SpawnHelper(path!, { ownSession: true, nice: 5 });
    try {
      const script = 'echo $$ $(ps -o pgid= -p $$) $(ps -o sid= -p $$) $(ps -o ni= -p $$)';
      const run = () =>
        outcome(
          own.spawn(SH, 'sh', ['-c', script], {
            cwd: dir,
            env: { PATH: process.env.PATH },
            detached: false,
            newGroup: true,
          }),
        );
      const [first, second] = (await Promise.all([run(), run()])).map((result) =>
        result.stdout.trim().split(/\s+/).map(Number),
      );
      const ownSid = first[2];
      for (const [pid, pgid, sid, nice] of [first, second]) {
        expect(pgid).toBe(pid);
        expect(sid).toBe(ownSid);
        expect(sid).not.toBe(pid);
        expect(nice).toBe(Math.min(19, getPriority() + 5));
      }
      // The session is the helper's: not this process's.
      expect(ownSid).not.toBe(processStat('self')!.session);
      expect(first[0]).not.toBe(second[0]);
    } finally {
      own.stop();
    }
  });

  it.each([
    ['a missing command', () => join(dir, 'missing'), 'ENOENT'],
    [
      'a file that may not be run',
      () => {
        const file = join(dir, 'not-executable');
        writeFileSync(file, '#!/bin/sh\n');
        chmodSync(file, 0o644);
        return file;
      },
      'EACCES',
    ],
  ])('reports %s as an error with its errno name, and goes on', async (_what, command, code) => {
    const child = helper.spawn(command(), 'cmd', [], { cwd: dir, env: {}, detached: true });
    const [error] = (await once(child, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe(code);
    expect(error.message).toContain(code);
    expect((await outcome(shell('echo ok'))).stdout).toBe('ok\n');
  });

  it('says whether the child`s process group was gone when the child was over', async () => {
    const alone = shell('exit 0');
    await outcome(alone);
    // Known gone from then on: not asked again (an exception in Node).
    expect(goneGroups.has(alone.pid!)).toBe(true);
    expect(isProcessGroupAlive(alone.pid!)).toBe(false);

    // A member left running in the group, not holding the pipes.
    const parent = shell('sleep 30 >/dev/null 2>&1 & echo $!');
    const { stdout } = await outcome(parent);
    const sleeper = Number(stdout.trim());
    try {
      expect(isProcessAlive(sleeper)).toBe(true);
      expect(goneGroups.has(parent.pid!)).toBe(false);
      expect(isProcessGroupAlive(parent.pid!)).toBe(true);
    } finally {
      process.kill(sleeper, 'SIGKILL');
    }
  });

  it('has its children found by their working directory in its session (helperGroupsWorkingIn)', async () => {
    const own = new SpawnHelper(path!, { ownSession: true, nice: 0 });
    const other = mkdtempSync(join(tmpdir(), 'spawn-helper-other-'));
    // No directory marker: only the session and the working directory tell where it works.
    const child = own.spawn('/usr/bin/env', 'env', ['-i', 'sleep', '600'], {
      cwd: dir,
      env: {},
      detached: false,
      newGroup: true,
    });
    try {
      await once(child, 'spawn');
      await until(() => processStat(child.pid!)?.pgrp === child.pid);
      expect(helperGroupsWorkingIn(process.pid, dir)).toEqual([child.pid]);
      expect(helperGroupsWorkingIn(process.pid, other)).toEqual([]);
      // Children of another process's helpers are not its.
      expect(helperGroupsWorkingIn(process.ppid, dir)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      own.stop();
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('reports a child killed by a signal as such', async () => {
    expect(await outcome(shell('kill -TERM $$; sleep 5'))).toMatchObject({
      code: null,
      signal: 'SIGTERM',
    });
  });

  it('stops reading a stream its reader paused (the child blocks on the full pipe) and goes on when resumed', async () => {
    const total = 4 * 1024 * 1024;
    const child = helper.spawn(
      SH,
      'sh',
      ['-c', `head -c ${total} /dev/zero; echo all written >&2`],
      {
        cwd: dir,
        env: { PATH: process.env.PATH },
        detached: true,
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.pause();
    await once(child, 'spawn');
    // The helper stops at the stream's buffer and the pipe's: far short of the whole output.
    await until(() => child.stdout.readableLength > 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(child.stdout.readableLength).toBeLessThan(total / 4);
    expect(stderr).toBe('');
    const closed = once(child, 'close');
    let received = 0;
    child.stdout.on('data', (chunk: Buffer) => (received += chunk.length));
    child.stdout.resume();
    await closed;
    expect(received).toBe(total);
    expect(stderr).toBe('all written\n');
  });

  it('kills the group of a child asked to stop before the helper said it started', async () => {
    const child = shell('sleep 30 & wait');
    child.kill('SIGKILL');
    expect(child.pid).toBeUndefined();
    const result = await outcome(child);
    expect(result.signal).toBe('SIGKILL');
    await until(() => !isProcessGroupAlive(child.pid!));
  });

  it('ends the children of a helper that died, as killed, and starts a new helper for the next', async () => {
    const { child, sleeper } = await withSleeper();
    const helperPid = Number((await outcome(shell('echo $PPID'))).stdout);
    const closed = once(child, 'close');
    process.kill(helperPid, 'SIGKILL');
    expect(await closed).toEqual([null, 'SIGKILL']);
    await until(() => !isProcessAlive(sleeper) && !isProcessAlive(child.pid!));

    expect((await outcome(shell('echo again'))).stdout).toBe('again\n');
  });

  it('kills what is left of its children when its input ends (the host is gone)', async () => {
    const { child, sleeper } = await withSleeper();
    helper.stop();
    await until(() => !isProcessAlive(sleeper) && !isProcessAlive(child.pid!));
  });

  it('asks its children to end (SIGTERM) when its input ends, and kills those that do not', async () => {
    const ready = (child: HelperChild) =>
      new Promise<void>((resolve) => {
        child.stdout.once('data', () => resolve());
        child.stderr.resume();
      });
    const tidy = shell(
      "trap 'echo cleaned > cleaned.txt; exit 0' TERM; echo ready; while :; do sleep 0.05; done",
    );
    const stubborn = shell("trap '' TERM; echo ready; while :; do sleep 0.05; done");
    await Promise.all([ready(tidy), ready(stubborn)]);
    helper.stop();
    await until(() => !isProcessAlive(tidy.pid!) && !isProcessAlive(stubborn.pid!));
    // The first had the time to clean up after itself, as git removes its lock files.
    expect(readFileSync(join(dir, 'cleaned.txt'), 'utf8')).toBe('cleaned\n');
  });

  it('kills the group of a child that exited when its input ends, if a member still holds the pipes', async () => {
    const { child, sleeper } = await withSleeper('exit 0');
    await until(() => child.exitCode === 0);
    helper.stop();
    await until(() => !isProcessAlive(sleeper));
  });

  it("starts a new helper after stop() and keeps the old one's end apart from the new one's children", async () => {
    const old = await withSleeper();
    helper.stop();
    const next = shell('sleep 0.5; echo new');
    await until(() => !isProcessAlive(old.sleeper));
    expect(await outcome(next)).toMatchObject({ stdout: 'new\n', code: 0, signal: null });
  });
});
