import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThanOrEqual, Repository } from 'typeorm';
import { Clock } from 'src/common';
import { WAITING_FOR_HUMAN_SQL } from 'src/tasks/human-wait';
import { Task } from 'src/tasks/task.entity';
import { TaskEventLog } from 'src/tasks/task-event-log.service';
import { TaskQueueSignal } from 'src/tasks/task-queue-signal';
import { TaskStatus } from 'src/tasks/task-status';

/** Why a waiting task goes back to the queue. */
export type HumanWaitEnd = 'human_replied' | 'human_timeout';

/** Most waits whose time ran out that one sweep ends. */
const DUE_PAGE = 100;

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
  constructor(
    private readonly events: TaskEventLog,
    private readonly signal: TaskQueueSignal,
    private readonly clock: Clock,
    @InjectRepository(Task) private readonly rows: Repository<Task>,
  ) {}

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

  /** Waiting tasks the simulated human answers now (their wait ran out), oldest first. */
  async due(): Promise<Pick<Task, 'id' | 'iteration'>[]> {
    return this.rows.find({
      select: { id: true, iteration: true },
      where: {
        status: TaskStatus.Paused,
        statusReason: 'waiting_for_human',
        humanWaitUntil: LessThanOrEqual(this.clock.now()),
      },
      order: { humanWaitUntil: 'ASC' },
      take: DUE_PAGE,
    });
  }
}
