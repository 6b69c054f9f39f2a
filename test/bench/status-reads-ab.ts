/**
 * Benchmark (issue 13, target c) for one change to the status read: this build of the server
 * and another one (a commit before the change, built in a worktree of its own), side by side,
 * with the bare `node:http` + better-sqlite3 server of `status-reads.ts`, in alternating short
 * slices. `status-reads.ts` loads each server for 10 s in turn, so a disturbance of the host
 * lands on one of them; here each round loads the three for a few seconds each, the two builds
 * in turns that swap places every round, and compares them within the round.
 *
 * Both builds run the same way and with the same history: each is started by `startBenchServer`
 * on a fresh SQLite file (LOG_LEVEL as given, the orchestrator off), then gets one session and
 * 100 tasks through its API. The history matters: a server that has answered nothing but
 * `/health` and status reads spends less per read than one that created its tasks through
 * Express (another mix of shapes met by the same code), so a comparison of two builds needs both
 * to have made the same requests. The bare server reads this build's file.
 *
 * Per round: each server's CPU time per read (its process's user + system time over the slice,
 * from /proc), this build's CPU per read over the other's, and each build's throughput over the
 * bare server's (target c's ratio). At the end, min / median / max of those.
 *
 *   git worktree add /tmp/before <commit> && cd /tmp/before && ln -s <this>/node_modules \
 *     && mkdir -p build && cc -O2 -Wall -o build/spawn-helper native/spawn-helper.c \
 *     && npm run build && cd -
 *   npm run build && TS_NODE_PROJECT=tsconfig.json npx ts-node -r tsconfig-paths/register \
 *     --transpile-only test/bench/status-reads-ab.ts /tmp/before/dist/src/main.js \
 *     [rounds=8] [seconds per slice=3] [log level=log]
 *
 * Recorded output: test/bench/RESULTS.md.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { choiceArg, wholeArg } from 'test/bench/support/args';
import { startBenchServer } from 'test/bench/support/bench-server';
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

interface Target {
  name: 'this' | 'other' | 'bare';
  base: string;
  pid: number;
  ids: readonly string[];
}

async function main(): Promise<void> {
  const other = process.argv[2];
  if (other === undefined || !existsSync(other)) {
    throw new Error(`argument 1: the other build's dist/src/main.js, not "${other ?? ''}"`);
  }
  const rounds = wholeArg(2, 'rounds', 8);
  const seconds = wholeArg(3, 'seconds per slice', 3);
  const logLevel = choiceArg(4, 'log level', ['log', 'warn']);
  const env = {
    LOG_LEVEL: logLevel,
    ORCHESTRATOR_ENABLED: 'false',
    RATE_LIMIT_PER_MINUTE: '0',
    MAX_QUEUED_TASKS_PER_KEY: String(TASKS),
  };
  const mine = await startBenchServer(env);
  const theirs = await startBenchServer(env, { entry: other });
  const bare = await startBaseline('bare', mine.dbFile);
  try {
    const mineIds = await tasksToRead(mine);
    const targets: Record<Target['name'], Target> = {
      this: { name: 'this', base: mine.base, pid: mine.server.child.pid!, ids: mineIds },
      other: {
        name: 'other',
        base: theirs.base,
        pid: theirs.server.child.pid!,
        ids: await tasksToRead(theirs),
      },
      bare: { name: 'bare', base: bare.base, pid: bare.child.pid!, ids: mineIds },
    };
    const measure = async (target: Target, slice: number): Promise<Load> => {
      const load = await loadStatusReads(target.base, target.pid, target.ids, slice);
      if (load.failed > 0) throw new Error(`${target.name}: ${load.failed} ${load.failures}`);
      return load;
    };
    for (const target of Object.values(targets)) await measure(target, WARMUP_S);
    console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
    console.log(
      `this build against ${other}; LOG_LEVEL=${logLevel}, no API key; ${CONNECTIONS} connections, ${seconds} s slices\n`,
    );
    console.log(
      '| round | CPU µs per read: this / other / bare | this / other CPU | ratio to bare: this / other | p99 ms: this / other / bare |',
    );
    console.log('|---|---|---|---|---|');
    const cpuRatios: number[] = [];
    const mineRatios: number[] = [];
    const theirRatios: number[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      const order: Target['name'][] =
        round % 2 === 1 ? ['this', 'other', 'bare'] : ['other', 'this', 'bare'];
      const loads = {} as Record<Target['name'], Load>;
      for (const name of order) loads[name] = await measure(targets[name], seconds);
      const cpuRatio = loads.this.cpuPerRequestUs / loads.other.cpuPerRequestUs;
      const mineRatio = loads.this.requestsPerSecond / loads.bare.requestsPerSecond;
      const theirRatio = loads.other.requestsPerSecond / loads.bare.requestsPerSecond;
      cpuRatios.push(cpuRatio);
      mineRatios.push(mineRatio);
      theirRatios.push(theirRatio);
      const column = (pick: (load: Load) => number, digits: number) =>
        (['this', 'other', 'bare'] as const).map((n) => pick(loads[n]).toFixed(digits)).join(' / ');
      console.log(
        `| ${round} | ${column((l) => l.cpuPerRequestUs, 1)} | ${cpuRatio.toFixed(3)} | ${mineRatio.toFixed(2)} / ${theirRatio.toFixed(2)} | ${column((l) => l.p99Ms, 0)} |`,
      );
    }
    console.log(`\nthis / other CPU per read, min / median / max: ${spread(cpuRatios, 3)}`);
    console.log(`ratio to bare, this build: ${spread(mineRatios, 2)} (target ≥ 0.50)`);
    console.log(`ratio to bare, other build: ${spread(theirRatios, 2)}`);
  } finally {
    bare.child.kill();
    await theirs.stop();
    await mine.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
