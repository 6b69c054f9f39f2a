import { StatusReason, TaskStatus } from 'src/tasks/task-status';

/** What the stats read of one finished task. */
export interface FinishedTask {
  status: TaskStatus;
  statusReason: StatusReason | null;
  /** Agent turns run. */
  iteration: number;
  costUsd: number;
  startedAt: Date | null;
  completedAt: Date | null;
  /** Test rounds run (generated tests, then the regression suite). */
  testRounds: number;
}

export interface Distribution {
  count: number;
  mean: number | null;
  median: number | null;
  max: number | null;
}

export interface TaskStats {
  finished: number;
  by_status: Record<string, number>;
  by_status_and_reason: { status: TaskStatus; reason: StatusReason | null; count: number }[];
  completed: number;
  /** COMPLETED with every check made (`status_reason` `verified`). */
  verified: number;
  /** `verified` / finished tasks; null without any. */
  verified_completion_rate: number | null;
  /** Over COMPLETED tasks. */
  turns_to_green: Distribution;
  test_rounds_to_green: Distribution;
  time_to_green_ms: Distribution;
  total_cost_usd: number;
  /** The cost of every finished task over the verified ones; null without any verified. */
  cost_per_verified_task_usd: number | null;
}

/** COMPLETED reasons that mean every check was made. */
const FULLY_VERIFIED: readonly (StatusReason | null)[] = ['verified'];

function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { count: 0, mean: null, median: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return {
    count: sorted.length,
    mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length,
    median: sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2,
    max: sorted[sorted.length - 1],
  };
}

const round = (value: number): number => Math.round(value * 1e6) / 1e6;

/** THE NUMBERS A TEAM ASKS FOR, over finished tasks. Pure. */
export function computeTaskStats(tasks: readonly FinishedTask[]): TaskStats {
  const byStatus: Record<string, number> = {};
  const byReason = new Map<
    string,
    { status: TaskStatus; reason: StatusReason | null; count: number }
  >();
  for (const t of tasks) {
    byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
    const key = `${t.status}\0${t.statusReason ?? ''}`;
    const entry = byReason.get(key) ?? { status: t.status, reason: t.statusReason, count: 0 };
    entry.count += 1;
    byReason.set(key, entry);
  }
  const completed = tasks.filter((t) => t.status === TaskStatus.Completed);
  const verified = completed.filter((t) => FULLY_VERIFIED.includes(t.statusReason)).length;
  const totalCost = round(tasks.reduce((sum, t) => sum + t.costUsd, 0));
  return {
    finished: tasks.length,
    by_status: byStatus,
    by_status_and_reason: [...byReason.values()].sort(
      (a, b) =>
        b.count - a.count || `${a.status}${a.reason}`.localeCompare(`${b.status}${b.reason}`),
    ),
    completed: completed.length,
    verified,
    verified_completion_rate: tasks.length === 0 ? null : round(verified / tasks.length),
    turns_to_green: distribution(completed.map((t) => t.iteration)),
    test_rounds_to_green: distribution(completed.map((t) => t.testRounds)),
    time_to_green_ms: distribution(
      completed
        .filter((t) => t.startedAt !== null && t.completedAt !== null)
        .map((t) => t.completedAt!.getTime() - t.startedAt!.getTime()),
    ),
    total_cost_usd: totalCost,
    cost_per_verified_task_usd: verified === 0 ? null : round(totalCost / verified),
  };
}
