import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock, DomainError, ErrorCode } from 'src/common';
import { AppConfig } from 'src/config';
import { retryTransient } from 'src/database';
import {
  ACTIVE_STATUSES,
  Task,
  TaskEventLog,
  TaskMessages,
  TasksService,
  TaskStatus,
  TaskWorkspaceCleanup,
  NO_MESSAGE_SINCE_SQL,
  WAITING_FOR_HUMAN_SQL,
  waitsForHuman,
} from 'src/tasks';
import { ownerKeyEnd } from 'src/orchestrator/run/owner-key';
import { TaskOrchestratorService } from 'src/orchestrator/task-orchestrator.service';

/** Who cancels: a request (`POST /tasks/{id}/cancel`), or the revocation of the task's owner key. */
export type CancelCause = 'request' | 'owner_key_revoked';

/**
 * `POST /tasks/{id}/cancel`. A PENDING task, or one PAUSED waiting for a person, is cancelled at
 * once (nobody runs it: the update is conditional on it still being so, so it cannot race a
 * claim). A live task gets
 * `cancel_requested`; its owner (this instance at once, another one within a second, or the
 * lease sweep if its owner died) ends its process group and marks it CANCELLED. Cancelling a
 * CANCELLED task again is harmless; a COMPLETED or FAILED one is a 409.
 *
 * The revocation of a task's owner key cancels it the same way (`OwnerKeyRevocationService`,
 * cause `owner_key_revoked`): a task nobody runs ends with that reason here, a running one when
 * its run, stopped, finds its key revoked (`TaskRun.settle`).
 */
@Injectable()
export class TaskCancellationService {
  constructor(
    private readonly tasks: TasksService,
    private readonly orchestrator: TaskOrchestratorService,
    private readonly events: TaskEventLog,
    private readonly clock: Clock,
    @InjectRepository(Task) private readonly taskRepository: Repository<Task>,
    private readonly workspaces: TaskWorkspaceCleanup,
    private readonly config: AppConfig,
    private readonly messages: TaskMessages,
  ) {}

  /** A write of the request, tried again through a deadlock with the run's writes (MySQL). */
  private requestCancel(id: string, live: boolean): Promise<number | undefined> {
    return retryTransient(
      async () => {
        const update = this.taskRepository
          .createQueryBuilder()
          .update(Task)
          .set({ cancelRequested: true, updatedAt: this.clock.now() });
        const result = await (
          live
            ? update.where('id = :id AND status IN (:...live)', { id, live: ACTIVE_STATUSES })
            : update.where('id = :id', { id })
        ).execute();
        return result.affected;
      },
      (this.config.LEASE_SECONDS * 1000) / 2,
    );
  }

  async cancel(id: string, cause: CancelCause = 'request'): Promise<Task> {
    // Two rounds: a task can move between queued and live while we look (claimed, or re-queued
    // by a shutdown or the lease sweep); the second round sees where it went.
    for (let round = 0; round < 2; round += 1) {
      const task = await this.tasks.findOne(id);
      if (task.status === TaskStatus.Cancelled) return task;
      if (task.status === TaskStatus.Completed || task.status === TaskStatus.Failed) {
        throw new DomainError(
          ErrorCode.TaskNotCancellable,
          `Task ${id} already ended ${task.status}; only queued or running tasks can be cancelled`,
          { status: task.status },
        );
      }
      if (task.status === TaskStatus.Pending || waitsForHuman(task)) {
        if (await this.cancelOwnerless(task, cause)) return this.tasks.findOne(id);
        continue;
      }
      if (!(await this.requestCancel(id, true))) continue;
      this.orchestrator.cancelLocal(id);
      return this.tasks.findOne(id);
    }
    // Still moving: leave the request on the row; whoever holds or next queues the task ends it.
    await this.requestCancel(id, false);
    return this.tasks.findOne(id);
  }

  /**
   * Cancels a task nobody runs (queued, or waiting for a person) if it still is so; the messages
   * from a person no turn took, and the work it left, are said in its history before its end, as
   * a run's cancel does.
   */
  private async cancelOwnerless(task: Task, cause: CancelCause): Promise<boolean> {
    const queued = task.status === TaskStatus.Pending;
    const byKey =
      cause === 'owner_key_revoked'
        ? ownerKeyEnd('revoked', queued ? 'start' : 'step', task.iteration)
        : null;
    const reason = byKey?.reason ?? 'cancelled';
    // Read first: a message stored after the list was read fails the write (read again then).
    const sinceId = await this.messages.latestRecordId(task.id);
    const unread = await this.messages.undeliveredNote(task.id, task.iteration);
    // A task that ran before (re-queued at a shutdown, or waiting for a person) may have work in
    // its workspace: committed first, and said before its end (a stream of it ends with the end).
    const kept = await this.workspaces.commitWork(task, TaskStatus.Cancelled, reason);
    const changed = await this.events.changeStatusWhere({
      taskId: task.id,
      from: task.status,
      to: TaskStatus.Cancelled,
      reason,
      iteration: task.iteration,
      where: queued ? NO_MESSAGE_SINCE_SQL : `${WAITING_FOR_HUMAN_SQL} AND ${NO_MESSAGE_SINCE_SQL}`,
      params: { sinceId },
      before: [...(byKey ? [byKey.record] : []), ...unread, ...kept.records],
      patch: {
        ...kept.patch,
        phase: 'done',
        cancelRequested: true,
        completedAt: this.clock.now(),
        humanWaitUntil: null,
        runningProjectKey: null,
        errorMessage:
          byKey?.message ??
          (queued
            ? 'Cancelled on request before it started.'
            : 'Cancelled on request while it waited for a person.'),
      },
    });
    return changed !== null;
  }
}
