import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { eventually } from 'test/e2e/support/eventually';
import { ROOT_OK, startServer } from 'test/e2e/support/server-process';

describe('server startup (the built server as a process)', () => {
  let cwd: string;
  const running: ChildProcess[] = [];

  beforeEach(() => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cta-start-'));
  });
  afterEach(() => {
    for (const child of running.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('starts from an empty directory with .env, on loopback by default, creates ./data, serves /health, stops on SIGTERM', async () => {
    fs.writeFileSync(path.join(cwd, '.env'), 'PORT=0\nCLAUDE_CLI_COMMAND=/nonexistent/claude\n');
    const run = startServer(cwd, { ORCHESTRATOR_ENABLED: 'false', ...ROOT_OK });
    running.push(run.child);
    await eventually('the server to listen', () =>
      /Listening on http:\/\/127\.0\.0\.1:\d+/.test(run.stdout()),
    );
    const port = /Listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(run.stdout())?.[1];
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ok',
      database: { status: 'up' },
      claude_cli: { available: false, command: '/nonexistent/claude' },
    });
    expect(run.stdout()).toMatch(/Listening on http:\/\/127\.0\.0\.1:\d+ .*: loopback only/);
    expect(fs.existsSync(path.join(cwd, 'data', 'tasks.db'))).toBe(true);
    const before = run.stdout().length;
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    // Besides the request line of the /health call, which may be written just after.
    const shutdownLines = run
      .stdout()
      .slice(before)
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('"route":"/health"'));
    expect(shutdownLines).toEqual([
      expect.stringMatching(/SIGTERM: shutting down; 0 running task\(s\) go back to the queue/),
    ]);
    expect(run.stderr()).toBe('');
  });

  it('shuts down as on SIGTERM when its terminal hangs up (SIGHUP)', async () => {
    const run = startServer(cwd, { PORT: '0', ORCHESTRATOR_ENABLED: 'false', ...ROOT_OK });
    running.push(run.child);
    await eventually('the server to listen', () => /Listening on /.test(run.stdout()));
    run.child.kill('SIGHUP');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toMatch(/SIGHUP: shutting down; 0 running task\(s\) go back to the queue/);
  });

  it('refuses bad configuration with one message naming every bad variable', async () => {
    const run = startServer(cwd, { PORT: 'eighty', MAX_PAUSES: '-1' });
    running.push(run.child);
    expect((await run.exited).code).toBe(1);
    expect(run.stderr()).toMatch(/^Startup failed: Invalid configuration/);
    expect(run.stderr()).toContain('PORT');
    expect(run.stderr()).toContain('MAX_PAUSES');
    expect(run.stderr()).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(cwd, 'data'))).toBe(false);
  });

  it('refuses a .env that is not a regular file with the same message, no stack', async () => {
    fs.mkdirSync(path.join(cwd, '.env'));
    const run = startServer(cwd, { ...ROOT_OK });
    running.push(run.child);
    expect((await run.exited).code).toBe(1);
    expect(run.stderr()).toMatch(
      /^Startup failed: Invalid configuration:\n {2}- \.env cannot be read \(not a regular file\)/,
    );
    expect(run.stderr()).not.toMatch(/\n\s+at /);
  });

  it('refuses a .env that misspells a setting, naming the setting meant, and starts nothing', async () => {
    fs.writeFileSync(
      path.join(cwd, '.env'),
      'PORT=0\nAUTH_REQUIRD=true\nANTHROPIC_API_KEY=sk-ant-test\n',
    );
    const run = startServer(cwd, { ...ROOT_OK });
    running.push(run.child);
    expect((await run.exited).code).toBe(1);
    expect(run.stderr()).toMatch(
      /^Startup failed: Invalid configuration:\n {2}- \.env sets AUTH_REQUIRD, which is not a setting: did you mean AUTH_REQUIRED\?\n?$/,
    );
    expect(run.stderr()).not.toContain('sk-ant-test');
    expect(fs.existsSync(path.join(cwd, 'data'))).toBe(false);
  });

  it('exits 1 with one line when the database cannot be reached', async () => {
    const run = startServer(cwd, {
      DATABASE_URL: 'mysql://root:secret@127.0.0.1:1/nothing',
      ...ROOT_OK,
    });
    running.push(run.child);
    expect((await run.exited).code).toBe(1);
    const lines = run.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^Startup failed: Cannot use database mysql:\/\/root:\*\*\*@127\.0\.0\.1:1\/nothing: .*ECONNREFUSED/,
    );
    expect(run.stdout()).not.toContain('Retrying');
  });

  it('exits 1 saying it cannot listen when its port is taken', async () => {
    const taken = net.createServer();
    await new Promise<void>((listening) => taken.listen(0, '127.0.0.1', listening));
    try {
      const { port } = taken.address() as net.AddressInfo;
      const run = startServer(cwd, { PORT: String(port), ...ROOT_OK });
      running.push(run.child);
      expect((await run.exited).code).toBe(1);
      expect(run.stderr()).toMatch(
        new RegExp(`Startup failed: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`),
      );
    } finally {
      taken.close();
    }
  });
});
