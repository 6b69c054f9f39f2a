/** The right to write a task: who holds it and which claim (attempt) it is. */
export interface Lease {
  readonly taskId: string;
  readonly attempt: number;
  readonly owner: string;
}

/**
 * A fenced write found that this server no longer holds the task's lease (it expired and the task
 * was taken back or claimed by another server). Internal: the run stops without writing more; it
 * never reaches a client.
 */
export class LeaseLostError extends Error {
  constructor(readonly taskId: string) {
    super(`Lease on task ${taskId} was lost`);
    this.name = 'LeaseLostError';
  }
}
