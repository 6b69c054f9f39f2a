import { spawnSync } from 'node:child_process';
import { cpuTimes } from 'test/bench/support/proc-stat';

/**
 * The CPU a started process itself spends on this machine, for the two kinds a task starts: a
 * Node process (the fake agent, `node --test` and its test file) and a git call. Target (a)'s
 * denominator is mostly these, so the same server measures a lower ratio on a machine where
 * starting a process is dear than on one where it is cheap; printed beside the ratio, this says
 * which kind of machine a result comes from.
 */
export interface ProcessStartCost {
  /** `node -e ''`, ms of CPU per process. */
  nodeMs: number;
  /** `git --version`, ms of CPU per process. */
  gitMs: number;
}

/**
 * Mean CPU of one `command` process over `runs`, from this process's waited-for children. Started
 * with PATH alone, as the benchmark's server (`startTestServer`) and so its children run: not with
 * this shell's environment, where a NODE_EXTRA_CA_CERTS (some machines export one) makes every
 * Node process parse the CA bundle as it starts, 40 ms of CPU more on a 2-core AMD EPYC.
 */
function childCpuPerRun(command: string, args: readonly string[], runs: number): number {
  const before = cpuTimes(process.pid).childrenMs;
  for (let i = 0; i < runs; i += 1) {
    const result = spawnSync(command, args, {
      stdio: 'ignore',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    if (result.status !== 0) {
      throw new Error(`${command} ${args.join(' ')}: ${result.error?.message ?? result.status}`);
    }
  }
  return (cpuTimes(process.pid).childrenMs - before) / runs;
}

/**
 * Measured with nothing else of this process's running (its children's times only grow when a
 * child it waited for ends). Enough runs that /proc's 10 ms ticks do not show.
 */
export function processStartCost(): ProcessStartCost {
  return {
    nodeMs: childCpuPerRun(process.execPath, ['-e', ''], 20),
    gitMs: childCpuPerRun('git', ['--version'], 200),
  };
}
