/**
 * Benchmark (issue 13, target a): the server's CPU per task against its children's CPU.
 *
 * A built server (`npm run build`) runs as its own process on SQLite with MAX_CONCURRENT_TASKS 4.
 * Each task is the full lifecycle through real processes: two fake-CLI turns (the work; then the
 * write-tests turn, which writes a passing node:test file) and one `node --test` run, in its own
 * git-initialised copy of the node-basic fixture. After sixteen warm-up tasks, the server's own CPU
 * time, its process host's and its spawn helper's are read from /proc before and after a batch of
 * tasks, and so is the CPU of their children (every agent, test command and git call, which they
 * wait for). The ratio is server CPU (server + host + helper) / children CPU for the batch. The
 * server starts its children through its own spawn helper (`src/process/local-children.ts`) where
 * `npm ci` built it, else through the host. The helper's own CPU counts with the server's and its
 * children's with the children (it waits for them, so they are in its /proc times).
 *
 * With isolation `worktree` (the default for a repository) each task also gets its own git
 * worktree and branch and its work is committed there: about 7 git processes per task besides
 * the two agent turns and the test run. With `none` the task works in place.
 *
 *   npm run build && TS_NODE_PROJECT=tsconfig.json npx ts-node -r tsconfig-paths/register \
 *     --transpile-only test/bench/cpu-per-task.ts [tasks=64] [runs=3] [isolation=worktree|none]
 *
 * Recorded output: test/bench/RESULTS.md.
 */
import { cpus } from 'node:os';
import { startBenchServer } from 'test/bench/support/bench-server';
import { cpuTimes, CpuTimes } from 'test/bench/support/proc-stat';
import { spread } from 'test/bench/support/stats';
import { fakeScript } from 'test/e2e/support/task-polling';

interface RunResult {
  tasks: number;
  completed: number;
  /** Whether the server started its children through its spawn helper. */
  spawnHelper: boolean;
  serverMs: number;
  hostMs: number;
  childrenMs: number;
}

/** Tasks run first and not measured: the server compiles its hot code while it runs them. */
const WARMUP_TASKS = 16;

const NO_TIMES: CpuTimes = { selfMs: 0, childrenMs: 0, rssBytes: 0 };

const DESCRIPTION = `Add a helper. ${fakeScript('success', 'write-tests lang=node result=pass')}`;

async function run(tasks: number, isolation: 'worktree' | 'none'): Promise<RunResult> {
  const bench = await startBenchServer({ MAX_CONCURRENT_TASKS: '4', QUEUE_POLL_MS: '1000' });
  try {
    const warmup = await bench.submit(await bench.sessions(WARMUP_TASKS, isolation), DESCRIPTION);
    await bench.waitTerminal(warmup);
    const sessions = await bench.sessions(tasks, isolation);
    const serverPid = bench.server.child.pid!;
    const hostPid = bench.server.hostPid()!;
    // Without a helper the host starts the children (Node's spawn): they count with the host's.
    const helperPid = bench.server.helperPid();
    const times = () => ({
      server: cpuTimes(serverPid),
      host: cpuTimes(hostPid),
      helper: helperPid === null ? NO_TIMES : cpuTimes(helperPid),
    });
    const before = times();
    const ids = await bench.submit(sessions, DESCRIPTION);
    const statuses = await bench.waitTerminal(ids);
    const after = times();
    const spent = (of: (t: ReturnType<typeof times>) => number) => of(after) - of(before);
    return {
      tasks,
      completed: [...statuses.values()].filter((s) => s === 'COMPLETED').length,
      spawnHelper: helperPid !== null,
      serverMs: spent((t) => t.server.selfMs),
      hostMs: spent((t) => t.host.selfMs + t.helper.selfMs),
      childrenMs: spent((t) => t.host.childrenMs + t.helper.childrenMs),
    };
  } finally {
    await bench.stop();
  }
}

async function main(): Promise<void> {
  const tasks = Number(process.argv[2] ?? 64);
  const runs = Number(process.argv[3] ?? 3);
  const isolation = process.argv[4] === 'none' ? 'none' : 'worktree';
  console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log(`${tasks} tasks per run, isolation ${isolation}, MAX_CONCURRENT_TASKS 4, SQLite\n`);
  console.log(
    '| run | completed | spawn helper | server ms/task | host (+ helper) ms/task | children ms/task | (server + host) / children |',
  );
  console.log('|---|---|---|---|---|---|---|');
  const ratios: number[] = [];
  for (let i = 1; i <= runs; i += 1) {
    const r = await run(tasks, isolation);
    const ratio = (r.serverMs + r.hostMs) / r.childrenMs;
    ratios.push(ratio);
    const per = (ms: number) => (ms / r.tasks).toFixed(1);
    console.log(
      `| ${i} | ${r.completed}/${r.tasks} | ${r.spawnHelper ? 'yes' : 'no'} | ${per(r.serverMs)} | ${per(r.hostMs)} | ${per(r.childrenMs)} | ${ratio.toFixed(3)} |`,
    );
  }
  console.log(`\nratio min / median / max: ${spread(ratios, 3)} (target ≤ 0.10)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
