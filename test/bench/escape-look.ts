/**
 * What one look for escaped processes costs the process host (`src/process/host/
 * escaped-processes.ts`): the environment of every process on the machine read from /proc. No
 * process here is marked with the directory looked at, so this is the scan alone; each marked
 * process in a released directory adds a few reads of /proc (its session, its session's leader). The host makes one such look at most every
 * ESCAPE_LOOK_DELAY_MS (2 s) while tasks end, for all the directories released in that time.
 *
 * Each figure is this process's CPU time (user + system) over `looks` looks, one after the
 * other, after a warm-up, divided by `looks`; three runs, min / median / max. The cost grows with
 * the number of processes on the machine, printed first.
 *
 *   TS_NODE_PROJECT=tsconfig.json npx ts-node -r tsconfig-paths/register --transpile-only \
 *     test/bench/escape-look.ts [looks=200]
 *
 * Recorded output: test/bench/RESULTS.md.
 */
import { readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { escapedProcesses } from 'src/process/host/escaped-processes';
import { wholeArg } from 'test/bench/support/args';
import { spread } from 'test/bench/support/stats';

const look = () =>
  escapedProcesses({
    serverPid: process.pid,
    released: ['/nowhere'],
    supervised: [],
    hostGroups: new Set(),
  });

function main(): void {
  const looks = wholeArg(1, 'looks', 200);
  const processes = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).length;
  console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log(`${processes} processes on the machine, ${looks} looks per run\n`);
  for (let i = 0; i < 20; i++) look();
  const perLook: number[] = [];
  for (let run = 1; run <= 3; run++) {
    const start = process.cpuUsage();
    for (let i = 0; i < looks; i++) look();
    const used = process.cpuUsage(start);
    perLook.push((used.user + used.system) / 1000 / looks);
    console.log(
      `run ${run}: ${perLook[run - 1].toFixed(3)} ms per look (user ${(used.user / 1000 / looks).toFixed(3)}, system ${(used.system / 1000 / looks).toFixed(3)})`,
    );
  }
  console.log(`\nms per look min / median / max: ${spread(perLook, 3)}`);
}

main();
