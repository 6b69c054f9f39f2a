/**
 * Benchmark (issue 13, target a): the server's CPU per child process it starts, this build's
 * against another build's, in one process. A task starts about eleven children (two agent turns,
 * the test runs, the git calls); at 64 tasks the task-level A/B (`cpu-per-task-ab.ts`) moves
 * 10 % from batch to batch, too much to see a change to one child's start. Here each build's
 * `runProcess` (`dist/src/process`) starts `git --version` through a spawn helper of its own, one
 * child at a time, in alternating blocks of `children`, `blocks` times each, after a warm-up of
 * 3000 children each (V8 optimises this code slowly: over the first 3000 children the CPU per child
 * fell from about 600 µs to 190, and a server that ran a few hundred tasks has started that many);
 * this process's CPU time (`process.cpuUsage`) per child is what the build's code costs the
 * server. Each pair of blocks gives a ratio (this / other); the spawn helper's CPU
 * is printed beside it.
 *
 *   npm run build && TS_NODE_PROJECT=tsconfig.json npx ts-node -r tsconfig-paths/register \
 *     --transpile-only test/bench/spawn-path-ab.ts <other build's root> [blocks=16] [children=200]
 *
 * The other build: a worktree of another commit with `npm run build` and its spawn helper built
 * (`cc -O2 -o build/spawn-helper native/spawn-helper.c`). Recorded output: test/bench/RESULTS.md.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, Observable, toArray } from 'rxjs';
import { wholeArg } from 'test/bench/support/args';
import { cpuTimes } from 'test/bench/support/proc-stat';
import { spread } from 'test/bench/support/stats';

const WARMUP = 3000;

interface Build {
  name: string;
  start(): Promise<unknown>;
  helperPid(): number;
  stop(): void;
}

/** A build's `runProcess`, spawn helper and child environment, loaded from its `dist`. */
function load(name: string, root: string): Build {
  const dir = join(root, 'dist/src/process');
  /* eslint-disable @typescript-eslint/no-require-imports -- another build's compiled modules */
  const { NO_ISOLATION } = require(join(dir, 'child-isolation')) as { NO_ISOLATION: unknown };
  const { runProcess } = require(join(dir, 'process-group')) as {
    runProcess: (spec: unknown) => Observable<unknown>;
  };
  const { SpawnHelper } = require(join(dir, 'spawn-helper')) as {
    SpawnHelper: new (path: string) => {
      stop(): void;
      connection: { process: { pid: number } } | null;
    };
  };
  const { buildChildEnv } = require(join(dir, 'child-env')) as {
    buildChildEnv: (parent: NodeJS.ProcessEnv) => NodeJS.ProcessEnv;
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const helper = new SpawnHelper(join(root, 'build/spawn-helper'));
  return {
    name,
    start: () =>
      lastValueFrom(
        runProcess({
          command: 'git',
          args: ['--version'],
          cwd: root,
          env: buildChildEnv(process.env),
          killGraceMs: 1000,
          isolation: NO_ISOLATION,
          spawnHelper: helper,
        }).pipe(toArray()),
      ),
    helperPid: () => helper.connection!.process.pid,
    stop: () => helper.stop(),
  };
}

/** CPU microseconds per child of this process and of the build's helper, over `children`. */
async function block(build: Build, children: number): Promise<{ self: number; helper: number }> {
  const helperBefore = cpuTimes(build.helperPid()).selfMs;
  const before = process.cpuUsage();
  for (let i = 0; i < children; i += 1) await build.start();
  const used = process.cpuUsage(before);
  return {
    self: (used.user + used.system) / children,
    helper: ((cpuTimes(build.helperPid()).selfMs - helperBefore) * 1000) / children,
  };
}

async function main(): Promise<void> {
  const other = process.argv[2];
  if (!other || !existsSync(join(other, 'dist/src/process/process-group.js'))) {
    throw new Error('usage: spawn-path-ab.ts <other build root> [blocks] [children]');
  }
  const blocks = wholeArg(2, 'blocks', 16);
  const children = wholeArg(3, 'children', 200);
  console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log(
    `this build against ${other}: ${blocks} pairs of blocks of ${children} children (git --version) each, after ${WARMUP} each\n`,
  );
  const mine = load('this', join(__dirname, '../..'));
  const theirs = load('other', other);
  try {
    for (const build of [mine, theirs]) {
      for (let i = 0; i < WARMUP; i += 1) await build.start();
    }
    console.log(
      '| pair | this: µs per child | other: µs per child | this / other | helper µs per child: this / other |',
    );
    console.log('|---|---|---|---|---|');
    const ratios: number[] = [];
    for (let pair = 1; pair <= blocks; pair += 1) {
      const order = pair % 2 === 1 ? [mine, theirs] : [theirs, mine];
      const [a, b] = [await block(order[0], children), await block(order[1], children)];
      const [m, t] = order[0] === mine ? [a, b] : [b, a];
      ratios.push(m.self / t.self);
      console.log(
        `| ${pair} | ${m.self.toFixed(0)} | ${t.self.toFixed(0)} | ${(m.self / t.self).toFixed(3)} | ${m.helper.toFixed(0)} / ${t.helper.toFixed(0)} |`,
      );
    }
    console.log(`\nthis / other, CPU per child, min / median / max: ${spread(ratios, 3)}`);
  } finally {
    mine.stop();
    theirs.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
