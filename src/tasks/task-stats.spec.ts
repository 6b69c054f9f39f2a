import { computeTaskStats, FinishedTask } from 'src/tasks/task-stats';
import { TaskStatus } from 'src/tasks/task-status';

function finished(over: Partial<FinishedTask>): FinishedTask {
  return {
    status: TaskStatus.Completed,
    statusReason: 'verified',
    iteration: 2,
    costUsd: 0.1,
    startedAt: new Date(1000),
    completedAt: new Date(3000),
    testRounds: 1,
    ...over,
  };
}

describe('computeTaskStats', () => {
  it('counts by status and reason, and the verified-completion rate over finished tasks', () => {
    const stats = computeTaskStats([
      finished({}),
      finished({ iteration: 4, testRounds: 3, completedAt: new Date(9000) }),
      finished({ statusReason: 'verified_without_base' }),
      finished({ status: TaskStatus.Failed, statusReason: 'max_iterations_reached', costUsd: 0.3 }),
    ]);
    expect(stats).toMatchObject({
      finished: 4,
      by_status: { COMPLETED: 3, FAILED: 1 },
      completed: 3,
      verified: 2,
      verified_completion_rate: 0.5,
      total_cost_usd: 0.6,
      cost_per_verified_task_usd: 0.3,
    });
    expect(stats.by_status_and_reason).toEqual([
      { status: 'COMPLETED', reason: 'verified', count: 2 },
      { status: 'COMPLETED', reason: 'verified_without_base', count: 1 },
      { status: 'FAILED', reason: 'max_iterations_reached', count: 1 },
    ]);
    expect(stats.turns_to_green).toEqual({ count: 3, mean: 8 / 3, median: 2, max: 4 });
    expect(stats.test_rounds_to_green).toMatchObject({ median: 1, max: 3 });
    expect(stats.time_to_green_ms).toMatchObject({ count: 3, median: 2000, max: 8000 });
  });

  it('has no rates or averages without tasks', () => {
    expect(computeTaskStats([])).toMatchObject({
      finished: 0,
      verified_completion_rate: null,
      cost_per_verified_task_usd: null,
      turns_to_green: { count: 0, mean: null, median: null, max: null },
    });
  });
});
