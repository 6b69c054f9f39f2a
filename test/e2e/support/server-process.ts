import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { eventually } from 'test/e2e/support/eventually';
import { FAKE_CLAUDE } from 'test/e2e/support/task-polling';

/** The built server (`npm test` builds first). */
export const MAIN = join(resolve(__dirname, '..', '..', '..'), 'dist', 'src', 'main.js');

export interface ServerProcess {
  /** Its base URL, for supertest. */
  url: App;
  child: ChildProcess;
  /** `code N`, or `signal S` for a process killed by a signal. */
  exited: Promise<string>;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Its process host's pid (the child process that starts agents and tests), once it runs. */
  hostPid(): number | null;
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

/**
 * Starts the built server as a process in `cwd` with the fake CLI and `env` on top of test
 * defaults (loopback, a free port, the orchestrator on, quick polling); resolves once `/health`
 * answers 200. `expectHealthy: false` returns as soon as it runs (for one that must refuse).
 */
export async function startServer(
  cwd: string,
  env: Record<string, string>,
  { expectHealthy = true }: { expectHealthy?: boolean } = {},
): Promise<ServerProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: cwd,
      NO_COLOR: '1',
      PORT: String(port),
      ORCHESTRATOR_ENABLED: 'true',
      QUEUE_POLL_MS: '100',
      KILL_GRACE_SECONDS: '1',
      CLAUDE_CLI_COMMAND: FAKE_CLAUDE,
      CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
      ...env,
    },
  });
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
    output: () => output,
    hostPid: () => (child.pid === undefined ? null : (childrenOf(child.pid)[0] ?? null)),
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

/** Creates a session for `project` and a task in it; returns the task id. */
export async function startTask(url: App, project: string, description: string): Promise<string> {
  const s = await request(url).post('/api/v1/sessions').send({ project_path: project }).expect(201);
  const t = await request(url)
    .post('/api/v1/tasks')
    .send({ session_id: s.body.id, description })
    .expect(201);
  return t.body.id as string;
}
