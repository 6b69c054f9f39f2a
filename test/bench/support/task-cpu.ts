import { BenchServer } from 'test/bench/support/bench-server';
import { cpuTimes, CpuTimes } from 'test/bench/support/proc-stat';
import { fakeScript } from 'test/e2e/support/task-polling';

/** The task of the CPU-per-task benchmarks: two fake-CLI turns, then a passing node:test run. */
export const TASK_DESCRIPTION = `Add a helper. ${fakeScript('success', 'write-tests lang=node result=pass')}`;

/** The server the CPU-per-task benchmarks measure: four tasks at once. */
export const TASK_CPU_ENV = { MAX_CONCURRENT_TASKS: '4', QUEUE_POLL_MS: '1000' };

/** One batch of tasks, measured: CPU milliseconds over the batch. */
export interface BatchResult {
  tasks: number;
  completed: number;
  /** Whether the server started its children through its spawn helper. */
  spawnHelper: boolean;
  serverMs: number;
  /** The process host's and the spawn helper's own CPU. */
  hostMs: number;
  /** Every child's (agents, test commands, git), waited for by the host or the helper. */
  childrenMs: number;
}

const NO_TIMES: CpuTimes = { selfMs: 0, childrenMs: 0, rssBytes: 0 };

/** (server + host) / children. */
export const ratioOf = (r: BatchResult): number => (r.serverMs + r.hostMs) / r.childrenMs;

/** Runs `count` tasks (one session each) through `bench` without measuring them. */
export async function warmUp(
  bench: BenchServer,
  count: number,
  isolation: 'worktree' | 'none',
): Promise<void> {
  if (count === 0) return;
  await bench.waitTerminal(
    await bench.submit(await bench.sessions(count, isolation), TASK_DESCRIPTION),
  );
}

/**
 * Runs a batch of `tasks` tasks (their sessions made first) and reads the CPU times of the
 * server, its process host and its spawn helper, and of their children, from /proc before and
 * after it.
 */
export async function measureBatch(
  bench: BenchServer,
  tasks: number,
  isolation: 'worktree' | 'none',
): Promise<BatchResult> {
  const serverPid = bench.server.child.pid!;
  // The process host and the spawn helper start with the first task that needs them: one that
  // starts during the batch (no warm-up) counts all its CPU. Without a helper the host starts the
  // children (Node's spawn): they count with the host's.
  const times = () => {
    const hostPid = bench.server.hostPid();
    const helperPid = bench.server.helperPid();
    return {
      server: cpuTimes(serverPid),
      host: hostPid === null ? NO_TIMES : cpuTimes(hostPid),
      helper: helperPid === null ? NO_TIMES : cpuTimes(helperPid),
      spawnHelper: helperPid !== null,
    };
  };
  const sessions = await bench.sessions(tasks, isolation);
  const before = times();
  const statuses = await bench.waitTerminal(await bench.submit(sessions, TASK_DESCRIPTION));
  const after = times();
  const spent = (of: (t: ReturnType<typeof times>) => number) => of(after) - of(before);
  return {
    tasks,
    completed: [...statuses.values()].filter((s) => s === 'COMPLETED').length,
    spawnHelper: after.spawnHelper,
    serverMs: spent((t) => t.server.selfMs),
    hostMs: spent((t) => t.host.selfMs + t.helper.selfMs),
    childrenMs: spent((t) => t.host.childrenMs + t.helper.childrenMs),
  };
}
