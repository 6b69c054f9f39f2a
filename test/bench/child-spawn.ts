/**
 * What containing children costs per spawn: `true` run through `runProcess` as the server's user,
 * as RUN_AS_USER=nobody, inside bubblewrap, and both. Every agent turn, test command and git query
 * is one spawn, so this is the overhead each of them pays. Needs root (for RUN_AS_USER) and a
 * working `bwrap`; the modes this machine cannot run are left out of the table.
 *
 *   TS_NODE_PROJECT=tsconfig.json npx ts-node -r tsconfig-paths/register --transpile-only \
 *     test/bench/child-spawn.ts 100
 *
 * Recorded output: test/bench/CHILD-SPAWN.md.
 */
import { cpus } from 'node:os';
import { lastValueFrom, toArray } from 'rxjs';
import {
  buildChildIsolation,
  ChildIsolation,
  NO_ISOLATION,
  probeSandbox,
} from 'src/process/child-isolation';
import { runProcess } from 'src/process/process-group';

const READ_ONLY = ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/etc'];

function isolation(runAsUser: string | undefined, sandbox: boolean): ChildIsolation | null {
  try {
    const built = buildChildIsolation({
      runAsUser,
      sandbox: sandbox ? 'bwrap' : 'none',
      sandboxReadOnly: READ_ONLY,
      serverPaths: [],
      uid: process.getuid?.() ?? -1,
      pathVariable: process.env.PATH,
    });
    probeSandbox(built);
    return built;
  } catch {
    return null;
  }
}

async function spawnMs(isolationMode: ChildIsolation): Promise<number> {
  const started = process.hrtime.bigint();
  await lastValueFrom(
    runProcess({
      command: 'true',
      args: [],
      cwd: '/tmp',
      env: { PATH: process.env.PATH },
      killGraceMs: 100,
      isolation: isolationMode,
      writable: ['/tmp'],
    }).pipe(toArray()),
  );
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? '100');
  const asRoot = process.getuid?.() === 0;
  const modes: [string, ChildIsolation | null][] = [
    ['server user, no sandbox', NO_ISOLATION],
    ['RUN_AS_USER=nobody', asRoot ? isolation('nobody', false) : null],
    ['SANDBOX=bwrap', isolation(undefined, true)],
    ['RUN_AS_USER=nobody + SANDBOX=bwrap', asRoot ? isolation('nobody', true) : null],
  ];
  console.log(
    `Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${runs} spawns of \`true\` per row\n`,
  );
  console.log('| children run | p50 (ms) | p95 (ms) | mean (ms) |');
  console.log('| ------------ | -------- | -------- | --------- |');
  for (const [label, mode] of modes) {
    if (mode === null) {
      console.log(`| ${label} | not available here | | |`);
      continue;
    }
    const times: number[] = [];
    for (let i = 0; i < runs; i += 1) times.push(await spawnMs(mode));
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    console.log(
      `| ${label} | ${percentile(times, 50).toFixed(1)} | ${percentile(times, 95).toFixed(1)} | ${mean.toFixed(1)} |`,
    );
  }
}

void main();
