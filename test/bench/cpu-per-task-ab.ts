/**
 * Benchmark (issue 13, target a) for one change to the server's CPU per task: this build and
 * another one (a commit before the change, built in a worktree of its own), each a server of its
 * own as `cpu-per-task.ts` runs it, measured in batches that alternate between the two (the
 * order swaps every round), so a disturbance of the machine lands on both builds alike and each
 * round compares the two within minutes of each other. A batch's figures vary by ±10 % from one
 * to the next on a shared 2-core machine; the paired ratios' median says more than any one round.
 *
 * Both servers are warmed up with `warmup` tasks first (see `cpu-per-task.ts`), then each round
 * runs a batch of `tasks` on each. Per round: each build's server + host CPU per task and its
 * ratio to the children's CPU, and this build's server + host CPU over the other's.
 *
 *   git worktree add /tmp/before <commit> && cd /tmp/before && ln -s <this>/node_modules \
 *     && mkdir -p build && cc -O2 -Wall -o build/spawn-helper native/spawn-helper.c \
 *     && npm run build && cd -
 *   npm run build && TS_NODE_PROJECT=tsconfig.json npx ts-node -r tsconfig-paths/register \
 *     --transpile-only test/bench/cpu-per-task-ab.ts /tmp/before/dist/src/main.js \
 *     [rounds=8] [tasks=64] [warmup=192]
 *
 * Recorded output: test/bench/RESULTS.md.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { wholeArg } from 'test/bench/support/args';
import { startBenchServer } from 'test/bench/support/bench-server';
import { spread } from 'test/bench/support/stats';
import {
  BatchResult,
  measureBatch,
  ratioOf,
  TASK_CPU_ENV,
  warmUp,
} from 'test/bench/support/task-cpu';

const perTask = (r: BatchResult): number => (r.serverMs + r.hostMs) / r.tasks;

async function main(): Promise<void> {
  const other = process.argv[2];
  if (!other || !existsSync(other)) {
    throw new Error(
      'usage: cpu-per-task-ab.ts <other build>/dist/src/main.js [rounds] [tasks] [warmup]',
    );
  }
  const rounds = wholeArg(2, 'rounds', 8);
  const tasks = wholeArg(3, 'tasks', 64);
  const warmup = wholeArg(4, 'warmup', 192, 0);
  console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log(
    `this build against ${other}: ${rounds} rounds of one batch of ${tasks} tasks each, after ${warmup} warm-up tasks each, isolation worktree, MAX_CONCURRENT_TASKS 4, SQLite\n`,
  );
  const mine = await startBenchServer(TASK_CPU_ENV);
  const theirs = await startBenchServer(TASK_CPU_ENV, { entry: other });
  try {
    await warmUp(mine, warmup, 'worktree');
    await warmUp(theirs, warmup, 'worktree');
    console.log(
      '| round | this: server + host ms/task | this: ratio | other: server + host ms/task | other: ratio | this / other (server + host) |',
    );
    console.log('|---|---|---|---|---|---|');
    const paired: number[] = [];
    const ratios = { mine: [] as number[], theirs: [] as number[] };
    for (let round = 1; round <= rounds; round += 1) {
      const first = round % 2 === 1 ? mine : theirs;
      const second = first === mine ? theirs : mine;
      const a = await measureBatch(first, tasks, 'worktree');
      const b = await measureBatch(second, tasks, 'worktree');
      const [m, t] = first === mine ? [a, b] : [b, a];
      paired.push(perTask(m) / perTask(t));
      ratios.mine.push(ratioOf(m));
      ratios.theirs.push(ratioOf(t));
      console.log(
        `| ${round} | ${perTask(m).toFixed(1)} | ${ratioOf(m).toFixed(3)} | ${perTask(t).toFixed(1)} | ${ratioOf(t).toFixed(3)} | ${paired[paired.length - 1].toFixed(3)} |`,
      );
    }
    console.log(
      `\nthis / other, server + host CPU per task, min / median / max: ${spread(paired, 3)}`,
    );
    console.log(`ratio (target a), this build:  ${spread(ratios.mine, 3)}`);
    console.log(`ratio (target a), other build: ${spread(ratios.theirs, 3)}`);
  } finally {
    await mine.stop();
    await theirs.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
