/**
 * THE COST BUDGET of a task (`max_cost_usd`, default MAX_COST_USD_PER_TASK). Checked after every
 * agent turn, once its cost is counted, and when a run starts (a resumed task may already be
 * there): a task whose cost reached its budget is stopped, FAILED with `budget_exceeded`. A turn
 * cannot be cut off in the middle by it; the budget bounds what the next turns may add.
 */
export class CostBudget {
  constructor(private readonly maxUsd: number | null) {}

  /** Why the task must stop, once `spentUsd` reached the budget; null while under it (or none). */
  exceeded(spentUsd: number): string | null {
    if (this.maxUsd === null || spentUsd < this.maxUsd) return null;
    return `The task has cost $${spentUsd.toFixed(4)}, which reaches its budget of $${this.maxUsd} (max_cost_usd); it was stopped.`;
  }
}
