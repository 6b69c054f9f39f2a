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
} from 'src/tasks';
import { TaskOrchestratorService } from 'src/orchestrator/task-orchestrator.service';

/**
 * `POST /tasks/{id}/cancel`. A PENDING task is cancelled at once (it never starts: the update is
 * conditional on it still being PENDING, so it cannot race a claim). A live task gets
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
      if (task.status === TaskStatus.Pending) {
        if (await this.cancelQueued(task)) {
          // A queued task that ran before (re-queued at a shutdown) may have work in its workspace.
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

  private async cancelQueued(task: Task): Promise<boolean> {
    const changed = await this.events.changeStatusWhere({
      taskId: task.id,
      from: TaskStatus.Pending,
      to: TaskStatus.Cancelled,
      reason: 'cancelled',
      iteration: task.iteration,
      patch: {
        phase: 'done',
        cancelRequested: true,
        completedAt: this.clock.now(),
        errorMessage: 'Cancelled on request before it started.',
      },
    });
    return changed !== null;
  }
}
