import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BehaviorSubject, lastValueFrom, Subscription, toArray } from 'rxjs';
import { NO_ISOLATION } from 'src/process/child-isolation';
import { findGroupLeader } from 'src/process/group-leader';
import {
  isProcessAlive,
  isProcessGroupAlive,
  killProcessGroup,
  ProcessEvent,
  processStat,
  runProcess,
  SpawnError,
} from 'src/process/process-group';

const node = process.execPath;
const env = { PATH: process.env.PATH ?? '' };
/** GNU `timeout` on this machine: the tests of `runProcess` run with and without it. */
const gnuTimeout = findGroupLeader(process.env.PATH);
let groupLeader: string | null = null;

function spec(script: string, killGraceMs = 200) {
  return {
    command: node,
    args: ['-e', script],
    cwd: process.cwd(),
    env,
    killGraceMs,
    isolation: NO_ISOLATION,
    groupLeader,
  };
}

function stdoutOf(events: ProcessEvent[]): string {
  return Buffer.concat(events.flatMap((e) => (e.type === 'stdout' ? [e.chunk] : []))).toString();
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Starts a leader that spawns a grandchild; both ignore SIGINT and SIGTERM; resolves with both pids. */
function startStubbornTree(): Promise<{ sub: Subscription; leader: number; grandchild: number }> {
  const script = `
    process.on('SIGINT', () => {}); process.on('SIGTERM', () => {});
    const c = require('child_process').spawn(process.execPath,
      ['-e', "process.on('SIGINT',()=>{});process.on('SIGTERM',()=>{});setInterval(()=>{},1000)"],
      { stdio: 'ignore' });
    console.log('GRANDCHILD ' + c.pid);
    setInterval(() => {}, 1000);`;
  return new Promise((resolve, reject) => {
    let leader = 0;
    const sub = runProcess(spec(script, 150)).subscribe({
      next: (e) => {
        if (e.type === 'spawned') leader = e.pid;
        if (e.type === 'stdout') {
          const m = /GRANDCHILD (\d+)/.exec(e.chunk.toString());
          if (m) resolve({ sub, leader, grandchild: Number(m[1]) });
        }
      },
      error: reject,
    });
  });
}

/** A zombie: `sh` backgrounds a short sleep, then becomes a long sleep that never reaps it. */
async function startZombie(): Promise<{ zombie: number; parent: number }> {
  const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const zombie = await new Promise<number>((resolve) =>
    parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
  );
  await waitFor(() => processStat(zombie)?.state === 'Z', 5000);
  return { zombie, parent: parent.pid! };
}

describe('isProcessAlive', () => {
  it('is true for a running process, false for an exited one and for a zombie', async () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    const { zombie, parent } = await startZombie();
    try {
      expect(() => process.kill(zombie, 0)).not.toThrow();
      expect(isProcessAlive(zombie)).toBe(false);
      expect(isProcessAlive(parent)).toBe(true);
    } finally {
      process.kill(parent, 'SIGKILL');
    }
    await waitFor(() => !isProcessAlive(parent), 5000);
    expect(isProcessAlive(parent)).toBe(false);
  });
});

describe.each([
  ['leading a new session', null],
  ['under GNU timeout', gnuTimeout],
])('runProcess, %s', (_mode, leader) => {
  beforeAll(() => {
    // This machine has GNU timeout; without it the second half would test nothing new.
    expect(gnuTimeout).not.toBeNull();
    groupLeader = leader;
  });
  afterAll(() => (groupLeader = null));

  it('reads output printed after the leader exited, even when the event loop was busy meanwhile', async () => {
    // The leader prints a first line and exits; a child it leaves behind (holding the pipe)
    // prints the last line 600 ms later. From 200 ms after the first line (the leader's exit
    // seen by then) the test keeps this process's event loop busy for 1.5 s, past the drain's
    // idle wait, from a setImmediate callback: the next thing the loop does is run its expired
    // timers, before it reads the line now waiting in the pipe. The line must still be read.
    const leader = [
      "const { spawn } = require('child_process');",
      "spawn(process.execPath, ['-e', 'setTimeout(() => console.log(\\'THE END\\'), 600)'], {",
      "  stdio: ['ignore', 'inherit', 'inherit'],",
      '}).unref();',
      "console.log('started');",
    ].join('\n');
    const events: ProcessEvent[] = [];
    let stalled = false;
    await new Promise<void>((done, fail) =>
      runProcess(spec(leader)).subscribe({
        next: (e) => {
          events.push(e);
          if (e.type === 'stdout' && !stalled) {
            stalled = true;
            setTimeout(
              () =>
                setImmediate(() => {
                  const until = Date.now() + 1500;
                  while (Date.now() < until);
                }),
              200,
            );
          }
        },
        error: fail,
        complete: done,
      }),
    );
    expect(stdoutOf(events)).toBe('started\nTHE END\n');
  });

  it("reads to the end output held back by flow control past the drain's idle wait after the exit", async () => {
    // The output is paused from the start (the server's flow control: too much in flight); the
    // child prints its lines and exits. Held back for longer than the drain's idle wait, the
    // output is still read to its end once resumed: a pause of ours is no idleness of the pipe.
    const paused$ = new BehaviorSubject(true);
    const events: ProcessEvent[] = [];
    let pid = 0;
    const done = new Promise<void>((resolve, reject) =>
      runProcess({
        ...spec("process.stdout.write('first\\n'); process.stdout.write('last\\n')"),
        paused$,
      }).subscribe({
        next: (e) => {
          events.push(e);
          if (e.type === 'spawned') pid = e.pid;
        },
        error: reject,
        complete: resolve,
      }),
    );
    expect(await waitFor(() => pid !== 0 && !isProcessAlive(pid), 10_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    paused$.next(false);
    await done;
    expect(stdoutOf(events)).toBe('first\nlast\n');
    expect(events.at(-1)).toEqual({ type: 'exit', code: 0, signal: null });
  });

  it('emits spawned, output and exit, then completes', async () => {
    const events = await lastValueFrom(
      runProcess(
        spec("process.stdout.write('out'); process.stderr.write('err'); process.exit(3)"),
      ).pipe(toArray()),
    );
    expect(events[0]).toEqual({ type: 'spawned', pid: expect.any(Number) });
    expect(stdoutOf(events)).toBe('out');
    const stderr = events
      .flatMap((e) => (e.type === 'stderr' ? [e.chunk.toString()] : []))
      .join('');
    expect(stderr).toBe('err');
    expect(events[events.length - 1]).toEqual({ type: 'exit', code: 3, signal: null });
  });

  it('runs the child with stdin closed, in its own process group led by the pid reported, without a shell', async () => {
    const script = `
      let got = 0; process.stdin.on('data', (d) => got += d.length);
      process.stdin.on('end', () => {
        const stat = require('fs').readFileSync('/proc/self/stat', 'utf8');
        const [pgrp, session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(2, 4);
        console.log(JSON.stringify({ got, pgrp: Number(pgrp), session: Number(session), arg: process.argv[1] }));
      });`;
    const events = await lastValueFrom(
      runProcess({ ...spec(script), args: ['-e', script, '$(id) `id` ; echo hi'] }).pipe(toArray()),
    );
    const out = JSON.parse(stdoutOf(events)) as {
      got: number;
      pgrp: number;
      session: number;
      arg: string;
    };
    expect(out.got).toBe(0);
    expect(events[0]).toEqual({ type: 'spawned', pid: out.pgrp });
    expect(out.pgrp).not.toBe(processStat('self')!.pgrp);
    // Under the group leader the child stays in this process's session (its scheduling group);
    // otherwise it leads a session of its own.
    expect(out.session).toBe(leader === null ? out.pgrp : processStat('self')!.session);
    expect(out.arg).toBe('$(id) `id` ; echo hi');
  });

  it('passes on the signal that ended the child', async () => {
    const events = await lastValueFrom(
      runProcess(spec("process.kill(process.pid, 'SIGTERM'); setInterval(() => {}, 1000)")).pipe(
        toArray(),
      ),
    );
    expect(events[events.length - 1]).toEqual({ type: 'exit', code: null, signal: 'SIGTERM' });
  });

  it('fails with ENOENT when a command name is not on PATH', async () => {
    const err: unknown = await lastValueFrom(
      runProcess({ ...spec(''), command: 'cta-definitely-not-a-command' }),
    ).catch((e: unknown) => e);
    expect((err as SpawnError).code).toBe('ENOENT');
  });

  it('fails with ENOENT when the command does not exist', async () => {
    const err: unknown = await lastValueFrom(
      runProcess({ ...spec(''), command: '/nonexistent/definitely-not-here' }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpawnError);
    expect((err as SpawnError).code).toBe('ENOENT');
  });

  it('fails with EACCES when the command is not executable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cta-proc-'));
    const file = join(dir, 'not-executable');
    writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 });
    try {
      const err: unknown = await lastValueFrom(runProcess({ ...spec(''), command: file })).catch(
        (e: unknown) => e,
      );
      expect((err as SpawnError).code).toBe('EACCES');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kills the whole group, grandchildren included, on unsubscribe (SIGINT, SIGTERM, then SIGKILL)', async () => {
    const { sub, leader, grandchild } = await startStubbornTree();
    expect(isProcessAlive(leader)).toBe(true);
    expect(isProcessAlive(grandchild)).toBe(true);
    expect(isProcessGroupAlive(leader)).toBe(true);
    sub.unsubscribe();
    // The middle process dies with them but need not be gone at the same instant: wait for all.
    const gone = () =>
      !isProcessAlive(leader) && !isProcessAlive(grandchild) && !isProcessGroupAlive(leader);
    expect(await waitFor(gone, 5000)).toBe(true);
    expect(isProcessGroupAlive(leader)).toBe(false);
  });

  it('stops a process that honours SIGINT without escalating', async () => {
    const script = `process.on('SIGINT', () => { console.log('bye'); process.exit(0); }); console.log('ready'); setInterval(() => {}, 1000);`;
    const pid = await new Promise<number>((resolve) => {
      let p = 0;
      const sub = runProcess(spec(script, 5000)).subscribe((e) => {
        if (e.type === 'spawned') p = e.pid;
        if (e.type === 'stdout' && e.chunk.toString().includes('ready')) {
          sub.unsubscribe();
          resolve(p);
        }
      });
    });
    const started = Date.now();
    expect(await waitFor(() => !isProcessGroupAlive(pid), 3000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stops the child when unsubscribed in the same tick as the subscribe', async () => {
    const marker = `cta-same-tick-${process.pid}-${Date.now()}`;
    const running = (): boolean =>
      readdirSync('/proc')
        .filter((e) => /^\d+$/.test(e))
        .some((e) => {
          try {
            return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(marker);
          } catch {
            return false;
          }
        });
    runProcess({
      ...spec('setInterval(() => {}, 1000)'),
      args: ['-e', 'setInterval(() => {}, 1000)', marker],
    })
      .subscribe()
      .unsubscribe();
    await new Promise((r) => setTimeout(r, 1000));
    expect(running()).toBe(false);
  });

  it('kills a background process left behind in the group after the leader exits', async () => {
    const script = `
      const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'],
        { stdio: 'ignore' });
      console.log('BG ' + c.pid); process.exit(0);`;
    const events = await lastValueFrom(runProcess(spec(script)).pipe(toArray()));
    const bg = Number(/BG (\d+)/.exec(stdoutOf(events))?.[1]);
    expect(bg).toBeGreaterThan(0);
    expect(await waitFor(() => !isProcessAlive(bg), 3000)).toBe(true);
  });

  it('completes when a leftover process keeps stdout open after the leader exited', async () => {
    const script = `
      const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'],
        { stdio: ['ignore', 'inherit', 'inherit'] });
      console.log('BG ' + c.pid); process.exit(0);`;
    const started = Date.now();
    const events = await lastValueFrom(runProcess(spec(script)).pipe(toArray()));
    expect(Date.now() - started).toBeLessThan(4000);
    expect(events[events.length - 1]).toEqual({ type: 'exit', code: 0, signal: null });
    const bg = Number(/BG (\d+)/.exec(stdoutOf(events))?.[1]);
    expect(await waitFor(() => !isProcessAlive(bg), 3000)).toBe(true);
  });
});

describe('killProcessGroup / isProcessGroupAlive', () => {
  it('reports a group gone after killProcessGroup resolves', async () => {
    const { sub, leader, grandchild } = await startStubbornTree();
    await killProcessGroup(leader, 100);
    expect(isProcessGroupAlive(leader)).toBe(false);
    expect(isProcessAlive(grandchild)).toBe(false);
    sub.unsubscribe();
  });

  it('treats nonsense ids as not alive and ignores them', async () => {
    expect(isProcessGroupAlive(0)).toBe(false);
    expect(isProcessGroupAlive(1)).toBe(false);
    expect(isProcessGroupAlive(-5)).toBe(false);
    await expect(killProcessGroup(1, 10)).resolves.toBeUndefined();
  });
});

describe('runProcess in a sandbox', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cta-sandboxed-'));
    // A stand-in for bwrap: runs what follows `--`, in the directory `--chdir` names.
    writeFileSync(
      join(dir, 'sandbox'),
      '#!/bin/sh\nwhile [ "$1" != -- ]; do [ "$1" = --chdir ] && cd "$2"; shift; done\nshift\nexec "$@"\n',
      { mode: 0o755 },
    );
    mkdirSync(join(dir, 'project', 'bin'), { recursive: true });
    writeFileSync(join(dir, 'project', 'bin', 'test'), '#!/bin/sh\necho project tests ran\n', {
      mode: 0o755,
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds a command given by a relative path in the child's directory, not the server's", async () => {
    const events = await lastValueFrom(
      runProcess({
        command: 'bin/test',
        args: [],
        cwd: join(dir, 'project'),
        env,
        killGraceMs: 200,
        isolation: {
          identity: null,
          sandbox: { command: join(dir, 'sandbox'), readOnly: [], hidden: [] },
        },
      }).pipe(toArray()),
    );
    expect(stdoutOf(events)).toBe('project tests ran\n');
  });
});
