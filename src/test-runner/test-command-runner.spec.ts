import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { lastValueFrom, toArray } from 'rxjs';
import { loadConfig } from 'src/config';
import { NO_ISOLATION, ProcessLauncher } from 'src/process';
import {
  CommandEvent,
  CommandResult,
  TestCommandRunner,
  testCommandEnv,
} from 'src/test-runner/test-command-runner';

describe('testCommandEnv', () => {
  it('keeps the allowlist, drops secrets and the CLI credentials, adds non-interactive settings', () => {
    const env = testCommandEnv({
      PATH: '/usr/bin',
      HOME: '/home/u',
      DATABASE_URL: 'mysql://root:pw@db/x',
      MYSQL_PASSWORD: 'pw',
      ANTHROPIC_API_KEY: 'sk-secret',
      CLAUDE_CODE_OAUTH_TOKEN: 'tok',
      CLAUDECODE: '1',
      RANDOM_SERVER_SETTING: 'x',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/u',
      CI: '1',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONUNBUFFERED: '1',
      GIT_TERMINAL_PROMPT: '0',
      GIT_OPTIONAL_LOCKS: '0',
      GIT_NO_REPLACE_OBJECTS: '1',
    });
  });
});

describe('TestCommandRunner', () => {
  const launcher = new ProcessLauncher();
  const runner = new TestCommandRunner(
    loadConfig({ KILL_GRACE_SECONDS: '1' }),
    launcher,
    NO_ISOLATION,
  );
  afterAll(() => launcher.onModuleDestroy());
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cta-cmd-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = async (
    argv: string[],
    timeoutMs = 10_000,
    maxOutputBytes = 4096,
  ): Promise<[CommandEvent[], CommandResult]> => {
    const events = await lastValueFrom(
      runner.run({ argv, cwd: dir, timeoutMs, maxOutputBytes }).pipe(toArray()),
    );
    const last = events[events.length - 1];
    if (last.type !== 'finished') throw new Error('no result');
    return [events, last.result];
  };

  it('runs in the given directory with stdin closed and captures both streams and the exit code', async () => {
    const [events, result] = await run([
      process.execPath,
      '-e',
      "const fs=require('fs'); console.log(process.cwd()); console.error('ERR'); console.log('stdin bytes', fs.readSync(0, Buffer.alloc(1))); process.exit(7)",
    ]);
    expect(events[0]).toMatchObject({ type: 'spawned' });
    expect(result.exitCode).toBe(7);
    expect(result.timedOut).toBe(false);
    expect(result.spawnError).toBeNull();
    expect(result.output).toContain(dir);
    expect(result.output).toContain('ERR');
    expect(result.output).toContain('stdin bytes 0');
  });

  it('reports a missing program as a spawn error', async () => {
    const [, result] = await run(['no-such-program-cta']);
    expect(result.spawnError).toBe('ENOENT');
    expect(result.exitCode).toBeNull();
    expect(result.output).toContain('could not start no-such-program-cta');
  });

  it('times out, stops the group and says so', async () => {
    const [, result] = await run([process.execPath, '-e', 'setInterval(() => {}, 1000)'], 300);
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(result.output).toMatch(/timed out after 300 ms/);
  });

  it('caps the output', async () => {
    const [, result] = await run(
      [process.execPath, '-e', "process.stdout.write('a'.repeat(100000))"],
      10_000,
      1000,
    );
    expect(result.outputBytes).toBe(100000);
    expect(Buffer.byteLength(result.output)).toBeLessThan(1100);
    expect(result.output).toMatch(/bytes cut/);
  });
});
