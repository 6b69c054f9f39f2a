import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Statement } from 'better-sqlite3';
import { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { Clock } from 'src/common';
import { sqliteConnectionOf } from 'src/database';
import { ClaudeInteraction } from 'src/tasks/claude-interaction.entity';
import { WAITING_FOR_HUMAN_SQL } from 'src/tasks/human-wait';
import { Task } from 'src/tasks/task.entity';
import { NewInteraction, TaskEventLog, TaskPatch } from 'src/tasks/task-event-log.service';
import { TaskQueueSignal } from 'src/tasks/task-queue-signal';
import { TaskStatus } from 'src/tasks/task-status';

/** Why a waiting task goes back to the queue. */
export type HumanWaitEnd = 'human_replied' | 'human_timeout';

/** Most waits whose time ran out that one sweep ends. */
const DUE_PAGE = 100;

/** The waits whose time ran out by `?`, oldest first (`IDX_tasks_human_wait_until`). */
const DUE_SQL =
  "SELECT id, iteration FROM tasks WHERE status = 'PAUSED' AND status_reason = 'waiting_for_human' " +
  `AND human_wait_until <= ? ORDER BY human_wait_until LIMIT ${DUE_PAGE}`;

/**
 * THE END OF A WAIT FOR A PERSON. A task PAUSED `waiting_for_human` has no owner and holds no
 * concurrency slot; it keeps its `running_project_key`, so no other task works in its directory
 * meanwhile. `resume` sends it back to PENDING, letting go of that key, and wakes the queue,
 * which claims it like any resumed task. It is one conditional write, so a message, the run that
 * just began the wait and the timeout sweep may all try: one of them does it. A person's message
 * to a waiting task is stored in that write (`answer`). `due` lists the waits whose
 * `human_timeout_seconds` ran out.
 */
@Injectable()
export class HumanWaits {
  /** `DUE_SQL` prepared once on SQLite; undefined on MySQL. */
  private readonly dueStatement: Statement | undefined;
  private readonly waitUntil: ColumnMetadata;

  constructor(
    private readonly events: TaskEventLog,
    private readonly signal: TaskQueueSignal,
    private readonly clock: Clock,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    this.dueStatement = sqliteConnectionOf(dataSource)?.prepare(DUE_SQL);
    this.waitUntil = dataSource.getMetadata(Task).findColumnWithPropertyName('humanWaitUntil')!;
  }

  /** True when the task was waiting and is queued again now. */
  async resume(taskId: string, iteration: number, reason: HumanWaitEnd): Promise<boolean> {
    return (await this.end(taskId, iteration, reason)) !== null;
  }

  /**
   * Ends the wait with a person's message (`message`, stored in the same write, so that no
   * failure in between can leave it stored and the task waiting, nor the person send it again for
   * the agent to read twice), while the task waits and `where` holds; `patch` goes with it. The
   * stored message, or null when nothing was written.
   */
  async answer(
    taskId: string,
    iteration: number,
    message: NewInteraction,
    where: string,
    patch: TaskPatch,
  ): Promise<ClaudeInteraction | null> {
    const stored = await this.end(taskId, iteration, 'human_replied', { message, where, patch });
    return stored === null ? null : stored[0];
  }

  /** Back to the queue, with the message that ends the wait (first) if any; the records stored. */
  private async end(
    taskId: string,
    iteration: number,
    reason: HumanWaitEnd,
    answer?: { message: NewInteraction; where: string; patch: TaskPatch },
  ): Promise<ClaudeInteraction[] | null> {
    const records = await this.events.changeStatusWhere({
      taskId,
      from: TaskStatus.Paused,
      to: TaskStatus.Pending,
      reason,
      iteration,
      where: answer ? `${WAITING_FOR_HUMAN_SQL} AND ${answer.where}` : WAITING_FOR_HUMAN_SQL,
      before: answer ? [answer.message] : [],
      patch: {
        ...answer?.patch,
        phase: 'queued',
        humanWaitUntil: null,
        runningProjectKey: null,
      },
    });
    if (records === null) return null;
    this.signal.taskQueued(taskId);
    return records;
  }

  /**
   * Waiting tasks the simulated human answers now (their wait ran out), oldest first. Asked every
   * second by the sweep: through a statement prepared once on SQLite, where TypeORM's `find`
   * built and hydrated its query on every call (the largest part of an idle server's CPU).
   */
  async due(): Promise<Pick<Task, 'id' | 'iteration'>[]> {
    const now: unknown = this.dataSource.driver.preparePersistentValue(
      this.clock.now(),
      this.waitUntil,
    );
    type Due = { id: string; iteration: number | string };
    const rows = this.dueStatement
      ? (this.dueStatement.all(now) as Due[])
      : await this.dataSource.query<Due[]>(DUE_SQL, [now]);
    return rows.map((row) => ({ id: row.id, iteration: Number(row.iteration) }));
  }
}
