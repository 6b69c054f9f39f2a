import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { cpuTimes } from 'test/bench/support/proc-stat';
import { freePort } from 'test/e2e/support/server-process';

/** Connections of the status-read load (issue 13: `-c50`). */
export const CONNECTIONS = 50;

export interface Load {
  requestsPerSecond: number;
  /** CPU time of the server's process per answered request, µs (its own threads, not children). */
  cpuPerRequestUs: number;
  p99Ms: number;
  non2xx: number;
  /** What went wrong when non2xx > 0: status codes, errors and timeouts. */
  failures: string;
}

/**
 * Status reads of the tasks `ids` in rotation on the server at `base` (process `pid`) for
 * `seconds`, by autocannon with CONNECTIONS connections, in this process.
 */
export async function loadStatusReads(
  base: string,
  pid: number,
  ids: readonly string[],
  seconds: number,
  headers: Record<string, string> = {},
): Promise<Load> {
  let next = 0;
  const before = cpuTimes(pid).selfMs;
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
  const cpuMs = cpuTimes(pid).selfMs - before;
  return {
    requestsPerSecond: result.requests.average,
    cpuPerRequestUs: (cpuMs * 1000) / Math.max(1, result.requests.total),
    p99Ms: result.latency.p99,
    non2xx: result.non2xx + result.errors,
    failures: JSON.stringify({
      statusCodes: result.statusCodeStats,
      errors: result.errors,
      timeouts: result.timeouts,
    }),
  };
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
