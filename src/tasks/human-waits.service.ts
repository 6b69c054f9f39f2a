import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Statement } from 'better-sqlite3';
import { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { Clock } from 'src/common';
import { sqliteConnectionOf } from 'src/database';
import { WAITING_FOR_HUMAN_SQL } from 'src/tasks/human-wait';
import { Task } from 'src/tasks/task.entity';
import { TaskEventLog } from 'src/tasks/task-event-log.service';
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
 * just began the wait and the timeout sweep may all try: one of them does it. `due` lists the
 * waits whose `human_timeout_seconds` ran out.
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
    const record = await this.events.changeStatusWhere({
      taskId,
      from: TaskStatus.Paused,
      to: TaskStatus.Pending,
      reason,
      iteration,
      where: WAITING_FOR_HUMAN_SQL,
      patch: { phase: 'queued', humanWaitUntil: null, runningProjectKey: null },
    });
    if (record === null) return false;
    this.signal.taskQueued(taskId);
    return true;
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
