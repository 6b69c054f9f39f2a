import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Principal } from 'src/access';
import { DomainError, ErrorCode, invalidRequest } from 'src/common';
import { WorkspacesService } from 'src/workspaces';
import { RetryTaskDto } from 'src/tasks/dto/retry-task.dto';
import { TaskEventLog } from 'src/tasks/task-event-log.service';
import { TaskStatus } from 'src/tasks/task-status';
import { Task } from 'src/tasks/task.entity';
import { TasksService } from 'src/tasks/tasks.service';

/** Statuses a task may be retried from. */
const RETRYABLE: readonly TaskStatus[] = [TaskStatus.Failed, TaskStatus.Cancelled];

function notRetryable(task: Task, why: string): DomainError {
  return new DomainError(ErrorCode.TaskNotRetryable, `Task ${task.id} ${why}`, {
    status: task.status,
    retried_by: task.retriedBy,
  });
}

/**
 * `POST /tasks/{id}/retry`: a FAILED or CANCELLED task gets one retry, a new PENDING task in the
 * same session with the same description, limits and test policy (the body may change the
 * limits and `allow_test_changes`), linked both ways: the new task's `retry_of`, the old one's `retried_by` (set with a
 * record of it through the event log, only while unset, in the transaction that inserts the new
 * task, so two retries at once make one task and the other one's is never stored).
 * With `continue_conversation` the new task's first turn resumes the old task's agent
 * conversation: only for a task in place, as a conversation belongs to its directory.
 */
@Injectable()
export class TaskRetryService {
  constructor(
    private readonly tasks: TasksService,
    private readonly events: TaskEventLog,
    @InjectRepository(Task) private readonly rows: Repository<Task>,
    private readonly workspaces: WorkspacesService,
  ) {}

  async retry(id: string, dto: RetryTaskDto, principal: Principal): Promise<Task> {
    const old = await this.tasks.findOne(id);
    if (!RETRYABLE.includes(old.status)) {
      throw notRetryable(old, `is ${old.status}; only FAILED or CANCELLED tasks can be retried`);
    }
    // A retry deleted since lets go of its original (`TasksService.remove`); one whose letting go
    // was cut off still leaves it free.
    const gone = old.retriedBy !== null && !(await this.rows.existsBy({ id: old.retriedBy }));
    if (old.retriedBy !== null && !gone) {
      throw notRetryable(old, `was retried already by ${old.retriedBy}`);
    }
    await this.assertConfigRestored(old);
    if (dto.continue_conversation === true && old.isolation === 'worktree') {
      throw invalidRequest(
        'continue_conversation',
        "continue_conversation needs the task's own directory, and a retry of a task in a workspace works in a new workspace, where the agent cannot find the conversation: retry it without (its work is kept on its branch)",
      );
    }
    const created = await this.tasks.createWith(
      {
        session_id: old.sessionId,
        description: old.description,
        max_iterations: dto.max_iterations ?? old.maxIterations,
        max_pauses: dto.max_pauses ?? old.maxPauses,
        max_cost_usd: dto.max_cost_usd ?? old.maxCostUsd ?? undefined,
        base_ref: old.baseRef,
        auto_respond: old.autoRespond,
        human_timeout_seconds: old.humanTimeoutSeconds,
        require_failing_tests: old.requireFailingTests,
        allow_test_changes: dto.allow_test_changes ?? old.allowTestChanges,
      },
      principal,
      {
        retryOf: old.id,
        claudeSessionId: dto.continue_conversation === true ? old.claudeSessionId : null,
      },
      // The link comes first and the new task is inserted in its transaction: a retry that loses
      // the race stores nothing, where a task stored on its own could be claimed by another
      // server before the link failed, and run unlinked.
      async (task, insert) =>
        (await this.events.noteWhere({
          taskId: old.id,
          where: gone ? '(retried_by IS NULL OR retried_by = :gone)' : 'retried_by IS NULL',
          params: gone ? { gone: old.retriedBy } : {},
          patch: { retriedBy: task.id },
          record: {
            kind: 'system',
            iteration: old.iteration,
            content: `Retried as task ${task.id}`,
            data: {
              event: 'retried',
              retried_by: task.id,
              continue_conversation: dto.continue_conversation === true,
            },
          },
          alongside: [insert],
        })) !== null,
    );
    if (created === null) {
      throw notRetryable(await this.tasks.findOne(id), 'was retried meanwhile');
    }
    return created;
  }

  /**
   * A task that failed `git_config_changed` is retried only once the repository's git
   * configuration is back to what its fingerprint recorded (the user's own settings aside, where
   * its copies are kept): a retry takes the configuration it finds as its starting point, so it
   * would otherwise take over the change its agent made (a filter its commit's `git add` would
   * run). 409 `git_config_changed` naming the files. Deleting the task is the way to accept the
   * changed configuration on purpose (`GitConfigQuarantine` refuses new tasks on it until then).
   */
  private async assertConfigRestored(old: Task): Promise<void> {
    if (old.statusReason !== 'git_config_changed' || old.gitDir === null) return;
    await this.workspaces.refuseChangedGitConfig(
      old.gitDir,
      old.gitConfigFingerprint,
      `task ${old.id} failed on that change, and a retry would start from it. Put those files back as they were (or delete the task to accept them as they are, and create a new one)`,
    );
  }
}
