/**
 * Benchmark (issue 13, target b): 200 tasks running at once (MAX_CONCURRENT_TASKS 200), each
 * agent printing a line every 2 s, measured from inside the server and from a client.
 *
 * A built server (`npm run build`) runs as its own process on SQLite. Each task is the full
 * lifecycle through real processes in its own git-initialised copy of the node-basic fixture
 * (its own worktree): a fake-CLI turn that prints `LINES` assistant lines `DELAY_MS` apart, the
 * write-tests turn, one `node --test` run. Measured over the whole run, from the first task
 * submitted to the last one finished (the start, 200 worktrees and agents at once, included):
 *
 * - event-loop delay: the server's own `nodejs_eventloop_lag_p99_seconds` (prom-client over
 *   `monitorEventLoopDelay`, 10 ms resolution, reset at each scrape), scraped from `/metrics`
 *   every 5 s; the figure is the largest scraped p99 (each window's p99 goes to stderr, in
 *   order, to show when in the run the worst ones were). The histogram's
 *   values include its 10 ms sampling interval, so 10 ms means no delay at all.
 * - `/health`: one request every 250 ms, its latency seen by the client; p99.
 * - RSS of the server process (not its process host), sampled every second; the largest.
 * - the size of the SQLite WAL file, sampled every second; the largest (its checkpoints keep it
 *   bounded: `SqliteCheckpointer`).
 * - interactions: every `progress i/N` line each agent printed must be stored once.
 *
 *   npm run build && TS_NODE_PROJECT=tsconfig.json npx ts-node -r tsconfig-paths/register \
 *     --transpile-only test/bench/many-tasks.ts [tasks=200] [runs=3]
 *
 * Recorded output: test/bench/RESULTS.md.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { wholeArg } from 'test/bench/support/args';
import { concurrentTasksEnv, startBenchServer } from 'test/bench/support/bench-server';
import { every, scrapeLoopP99 } from 'test/bench/support/sampling';
import { cpuTimes } from 'test/bench/support/proc-stat';
import { percentile, spread } from 'test/bench/support/stats';
import { walFileBytes } from 'test/bench/support/wal-file';
import { fakeScript } from 'test/e2e/support/task-polling';

const LINES = 60;
const DELAY_MS = 2000;

interface RunResult {
  tasks: number;
  completed: number;
  loopP99Ms: number;
  healthP99Ms: number;
  healthRequests: number;
  rssMb: number;
  walMb: number;
  linesStored: number;
  linesPrinted: number;
  /** Each 5-second window's event-loop p99 (ms), in order. */
  windows: number[];
}

async function run(tasks: number): Promise<RunResult> {
  const bench = await startBenchServer(concurrentTasksEnv(tasks));
  try {
    const sessions = await bench.sessions(tasks);
    const description = `Stream. ${fakeScript(`slow-stream lines=${LINES} delay=${DELAY_MS}`, 'write-tests lang=node result=pass')}`;
    const serverPid = bench.server.child.pid!;
    const ids = await bench.submit(sessions, description);
    const finished = bench.waitTerminal(ids);
    await scrapeLoopP99(bench.base);
    const loopP99s: number[] = [];
    const health: number[] = [];
    let rss = 0;
    let wal = 0;
    await Promise.all([
      every(5000, finished, async () => {
        loopP99s.push(await scrapeLoopP99(bench.base));
      }),
      every(250, finished, async () => {
        const started = performance.now();
        const res = await fetch(`${bench.base}/health`);
        await res.arrayBuffer();
        health.push(performance.now() - started);
      }),
      every(1000, finished, () => {
        rss = Math.max(rss, cpuTimes(serverPid).rssBytes);
        wal = Math.max(wal, walFileBytes(bench.dbFile));
        return Promise.resolve();
      }),
    ]);
    const statuses = await finished;
    const [{ stored }] = bench.query<{ stored: number }>(
      `SELECT count(*) AS stored FROM claude_interactions WHERE kind = 'assistant' AND content LIKE 'progress %/${LINES}'`,
    );
    return {
      tasks,
      completed: [...statuses.values()].filter((s) => s === 'COMPLETED').length,
      loopP99Ms: Math.max(...loopP99s),
      healthP99Ms: percentile(health, 99),
      healthRequests: health.length,
      rssMb: rss / 1024 / 1024,
      walMb: wal / 1024 / 1024,
      linesStored: stored,
      linesPrinted: tasks * LINES,
      windows: loopP99s,
    };
  } finally {
    await bench.stop();
  }
}

async function main(): Promise<void> {
  const tasks = wholeArg(1, 'tasks', 200);
  const runs = wholeArg(2, 'runs', 3);
  console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log(
    `${tasks} tasks at once (MAX_CONCURRENT_TASKS ${tasks}), SQLite, agents print ${LINES} lines ${DELAY_MS} ms apart\n`,
  );
  console.log(
    '| run | completed | event-loop p99 (ms) | /health p99 (ms) | /health requests | server RSS (MB) | lines stored / printed | WAL high-water (MB) |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  const loops: number[] = [];
  const healths: number[] = [];
  const rsss: number[] = [];
  for (let i = 1; i <= runs; i += 1) {
    const r = await run(tasks);
    loops.push(r.loopP99Ms);
    healths.push(r.healthP99Ms);
    rsss.push(r.rssMb);
    console.log(
      `| ${i} | ${r.completed}/${r.tasks} | ${r.loopP99Ms.toFixed(1)} | ${r.healthP99Ms.toFixed(1)} | ${r.healthRequests} | ${r.rssMb.toFixed(0)} | ${r.linesStored} / ${r.linesPrinted} | ${r.walMb.toFixed(1)} |`,
    );
    console.error(
      `run ${i}, event-loop p99 of each 5 s window (ms): ${r.windows.map((w) => w.toFixed(0)).join(' ')}`,
    );
  }
  console.log(`\nevent-loop p99 min / median / max: ${spread(loops, 1)} ms (target ≤ 20 ms)`);
  console.log(`/health p99 min / median / max: ${spread(healths, 1)} ms (target ≤ 50 ms)`);
  console.log(`server RSS min / median / max: ${spread(rsss, 0)} MB (target ≤ 300 MB)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
