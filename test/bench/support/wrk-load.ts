import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LoadRun } from 'test/bench/support/status-load';

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/**
 * Status reads of the tasks `ids` in rotation on the server at `base` for `seconds`, by wrk in
 * another process (`wrk -t2 -c<connections> -d<seconds>s --latency`, issue 13's command), with
 * `headers` on every request. wrk must be installed (Debian's `wrk`).
 */
export async function wrkStatusReads(
  base: string,
  ids: readonly string[],
  seconds: number,
  connections: number,
  headers: Record<string, string>,
): Promise<LoadRun> {
  const dir = mkdtempSync(join(tmpdir(), 'cta-wrk-'));
  const script = join(dir, 'status.lua');
  writeFileSync(
    script,
    [
      `local ids = { ${ids.map((id) => `"${id}"`).join(', ')} }`,
      'local next = 0',
      'request = function()',
      '  next = next + 1',
      '  return wrk.format("GET", "/api/v1/tasks/" .. ids[(next % #ids) + 1] .. "/status")',
      'end',
    ].join('\n'),
  );
  try {
    const args = ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script];
    for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
    const { stdout } = await promisify(execFile)('wrk', [...args, base]);
    return parseWrk(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseWrk(out: string): LoadRun {
  const number = (pattern: RegExp): number => {
    const match = pattern.exec(out);
    if (match === null) throw new Error(`wrk printed no ${String(pattern)}:\n${out}`);
    return Number(match[1]);
  };
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  if (p99 === null) throw new Error(`wrk printed no 99th percentile:\n${out}`);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((n, v) => n + Number(v), 0);
  const failed = Number(non2xx?.[1] ?? 0) + socketErrors;
  return {
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    total: number(/(\d+) requests in /),
    p99Ms: Number(p99[1]) * UNIT_MS[p99[2]],
    failed,
    failures: failed > 0 ? [non2xx?.[0], socket?.[0]].filter(Boolean).join('; ') : '',
  };
}
