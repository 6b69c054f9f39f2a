import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { newestFileTime } from 'src/process/host/host-entry';
import { eventually } from 'test/e2e/support/eventually';
import { FAKE_CLAUDE } from 'test/e2e/support/task-polling';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * The BUILT entry point (`dist/src/<name>.js`, built by `npm test`'s pretest step): starting it is
 * much quicker than compiling the sources on the fly, which matters for suites that start many
 * servers. A build older than the sources is refused, so a test never runs stale code.
 */
function builtEntry(name: string): string {
  const file = path.join(ROOT, 'dist', 'src', `${name}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  const sources = Math.max(
    newestFileTime(path.join(ROOT, 'src')),
    newestFileTime(path.join(ROOT, 'migrations')),
  );
  if (statSync(file).mtimeMs < sources) {
    throw new Error(`${file} is older than the sources: run \`npm run build\` first`);
  }
  return file;
}

/** The environment every such process gets besides what a test passes. */
function baseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? os.tmpdir(),
    // The fake agent's scripted tests pass without any change; suites about verification turn
    // it on.
    REQUIRE_FAILING_TESTS: 'false',
    NO_COLOR: '1',
  };
}

export interface ServerRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the built server (`dist/src/main.js`) in `cwd` with only the given environment (and PATH),
 * and with `inherited` descriptors open in it as a careless parent leaves them (by the number it
 * gets them as).
 */
export function startServer(
  cwd: string,
  env: Record<string, string>,
  inherited: Record<number, number> = {},
): ServerRun {
  const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe'];
  for (const [target, fd] of Object.entries(inherited)) {
    while (stdio.length < Number(target)) stdio.push('ignore');
    stdio[Number(target)] = fd;
  }
  const child = spawn(process.execPath, [builtEntry('main')], {
    cwd,
    shell: false,
    stdio,
    env: { ...baseEnv(), ...env },
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits for the server's "Listening on" line; resolves with its base URL. */
export async function listeningUrl(run: ServerRun): Promise<string> {
  const pattern = /Listening on (http:\/\/[^\s]+:\d+) /;
  await eventually('the server to listen', () => {
    if (run.child.exitCode !== null) {
      throw new Error(`server exited ${run.child.exitCode}:\n${run.stderr()}\n${run.stdout()}`);
    }
    return pattern.test(run.stdout());
  });
  return pattern.exec(run.stdout())![1].replace('0.0.0.0', '127.0.0.1');
}

/** Stops a server with SIGKILL if it still runs. */
export function killServer(run: ServerRun): void {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
}

/** The structured log lines a server printed (JSON objects; other lines skipped). */
export function logLines(run: ServerRun): Record<string, unknown>[] {
  return run
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run api-key -- <args>` (src/api-key-cli.ts) in `cwd` with the given environment. */
export function runApiKeyCli(cwd: string, env: Record<string, string>, args: string[]): CliRun {
  const result = spawnSync(process.execPath, [builtEntry('api-key-cli'), ...args], {
    cwd,
    shell: false,
    encoding: 'utf8',
    env: { ...baseEnv(), ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The key `npm run api-key -- create ...` printed (its last line). */
export function createdKey(run: CliRun): string {
  if (run.status !== 0) throw new Error(`api-key failed: ${run.stderr}`);
  return run.stdout.trim().split('\n').pop()!;
}

/** True when this process may start servers that switch to another user (it runs as root). */
export const RUNS_AS_ROOT = process.getuid?.() === 0;

/** The environment a server started by a test needs to run as root here (tests often do, in CI). */
export const ROOT_OK: Record<string, string> = RUNS_AS_ROOT ? { ALLOW_ROOT: 'true' } : {};

export interface ServerProcess {
  /** Its base URL, for supertest. */
  url: App;
  child: ChildProcess;
  /** `code N`, or `signal S` for a process killed by a signal. */
  exited: Promise<string>;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Its process host's pid (the child process that supervises agents and tests), once it runs. */
  hostPid(): number | null;
  /** Its own spawn helper's pid (the child process that starts agents and tests), once it runs. */
  helperPid(): number | null;
}

export function freePort(): Promise<number> {
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

/** Pids of the direct children of `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The first direct child of `pid` whose command line holds `part`, or null. */
function childRunning(pid: number | undefined, part: string): number | null {
  if (pid === undefined) return null;
  return (
    childrenOf(pid).find((child) => {
      try {
        return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes(part);
      } catch {
        return false;
      }
    }) ?? null
  );
}

/**
 * Starts the built server as a process in `cwd` with the fake CLI and `env` on top of test
 * defaults (loopback, a free port, the orchestrator on, quick polling, allowed to run as root
 * here); resolves once `/health` answers 200. `expectHealthy: false` returns as soon as it runs
 * (for one that must refuse).
 * `outputFile` sends what it prints to that file rather than to this process (benchmarks: reading
 * a request line per request would load the process that generates the load); `entry` runs
 * another build's `dist/src/main.js` (a benchmark comparing two builds).
 */
export async function startTestServer(
  cwd: string,
  env: Record<string, string>,
  {
    expectHealthy = true,
    outputFile,
    entry = builtEntry('main'),
  }: { expectHealthy?: boolean; outputFile?: string; entry?: string } = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const outputFd = outputFile === undefined ? undefined : openSync(outputFile, 'a');
  const child = spawn(process.execPath, [entry], {
    cwd,
    stdio: ['ignore', outputFd ?? 'pipe', outputFd ?? 'pipe'],
    env: {
      ...baseEnv(),
      HOME: cwd,
      ...ROOT_OK,
      PORT: String(port),
      ORCHESTRATOR_ENABLED: 'true',
      QUEUE_POLL_MS: '100',
      KILL_GRACE_SECONDS: '1',
      CLAUDE_CLI_COMMAND: FAKE_CLAUDE,
      CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
      ...env,
    },
  });
  if (outputFd !== undefined) closeSync(outputFd);
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<string>((ok) =>
    child.on('exit', (code, signal) => ok(signal ? `signal ${signal}` : `code ${code}`)),
  );
  const url = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    url: url as unknown as App,
    child,
    exited,
    output: () => (outputFile === undefined ? output : readFileSync(outputFile, 'utf8')),
    hostPid: () => childRunning(child.pid, 'process-host.main'),
    helperPid: () => childRunning(child.pid, 'spawn-helper'),
  };
  if (!expectHealthy) return server;
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
  return server;
}

/**
 * Creates a session for `project` (with `session`'s further fields) and a task in it; returns
 * the task id.
 */
export async function startTask(
  url: App,
  project: string,
  description: string,
  session: Record<string, unknown> = {},
): Promise<string> {
  const s = await request(url)
    .post('/api/v1/sessions')
    .send({ project_path: project, ...session })
    .expect(201);
  const t = await request(url)
    .post('/api/v1/tasks')
    .send({ session_id: s.body.id, description })
    .expect(201);
  return t.body.id as string;
}
