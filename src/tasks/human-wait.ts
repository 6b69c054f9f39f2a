import type { Task } from 'src/tasks/task.entity';
import { TaskStatus } from 'src/tasks/task-status';

/**
 * What a task PAUSED `waiting_for_human` waits on (`tasks.human_wait`): the agent's question (or
 * where it stopped short), and the reply the simulated human would have given, which the task
 * gets if nobody answers by `until`.
 */
export interface HumanWait {
  /**
   * What the agent's turn that stopped said: its question, or where it stopped; null when that
   * turn ended without a message.
   */
  question: string | null;
  /** Why the task waits: the agent asked, or stopped short of finishing. */
  reason: 'answer_question' | 'continue_stop_short';
  /** The simulated human's reply, given when the wait times out. */
  reply: string;
  /** The run's phase the next turn belongs to (`work`, `writing_tests`, `fixing_tests`). */
  phase: string;
  /** ISO times: when the wait began, and when the simulated human answers instead (or null). */
  since: string;
  until: string | null;
}

/** The row condition (SQL) of a task waiting for a person: PAUSED by its run, which let go of it. */
export const WAITING_FOR_HUMAN_SQL =
  "status = 'PAUSED' AND status_reason = 'waiting_for_human' AND lease_owner IS NULL";

/** The row condition (SQL) of a task not waiting for a person (`WAITING_FOR_HUMAN_SQL` false). */
export const NOT_WAITING_FOR_HUMAN_SQL =
  "(status <> 'PAUSED' OR status_reason IS NULL OR status_reason <> 'waiting_for_human' " +
  'OR lease_owner IS NOT NULL)';

/** True for a task PAUSED waiting for a person (no server runs it). */
export function waitsForHuman(task: Pick<Task, 'status' | 'statusReason' | 'leaseOwner'>): boolean {
  return (
    task.status === TaskStatus.Paused &&
    task.statusReason === 'waiting_for_human' &&
    task.leaseOwner === null
  );
}
