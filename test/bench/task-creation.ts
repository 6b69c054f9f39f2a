/**
 * Benchmark (issue 13, part of target a): the server's CPU per `POST /api/v1/sessions` and per
 * `POST /api/v1/tasks`, the requests every task of the CPU-per-task benchmark starts with.
 *
 * A built server (`npm run build`) runs as its own process on SQLite with its orchestrator off
 * (the tasks stay queued: nothing else runs). Each round creates `count` sessions (isolation
 * `none` unless told `worktree`, git-initialised copies of the node-basic fixture) one after
 * another, then one task in each; the server's CPU time (/proc) before and after each half gives
 * its CPU per request, and the wall time of the tasks' half their time per request (one after the
 * other: the request's latency). With `worktree` the server reads where each project is in its
 * repository, and for a task what is checked out there (its base commit). Early rounds run code
 * V8 has not optimised yet, as a server that just started does.
 *
 *   npm run build && TS_NODE_PROJECT=tsconfig.json npx ts-node -r tsconfig-paths/register \
 *     --transpile-only test/bench/task-creation.ts [count=64] [rounds=6] [isolation=none|worktree]
 *
 * Recorded output: test/bench/RESULTS.md.
 */
import { cpus } from 'node:os';
import { choiceArg } from 'test/bench/support/args';
import { startBenchServer } from 'test/bench/support/bench-server';
import { cpuTimes } from 'test/bench/support/proc-stat';
import { spread } from 'test/bench/support/stats';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 64);
  const rounds = Number(process.argv[3] ?? 6);
  const isolation = choiceArg(3, 'isolation', ['none', 'worktree']);
  console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log(
    `${count} sessions (isolation ${isolation}), then a task in each, per round; SQLite, orchestrator off\n`,
  );
  console.log(
    '| round | server CPU ms per POST /sessions | server CPU ms per POST /tasks | ms per POST /tasks |',
  );
  console.log('|---|---|---|---|');
  const queue = String(count * rounds);
  const bench = await startBenchServer({
    ORCHESTRATOR_ENABLED: 'false',
    MAX_QUEUED_TASKS: queue,
    MAX_QUEUED_TASKS_PER_KEY: queue,
    RATE_LIMIT_PER_MINUTE: '0',
  });
  const perTask: number[] = [];
  const latency: number[] = [];
  try {
    const pid = bench.server.child.pid!;
    for (let round = 1; round <= rounds; round += 1) {
      const start = cpuTimes(pid).selfMs;
      const sessions = await bench.sessions(count, isolation);
      const created = cpuTimes(pid).selfMs;
      const sent = performance.now();
      await bench.submit(sessions, 'Add a helper.');
      latency.push((performance.now() - sent) / count);
      const submitted = cpuTimes(pid).selfMs;
      perTask.push((submitted - created) / count);
      console.log(
        `| ${round} | ${((created - start) / count).toFixed(2)} | ${perTask[perTask.length - 1].toFixed(2)} | ${latency[latency.length - 1].toFixed(2)} |`,
      );
    }
  } finally {
    await bench.stop();
  }
  console.log(
    `\nPOST /tasks, server CPU ms per request, min / median / max: ${spread(perTask, 2)}`,
  );
  console.log(`POST /tasks, ms per request, min / median / max: ${spread(latency, 2)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
