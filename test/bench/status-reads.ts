/**
 * Benchmark (issue 13, target c): `GET /api/v1/tasks/{id}/status` throughput and latency of the
 * server against a bare `node:http` + better-sqlite3 server doing the same read, in the same run,
 * on the same SQLite file. A third server, the same read as a plain Express route
 * (`support/baseline-status-server.ts`), shows how much of the bare figure the HTTP framework
 * under the server's Nest application leaves before any of the server's own work.
 *
 * The built server (`npm run build`) runs as its own process with the orchestrator off and 100
 * queued tasks; the baselines open the same file read-only. Each is loaded in turn by
 * autocannon (50 connections, 10 s, after a 3 s warm-up; the ids of the 100 tasks in rotation),
 * three rounds. The load generator shares the machine's 2 cores with the server under test, the
 * same for both. Beside throughput, each server's CPU time per answered request (its process's
 * user + system time over the measurement, from /proc), which does not depend on how the load
 * generator and the server share the cores. A second argument sets the server's LOG_LEVEL: `warn`
 * (the benchmarks' default: no line per request) or `log` (the server's default: one line per
 * request). A third, `key`, sends every request with an admin API key (the server then checks it
 * and counts it against a rate limit it never reaches), as a deployment with keys does; `none`
 * (the default) reads as the local operator. A fourth, `wrk`, loads each server with wrk
 * (`wrk -t2 -c50`, issue 13's command; Debian's `wrk` installed) in its own process rather than
 * autocannon in this one. At the end, the server's CPU time in 10 s without load.
 *
 *   npm run build && TS_NODE_PROJECT=tsconfig.json npx ts-node -r tsconfig-paths/register \
 *     --transpile-only test/bench/status-reads.ts [rounds=3] [log level=warn] [auth=none] \
 *     [loader=autocannon|wrk]
 *
 * Recorded output: test/bench/RESULTS.md.
 */
import { cpus } from 'node:os';
import { choiceArg, wholeArg } from 'test/bench/support/args';
import { startBenchServer } from 'test/bench/support/bench-server';
import { cpuTimes } from 'test/bench/support/proc-stat';
import { spread } from 'test/bench/support/stats';
import {
  CONNECTIONS,
  Load,
  loadStatusReads,
  startBaseline,
  TASKS,
  tasksToRead,
  WARMUP_S,
} from 'test/bench/support/status-load';

const DURATION_S = 10;
/** Seconds without load at the end, to see what the server still does after it. */
const IDLE_S = 10;

/** An admin key, created as the local operator before any key exists; keys are required after. */
async function adminKey(base: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', scopes: ['admin'] }),
  });
  if (res.status !== 201) throw new Error(`creating a key: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { key: string }).key;
}

async function main(): Promise<void> {
  const rounds = wholeArg(1, 'rounds', 3);
  const logLevel = choiceArg(2, 'log level', ['warn', 'log']);
  const auth = choiceArg(3, 'auth', ['none', 'key']);
  const loader = choiceArg(4, 'loader', ['autocannon', 'wrk']);
  const bench = await startBenchServer({
    LOG_LEVEL: logLevel,
    ORCHESTRATOR_ENABLED: 'false',
    // With a key, every request is counted by a limit it never reaches.
    RATE_LIMIT_PER_MINUTE: auth === 'key' ? '1000000000' : '0',
    MAX_QUEUED_TASKS_PER_KEY: String(TASKS),
  });
  const bare = await startBaseline('bare', bench.dbFile);
  const plain = await startBaseline('express', bench.dbFile);
  try {
    const ids = await tasksToRead(bench);
    const headers: Record<string, string> =
      auth === 'key' ? { authorization: `Bearer ${await adminKey(bench.base)}` } : {};
    console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
    console.log(
      `server LOG_LEVEL=${logLevel}, ${auth === 'key' ? 'every request with an API key' : 'no API key (local operator)'}`,
    );
    console.log(
      `${loader === 'wrk' ? 'wrk -t2' : 'autocannon'}, ${CONNECTIONS} connections, ${DURATION_S} s per measurement after ${WARMUP_S} s of warm-up, ${TASKS} task ids in rotation\n`,
    );
    console.log(
      '| round | server req/s | server p99 (ms) | bare req/s | bare p99 (ms) | ratio | Express req/s | Express p99 (ms) | Express / bare | CPU µs per request: server / bare / Express |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    const ratios: number[] = [];
    const ceilings: number[] = [];
    const p99s: number[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      const measured = new Map<string, Load>();
      for (const [name, base, pid] of [
        ['server', bench.base, bench.server.child.pid!],
        ['bare', bare.base, bare.child.pid!],
        ['Express', plain.base, plain.child.pid!],
      ] as const) {
        await loadStatusReads(base, pid, ids, WARMUP_S, headers, loader);
        const result = await loadStatusReads(base, pid, ids, DURATION_S, headers, loader);
        if (result.failed > 0) throw new Error(`${name}: ${result.failed} ${result.failures}`);
        measured.set(name, result);
      }
      const [ours, theirs, framework] = ['server', 'bare', 'Express'].map((n) => measured.get(n)!);
      const ratio = ours.requestsPerSecond / theirs.requestsPerSecond;
      const ceiling = framework.requestsPerSecond / theirs.requestsPerSecond;
      ratios.push(ratio);
      ceilings.push(ceiling);
      p99s.push(ours.p99Ms);
      console.log(
        `| ${round} | ${ours.requestsPerSecond.toFixed(0)} | ${ours.p99Ms} | ${theirs.requestsPerSecond.toFixed(0)} | ${theirs.p99Ms} | ${ratio.toFixed(2)} | ${framework.requestsPerSecond.toFixed(0)} | ${framework.p99Ms} | ${ceiling.toFixed(2)} | ${[ours, theirs, framework].map((l) => l.cpuPerRequestUs.toFixed(0)).join(' / ')} |`,
      );
    }
    console.log(`\nratio min / median / max: ${spread(ratios, 2)} (target ≥ 0.50)`);
    console.log(`server p99 min / median / max: ${spread(p99s, 0)} ms (target ≤ 10 ms)`);
    console.log(`Express alone / bare min / median / max: ${spread(ceilings, 2)}`);
    const pid = bench.server.child.pid!;
    const before = cpuTimes(pid).selfMs;
    await new Promise((resolve) => setTimeout(resolve, IDLE_S * 1000));
    console.log(
      `server CPU in the ${IDLE_S} s after the load: ${(cpuTimes(pid).selfMs - before).toFixed(0)} ms`,
    );
  } finally {
    bare.child.kill();
    plain.child.kill();
    await bench.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
