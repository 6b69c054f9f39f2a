import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock, DomainError, ErrorCode } from 'src/common';
import {
  ACTIVE_STATUSES,
  Task,
  TaskEventLog,
  TasksService,
  TaskStatus,
  TaskWorkspaceCleanup,
  WAITING_FOR_HUMAN_SQL,
  waitsForHuman,
} from 'src/tasks';
import { TaskOrchestratorService } from 'src/orchestrator/task-orchestrator.service';

/**
 * `POST /tasks/{id}/cancel`. A PENDING task, or one PAUSED waiting for a person, is cancelled at
 * once (nobody runs it: the update is conditional on it still being so, so it cannot race a
 * claim). A live task gets
 * `cancel_requested`; its owner (this instance at once, another one within a second, or the
 * lease sweep if its owner died) ends its process group and marks it CANCELLED. Cancelling a
 * CANCELLED task again is harmless; a COMPLETED or FAILED one is a 409.
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
  ) {}

  async cancel(id: string): Promise<Task> {
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
        if (await this.cancelOwnerless(task)) {
          // A task that ran before (re-queued at a shutdown, or waiting for a person) may have
          // work in its workspace.
          await this.workspaces.keepWork(id, TaskStatus.Cancelled);
          return this.tasks.findOne(id);
        }
        continue;
      }
      const result = await this.taskRepository
        .createQueryBuilder()
        .update(Task)
        .set({ cancelRequested: true, updatedAt: this.clock.now() })
        .where('id = :id AND status IN (:...live)', { id, live: ACTIVE_STATUSES })
        .execute();
      if (!result.affected) continue;
      this.orchestrator.cancelLocal(id);
      return this.tasks.findOne(id);
    }
    // Still moving: leave the request on the row; whoever holds or next queues the task ends it.
    await this.taskRepository.update(
      { id },
      { cancelRequested: true, updatedAt: this.clock.now() },
    );
    return this.tasks.findOne(id);
  }

  /** Cancels a task nobody runs (queued, or waiting for a person) if it still is so. */
  private async cancelOwnerless(task: Task): Promise<boolean> {
    const queued = task.status === TaskStatus.Pending;
    const changed = await this.events.changeStatusWhere({
      taskId: task.id,
      from: task.status,
      to: TaskStatus.Cancelled,
      reason: 'cancelled',
      iteration: task.iteration,
      ...(queued ? {} : { where: WAITING_FOR_HUMAN_SQL }),
      patch: {
        phase: 'done',
        cancelRequested: true,
        completedAt: this.clock.now(),
        humanWaitUntil: null,
        runningProjectKey: null,
        errorMessage: queued
          ? 'Cancelled on request before it started.'
          : 'Cancelled on request while it waited for a person.',
      },
    });
    return changed !== null;
  }
}
