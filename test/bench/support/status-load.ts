import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { BenchServer } from 'test/bench/support/bench-server';
import { cpuTimes } from 'test/bench/support/proc-stat';
import { freePort } from 'test/e2e/support/server-process';
import { wrkStatusReads } from 'test/bench/support/wrk-load';

/** Connections of the status-read load (issue 13: `-c50`). */
export const CONNECTIONS = 50;

/** Tasks whose status is read, in rotation. */
export const TASKS = 100;

/** Seconds of load before each measurement. */
export const WARMUP_S = 3;

/** What one load run measured, whatever made it. */
export interface LoadRun {
  requestsPerSecond: number;
  total: number;
  p99Ms: number;
  /** Answers other than 2xx (3xx too, for wrk), errors and timeouts. */
  failed: number;
  /** What went wrong when `failed` > 0. */
  failures: string;
}

/** A load run with the loaded server's CPU time per answered request, µs (its own threads). */
export type Load = Omit<LoadRun, 'total'> & { cpuPerRequestUs: number };

/** What loads the servers: autocannon in this process, or wrk in its own. */
export type Loader = 'autocannon' | 'wrk';

/**
 * Status reads of the tasks `ids` in rotation on the server at `base` (process `pid`) for
 * `seconds`, with CONNECTIONS connections: by autocannon in this process, or by wrk
 * (`wrk -t2 -c50`, `wrk-load.ts`).
 */
export async function loadStatusReads(
  base: string,
  pid: number,
  ids: readonly string[],
  seconds: number,
  headers: Record<string, string> = {},
  loader: Loader = 'autocannon',
): Promise<Load> {
  const before = cpuTimes(pid).selfMs;
  const result =
    loader === 'wrk'
      ? await wrkStatusReads(base, ids, seconds, CONNECTIONS, headers)
      : await autocannonStatusReads(base, ids, seconds, headers);
  const cpuMs = cpuTimes(pid).selfMs - before;
  const { total, ...measured } = result;
  return { ...measured, cpuPerRequestUs: (cpuMs * 1000) / Math.max(1, total) };
}

async function autocannonStatusReads(
  base: string,
  ids: readonly string[],
  seconds: number,
  headers: Record<string, string>,
): Promise<LoadRun> {
  let next = 0;
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: seconds,
    headers,
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          path: `/api/v1/tasks/${ids[(next += 1) % ids.length]}/status`,
        }),
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    p99Ms: result.latency.p99,
    failed: result.non2xx + result.errors,
    failures: JSON.stringify({
      statusCodes: result.statusCodeStats,
      errors: result.errors,
      timeouts: result.timeouts,
    }),
  };
}

/** One session and TASKS tasks created through the server's API, to read; their ids. */
export async function tasksToRead(server: BenchServer): Promise<string[]> {
  const sessions = await server.sessions(1);
  return server.submit(Array<string>(TASKS).fill(sessions[0]), 'Read me.');
}

/** A baseline server (`baseline-status-server.ts`) reading `dbFile`, once it listens. */
export async function startBaseline(
  mode: 'bare' | 'express',
  dbFile: string,
): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '-r',
      require.resolve('ts-node/register/transpile-only'),
      join(__dirname, 'baseline-status-server.ts'),
      mode,
      dbFile,
      String(port),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${mode} server exited ${String(code)}`)));
  });
  return { base: `http://127.0.0.1:${port}`, child };
}
