import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive, isProcessGroupAlive } from 'src/process/process-group';
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

/** Resolves once `check` holds, asking on every turn of the event loop. */
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
    helper.spawn(SH, ['-c', script], { cwd: dir, env: {}, detached: true });

  /** A child that starts `sleep 30` in the background and waits for it; resolves to its pid. */
  async function withSleeper(): Promise<{ child: HelperChild; sleeper: number }> {
    const child = shell('sleep 30 & echo $!; wait');
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.resume();
    await until(() => stdout.endsWith('\n'));
    return { child, sleeper: Number(stdout.trim()) };
  }

  it('runs the command in cwd with exactly the given environment, stdin empty, and reports its output and exit', async () => {
    const child = helper.spawn(
      SH,
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

  it('starts the child as the leader of a new session when detached, in the helper`s group otherwise', async () => {
    const script = 'echo $$ $(ps -o pgid= -p $$) $(ps -o sid= -p $$)';
    const led = await outcome(shell(script));
    const [pid, pgid, sid] = led.stdout.trim().split(/\s+/).map(Number);
    expect(pgid).toBe(pid);
    expect(sid).toBe(pid);

    const plain = await outcome(
      helper.spawn(SH, ['-c', script], { cwd: dir, env: {}, detached: false }),
    );
    const [ownPid, ownPgid] = plain.stdout.trim().split(/\s+/).map(Number);
    expect(ownPgid).not.toBe(ownPid);
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
    const child = helper.spawn(command(), [], { cwd: dir, env: {}, detached: true });
    const [error] = (await once(child, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe(code);
    expect(error.message).toContain(code);
    expect((await outcome(shell('echo ok'))).stdout).toBe('ok\n');
  });

  it('reports a child killed by a signal as such', async () => {
    expect(await outcome(shell('kill -TERM $$; sleep 5'))).toMatchObject({
      code: null,
      signal: 'SIGTERM',
    });
  });

  it('stops reading a stream its reader paused (the child blocks on the full pipe) and goes on when resumed', async () => {
    const total = 4 * 1024 * 1024;
    const child = helper.spawn(SH, ['-c', `head -c ${total} /dev/zero; echo all written >&2`], {
      cwd: dir,
      env: { PATH: process.env.PATH },
      detached: true,
    });
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
});
