import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  lutimesSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentProcess, processStartTime } from 'src/process';
import { acquireLockFile, LockTimeoutError } from 'src/workspaces/lock-file';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A process that ran and is gone: its identity, as a lock it left behind would name it. */
async function deadProcess(): Promise<{ pid: number; startTime: string | null }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  const pid = child.pid!;
  const startTime = processStartTime(pid);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return { pid, startTime };
}

describe('lock file', () => {
  let dir: string;
  let path: string;
  const host = hostname();
  const options = { host, staleMs: 60_000, waitMs: 30_000 };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cta-lock-'));
    path = join(dir, 'repo.lock');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lets one holder at a time in, among many contenders that share nothing but the file', async () => {
    const counter = join(dir, 'counter');
    writeFileSync(counter, '0');
    let holding = 0;
    let mostAtOnce = 0;
    const contender = async (): Promise<void> => {
      for (let round = 0; round < 5; round += 1) {
        const lock = await acquireLockFile(path, options);
        holding += 1;
        mostAtOnce = Math.max(mostAtOnce, holding);
        const value = Number(await readFile(counter, 'utf8'));
        await sleep(2);
        await writeFile(counter, String(value + 1));
        holding -= 1;
        await lock.release();
      }
    };
    await Promise.all(Array.from({ length: 8 }, contender));
    expect(readFileSync(counter, 'utf8')).toBe('40');
    expect(mostAtOnce).toBe(1);
    expect(existsSync(path)).toBe(false);
  });

  it('names its holder in the file: host, pid namespace, pid and the pid start time', async () => {
    const lock = await acquireLockFile(path, options);
    const record = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ ...currentProcess(host), token: expect.any(String) });
    await lock.release();
  });

  it('takes over at once a lock whose holder died (no waiting for it to go stale)', async () => {
    const dead = await deadProcess();
    writeFileSync(
      path,
      JSON.stringify({
        ...currentProcess(host),
        pid: dead.pid,
        startTime: dead.startTime,
        token: 'x',
      }),
    );
    const stale: unknown[] = [];
    const started = Date.now();
    const lock = await acquireLockFile(path, {
      ...options,
      onStale: (_path, holder) => stale.push(holder),
    });
    expect(Date.now() - started).toBeLessThan(options.staleMs);
    expect(stale).toEqual([expect.objectContaining({ pid: dead.pid })]);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (pid reused)', async () => {
    writeFileSync(path, JSON.stringify({ ...currentProcess(host), startTime: '1', token: 'x' }));
    const lock = await acquireLockFile(path, { ...options, waitMs: 1000 });
    await lock.release();
  });

  it('judges a holder by its pid only on its own machine: HOST_ID tells machines that share a hostname apart', async () => {
    // Machine a (HOST_ID a) holds the lock; on machine b (HOST_ID b, the same hostname) a's pid
    // names nothing, or another process: it must wait for a, not take the lock over.
    const a = await acquireLockFile(path, { ...options, host: 'machine-a' });
    const held = readFileSync(path, 'utf8');
    expect(JSON.parse(held)).toMatchObject({ host: 'machine-a' });
    const dead = await deadProcess();
    const onAnotherMachine = { ...(JSON.parse(held) as object), pid: dead.pid, startTime: null };
    writeFileSync(path, JSON.stringify(onAnotherMachine));
    await expect(
      acquireLockFile(path, { ...options, host: 'machine-b', waitMs: 300 }),
    ).rejects.toBeInstanceOf(LockTimeoutError);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(onAnotherMachine);
    // On machine a itself, that pid is gone: taken over at once.
    const again = await acquireLockFile(path, { ...options, host: 'machine-a' });
    await again.release();
    await a.release();
  });

  it('takes over a lock nobody touched for staleMs (a holder on another host)', async () => {
    writeFileSync(
      path,
      JSON.stringify({
        host: `not-${hostname()}`,
        pidNamespace: '1',
        pid: 1,
        startTime: null,
        token: 'x',
      }),
    );
    const old = new Date(Date.now() - 120_000);
    utimesSync(path, old, old);
    const lock = await acquireLockFile(path, { ...options, waitMs: 1000 });
    await lock.release();
  });

  it('takes over an unreadable lock once it is stale (a holder that died before writing it)', async () => {
    writeFileSync(path, '');
    const old = new Date(Date.now() - 120_000);
    utimesSync(path, old, old);
    const lock = await acquireLockFile(path, { ...options, waitMs: 1000 });
    await lock.release();
  });

  it.each([
    ['a FIFO (never waited on)', (at: string) => execFileSync('mkfifo', [at])],
    ['a dangling symbolic link', (at: string) => symlinkSync(join(dir, 'nowhere'), at)],
  ])('takes over %s put where the lock goes once it is stale', async (_what, put) => {
    put(path);
    const old = new Date(Date.now() - 120_000);
    lutimesSync(path, old, old);
    const lock = await acquireLockFile(path, { ...options, waitMs: 1000 });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it('waits for a live holder, and gives up after waitMs with the holder named', async () => {
    const held = await acquireLockFile(path, options);
    await expect(acquireLockFile(path, { ...options, waitMs: 300 })).rejects.toThrow(
      LockTimeoutError,
    );
    const waiting = acquireLockFile(path, options);
    await sleep(100);
    await held.release();
    const next = await waiting;
    await next.release();
  });

  it('keeps a held lock fresh, so a long holder is not taken for a dead one', async () => {
    const held = await acquireLockFile(path, { host, staleMs: 400, waitMs: 2000 });
    await sleep(1000);
    await expect(acquireLockFile(path, { host, staleMs: 400, waitMs: 300 })).rejects.toThrow(
      LockTimeoutError,
    );
    await held.release();
  });

  it('a release removes only its own lock, never one taken over since', async () => {
    const lost: string[] = [];
    const first = await acquireLockFile(path, {
      host,
      staleMs: 200,
      waitMs: 2000,
      onLost: (p) => lost.push(p),
    });
    // Someone took it over (as if the first holder had hung past staleMs).
    rmSync(path);
    const second = await acquireLockFile(path, options);
    await sleep(200);
    expect(lost).toEqual([path]);
    await first.release();
    expect(existsSync(path)).toBe(true);
    await second.release();
    expect(existsSync(path)).toBe(false);
  });
});
