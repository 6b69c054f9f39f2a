/**
 * Benchmark (issue 12, item 5): 1, 50 and 200 tasks streaming at once (MAX_CONCURRENT_TASKS =
 * tasks), each followed by its own SSE client on `GET /api/v1/tasks/{id}/events`.
 *
 * A built server (`npm run build`) runs as its own process on SQLite. Each task runs in place
 * (`isolation: none`) in its own git-initialised copy of the node-basic fixture, so the figures
 * are the stream's, not the start of 200 worktrees (many-tasks.ts measures that). Each task's first
 * fake-CLI turn waits until every task's agent is running (`barrier`, looking every 500 ms: 200
 * agents looking every 25 ms loaded the machine more than the streams), so the streams overlap
 * however long the tasks take to start; the next turn prints `LINES` assistant lines `DELAY_MS`
 * apart, each stamped with the wall-clock time it was written (`slow-stream ... stamp=yes`); then
 * the write-tests turn and one `node --test` run. Each task's client connects right after the task
 * is created and reads until the stream's `end`. Measured over the whole run, from the first task
 * submitted to the last stream ended:
 *
 * - line delay: for each `progress` line, the time from the fake agent writing it to the client
 *   parsing its SSE event (`performance.timeOrigin + performance.now()` on both sides; two
 *   processes on one machine agree to ≈ 0.1 ms); p50, p99 and max over all lines of the run, and
 *   p99 over the lines printed while every task was streaming (after the last task's first line,
 *   before the first task's last line: without the burst of 200 turns ending and starting at
 *   the barrier, nor the tasks' ends). It includes the client's own event-loop delay, reported
 *   beside it (`monitorEventLoopDelay` in this process, 1 ms resolution). Its first part, print to
 *   stored (the event's `created_at`, taken as its write starts, whole ms: ±1 ms), separates the
 *   way in (stdout, process host, parser, TurnWriter) from the way out (the write, the wake-up,
 *   the stream's read, the SSE write, the client).
 * - event-loop delay in the server: its own `nodejs_eventloop_lag_p99_seconds` (prom-client over
 *   `monitorEventLoopDelay`, 10 ms resolution, reset at each scrape), scraped from `/metrics`
 *   every 5 s; the figure is the largest scraped p99 (10 ms means no delay at all).
 * - RSS of the server process (not its process host), sampled every second; the largest.
 * - CPU time of the server and of its process host over the run (/proc), and the start spread:
 *   from the first task's first line to the last task's (the part of the run that is not yet
 *   every task streaming).
 * - lines received: every line printed must reach its client once.
 *
 *   npm run build && TS_NODE_PROJECT=tsconfig.json npx ts-node -r tsconfig-paths/register \
 *     --transpile-only test/bench/streaming.ts [sizes=1,50,200] [runs=3]
 *
 * The sizes run in rounds (1, 50, 200, then again), so the machine's other work spreads over all
 * of them. Recorded output: test/bench/RESULTS.md.
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { concurrentTasksEnv, startBenchServer } from 'test/bench/support/bench-server';
import { every, scrapeLoopP99 } from 'test/bench/support/sampling';
import { cpuTimes } from 'test/bench/support/proc-stat';
import { percentile, spread } from 'test/bench/support/stats';
import { SseClient } from 'test/e2e/support/sse-client';
import { fakeScript, quoted } from 'test/e2e/support/task-polling';

const LINES = 40;
const DELAY_MS = 1500;
const STAMPED = /^progress \d+\/\d+ printed_at=(\d+\.\d+)$/;

interface RunResult {
  tasks: number;
  completed: number;
  linesReceived: number;
  linesPrinted: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  allStreamingP99Ms: number;
  allStreamingLines: number;
  toStoredP50Ms: number;
  toStoredP99Ms: number;
  loopP99Ms: number;
  clientLoopP99Ms: number;
  rssMb: number;
  /** CPU time of the server and of its process host over the run, s. */
  serverCpuS: number;
  hostCpuS: number;
  /** From the first task's first line to the last task's first line, s. */
  startSpreadS: number;
  /** The machine's 1-minute load average as the run ended (2 cores: above 2, work waits). */
  load: number;
}

/** A line as its client received it. */
interface Received {
  task: number;
  printedAt: number;
  delayMs: number;
  /** From the line's print to the start of its write (its `created_at`, whole ms). */
  toStoredMs: number;
}

const wallClock = (): number => performance.timeOrigin + performance.now();

/** Follows task `index`'s stream, recording each stamped line's delay as its event is parsed. */
async function follow(url: string, index: number, received: Received[]): Promise<SseClient> {
  const client = await SseClient.connect(url);
  if (client.status !== 200) throw new Error(`${url}: ${client.status}`);
  client.onEvent((event) => {
    const at = wallClock();
    if (event.event !== 'message') return;
    const { kind, content, created_at } = JSON.parse(event.data) as {
      kind: string;
      content: string | null;
      created_at: string;
    };
    const stamp = kind === 'assistant' ? STAMPED.exec(content ?? '') : null;
    if (stamp === null) return;
    const printedAt = Number(stamp[1]);
    received.push({
      task: index,
      printedAt,
      delayMs: at - printedAt,
      toStoredMs: Date.parse(created_at) - printedAt,
    });
  });
  return client;
}

/** The lines printed while every task was streaming: after the last first line, before the first last line. */
function whileAllStreaming(
  received: readonly Received[],
  tasks: number,
): { lines: Received[]; startSpreadMs: number } {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  for (const r of received) {
    first.set(r.task, Math.min(first.get(r.task) ?? Infinity, r.printedAt));
    last.set(r.task, Math.max(last.get(r.task) ?? -Infinity, r.printedAt));
  }
  if (first.size < tasks) return { lines: [], startSpreadMs: NaN };
  const from = Math.max(...first.values());
  const to = Math.min(...last.values());
  return {
    lines: received.filter((r) => r.printedAt >= from && r.printedAt <= to),
    startSpreadMs: from - Math.min(...first.values()),
  };
}

async function run(tasks: number): Promise<RunResult> {
  const bench = await startBenchServer({
    ...concurrentTasksEnv(tasks),
    CLI_TIMEOUT_SECONDS: '900',
  });
  const clients: SseClient[] = [];
  try {
    const sessions = await bench.sessions(tasks, 'none');
    const barrier = `barrier dir=${join(bench.work, 'barrier')} count=${tasks} timeout=600000 poll=500 text=${quoted('All agents are running.')}`;
    const stream = `slow-stream lines=${LINES} delay=${DELAY_MS} stamp=yes`;
    const description = `Stream. ${fakeScript(barrier, stream, 'write-tests lang=node result=pass')}`;
    const serverPid = bench.server.child.pid!;
    const hostPid = bench.server.hostPid()!;
    const cpuBefore = { server: cpuTimes(serverPid).selfMs, host: cpuTimes(hostPid).selfMs };
    const received: Received[] = [];
    const clientLoop = monitorEventLoopDelay({ resolution: 1 });
    await scrapeLoopP99(bench.base);
    clientLoop.enable();
    const ids: string[] = [];
    for (const [index, session] of sessions.entries()) {
      const [id] = await bench.submit([session], description);
      ids.push(id);
      clients.push(await follow(`${bench.base}/api/v1/tasks/${id}/events`, index, received));
    }
    const ended = Promise.all(clients.map((c) => c.closed));
    const loopP99s: number[] = [];
    let rss = 0;
    await Promise.all([
      every(5000, ended, async () => {
        loopP99s.push(await scrapeLoopP99(bench.base));
      }),
      every(1000, ended, () => {
        rss = Math.max(rss, cpuTimes(serverPid).rssBytes);
        return Promise.resolve();
      }),
    ]);
    clientLoop.disable();
    const cpuAfter = { server: cpuTimes(serverPid).selfMs, host: cpuTimes(hostPid).selfMs };
    const statuses = await bench.waitTerminal(ids);
    const delays = received.map((r) => r.delayMs);
    const toStored = received.map((r) => r.toStoredMs);
    const window = whileAllStreaming(received, tasks);
    const steady = window.lines.map((r) => r.delayMs);
    return {
      tasks,
      completed: [...statuses.values()].filter((s) => s === 'COMPLETED').length,
      linesReceived: received.length,
      linesPrinted: tasks * LINES,
      p50Ms: percentile(delays, 50),
      p99Ms: percentile(delays, 99),
      maxMs: Math.max(...delays),
      allStreamingP99Ms: steady.length > 0 ? percentile(steady, 99) : NaN,
      allStreamingLines: steady.length,
      toStoredP50Ms: percentile(toStored, 50),
      toStoredP99Ms: percentile(toStored, 99),
      loopP99Ms: Math.max(...loopP99s),
      clientLoopP99Ms: clientLoop.percentile(99) / 1e6,
      rssMb: rss / 1024 / 1024,
      serverCpuS: (cpuAfter.server - cpuBefore.server) / 1000,
      hostCpuS: (cpuAfter.host - cpuBefore.host) / 1000,
      startSpreadS: window.startSpreadMs / 1000,
      load: loadavg()[0],
    };
  } finally {
    for (const client of clients) client.close();
    await bench.stop();
  }
}

function row(r: RunResult, round: number): string {
  return [
    round,
    `${r.completed}/${r.tasks}`,
    `${r.linesReceived} / ${r.linesPrinted}`,
    r.p50Ms.toFixed(1),
    r.p99Ms.toFixed(1),
    r.maxMs.toFixed(0),
    `${r.allStreamingP99Ms.toFixed(1)} (${r.allStreamingLines})`,
    `${r.toStoredP50Ms.toFixed(0)} / ${r.toStoredP99Ms.toFixed(0)}`,
    r.loopP99Ms.toFixed(1),
    r.clientLoopP99Ms.toFixed(1),
    r.rssMb.toFixed(0),
    `${r.serverCpuS.toFixed(1)} / ${r.hostCpuS.toFixed(1)}`,
    r.startSpreadS.toFixed(1),
    r.load.toFixed(1),
  ].join(' | ');
}

const HEADER =
  '| tasks | round | completed | lines received / printed | delay p50 (ms) | delay p99 (ms) | delay max (ms) | p99 while all stream (ms, lines) | print to stored p50 / p99 (ms) | server loop p99 (ms) | client loop p99 (ms) | server RSS (MB) | server / host CPU (s) | start spread (s) | load avg |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|';

async function main(): Promise<void> {
  const sizes = (process.argv[2] ?? '1,50,200').split(',').map(Number);
  const rounds = Number(process.argv[3] ?? 3);
  console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log(
    `tasks streaming at once (MAX_CONCURRENT_TASKS = tasks), SQLite, in place, agents print ${LINES} lines ${DELAY_MS} ms apart, one SSE client per task\n`,
  );
  console.log(HEADER);
  const results = new Map<number, RunResult[]>(sizes.map((size) => [size, []]));
  for (let round = 1; round <= rounds; round += 1) {
    for (const size of sizes) {
      const r = await run(size);
      results.get(size)!.push(r);
      console.log(`| ${size} | ${row(r, round)} |`);
    }
  }
  console.log('');
  for (const [size, runs] of results) {
    // Fewer than three runs: each run's figure, in order.
    const of = (pick: (r: RunResult) => number, digits: number) =>
      runs.length >= 3
        ? spread(runs.map(pick), digits)
        : runs.map((r) => pick(r).toFixed(digits)).join(', ');
    console.log(
      `${size} tasks, ${runs.length >= 3 ? 'min / median / max' : 'runs'}: delay p50 ${of((r) => r.p50Ms, 1)} ms, p99 ${of((r) => r.p99Ms, 1)} ms (target < 10 ms at 200), p99 while all stream ${of((r) => r.allStreamingP99Ms, 1)} ms, server loop p99 ${of((r) => r.loopP99Ms, 1)} ms, server RSS ${of((r) => r.rssMb, 0)} MB (target < 300 MB at 200)`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
