import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { eventually } from 'test/e2e/support/eventually';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** The newest modification time of the TypeScript sources under `dir`. */
function newestSource(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return Math.max(newest, newestSource(full));
    return entry.name.endsWith('.ts') ? Math.max(newest, statSync(full).mtimeMs) : newest;
  }, 0);
}

/**
 * The BUILT entry point (`dist/src/<name>.js`, built by `npm test`'s pretest step): starting it is
 * much quicker than compiling the sources on the fly, which matters for suites that start many
 * servers. A build older than the sources is refused, so a test never runs stale code.
 */
function builtEntry(name: string): string {
  const file = path.join(ROOT, 'dist', 'src', `${name}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  const sources = Math.max(
    newestSource(path.join(ROOT, 'src')),
    newestSource(path.join(ROOT, 'migrations')),
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
    NO_COLOR: '1',
  };
}

export interface ServerRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the built server (`dist/src/main.js`) in `cwd` with only the given environment (and PATH). */
export function startServer(cwd: string, env: Record<string, string>): ServerRun {
  const child = spawn(process.execPath, [builtEntry('main')], {
    cwd,
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
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
