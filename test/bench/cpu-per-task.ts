/**
 * Benchmark (issue 13, target a): the server's CPU per task against its children's CPU.
 *
 * A built server (`npm run build`) runs as its own process on SQLite with MAX_CONCURRENT_TASKS 4.
 * Each task is the full lifecycle through real processes: two fake-CLI turns (the work; then the
 * write-tests turn, which writes a passing node:test file) and one `node --test` run, in its own
 * git-initialised copy of the node-basic fixture. After `warmup` tasks (192 unless told), the
 * server's own CPU time, its process host's and its spawn helper's are read from /proc before and
 * after a batch of tasks, and so is the CPU of their children (every agent, test command and git
 * call, which they wait for). The ratio is server CPU (server + host + helper) / children CPU for
 * the batch. The server starts its children through its own spawn helper
 * (`src/process/local-children.ts`) where `npm ci` built it, else through the host. The helper's
 * own CPU counts with the server's and its children's with the children (it waits for them, so
 * they are in its /proc times).
 *
 * The ratio's denominator is mostly the start-up of the children (four Node processes a task: two
 * agent turns, `node --test` and its test file's process, besides git), so the same server
 * measures a lower ratio on a machine where starting a process is dear. The first lines printed
 * say what starting a Node process and a git call costs on the machine
 * (`support/process-start-cost.ts`), so results from different machines can be told apart.
 *
 * The warm-up: V8 compiles the server's code while it runs (on background threads, which count
 * here), and a task's code runs only a few times per task, so the server's CPU per task falls
 * over its first couple of hundred tasks (measured: `warmup` 0 and `batches` 10 print the curve,
 * test/bench/RESULTS.md) and then holds. The figure is the steady state a long-running server
 * has; a warm-up of 0 gives a fresh server's.
 *
 * With isolation `worktree` (the default for a repository) each task also gets its own git
 * worktree and branch and its work is committed there: 8 git processes per task besides
 * the two agent turns and the test run. With `none` the task works in place.
 *
 *   npm run build && TS_NODE_PROJECT=tsconfig.json npx ts-node -r tsconfig-paths/register \
 *     --transpile-only test/bench/cpu-per-task.ts [tasks=64] [runs=3] [isolation=worktree|none] \
 *     [warmup=192] [batches=1]
 *
 * With `batches` above 1 each run measures that many batches of `tasks` one after another (a line
 * each); the summary takes each run's last batch.
 *
 * Recorded output: test/bench/RESULTS.md.
 */
import { cpus } from 'node:os';
import { choiceArg, wholeArg } from 'test/bench/support/args';
import { startBenchServer } from 'test/bench/support/bench-server';
import { processStartCost } from 'test/bench/support/process-start-cost';
import { spread } from 'test/bench/support/stats';
import {
  BatchResult,
  measureBatch,
  ratioOf,
  TASK_CPU_ENV,
  warmUp,
} from 'test/bench/support/task-cpu';

/** One server: `warmup` tasks unmeasured, then `batches` batches of `tasks`, each measured. */
async function run(
  tasks: number,
  isolation: 'worktree' | 'none',
  warmup: number,
  batches: number,
): Promise<BatchResult[]> {
  const bench = await startBenchServer(TASK_CPU_ENV);
  try {
    await warmUp(bench, warmup, isolation);
    const results: BatchResult[] = [];
    for (let batch = 0; batch < batches; batch += 1) {
      results.push(await measureBatch(bench, tasks, isolation));
    }
    return results;
  } finally {
    await bench.stop();
  }
}

async function main(): Promise<void> {
  const tasks = wholeArg(1, 'tasks', 64);
  const runs = wholeArg(2, 'runs', 3);
  const isolation = choiceArg(3, 'isolation', ['worktree', 'none']);
  const warmup = wholeArg(4, 'warmup', 192, 0);
  const batches = wholeArg(5, 'batches', 1);
  console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  const start = processStartCost();
  console.log(
    `Starting a process here, its own CPU: node -e '' ${start.nodeMs.toFixed(1)} ms, git --version ${start.gitMs.toFixed(2)} ms`,
  );
  console.log(
    `${tasks} tasks per batch, ${batches} batch(es) per run after ${warmup} warm-up tasks, isolation ${isolation}, MAX_CONCURRENT_TASKS 4, SQLite\n`,
  );
  console.log(
    '| run | batch | completed | spawn helper | server ms/task | host (+ helper) ms/task | children ms/task | (server + host) / children |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  const ratios: number[] = [];
  for (let i = 1; i <= runs; i += 1) {
    const results = await run(tasks, isolation, warmup, batches);
    results.forEach((r, b) => {
      const ratio = ratioOf(r);
      if (b === results.length - 1) ratios.push(ratio);
      const per = (ms: number) => (ms / r.tasks).toFixed(1);
      console.log(
        `| ${i} | ${b + 1} | ${r.completed}/${r.tasks} | ${r.spawnHelper ? 'yes' : 'no'} | ${per(r.serverMs)} | ${per(r.hostMs)} | ${per(r.childrenMs)} | ${ratio.toFixed(3)} |`,
      );
    });
  }
  console.log(
    `\nratio of each run's last batch, min / median / max: ${spread(ratios, 3)} (target ≤ 0.10)`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
