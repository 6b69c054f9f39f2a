import { existsSync } from 'node:fs';
import { Injectable } from '@nestjs/common';
import type { Principal } from 'src/access';
import { Clock, DomainError, ErrorCode } from 'src/common';
import {
  DiffTarget,
  GitCommandError,
  LockTimeoutError,
  MergeOutcome,
  MergeStrategy,
  WorkspaceDiff,
  WorkspaceDiffService,
  WorkspaceError,
  WorkspaceMergeService,
} from 'src/workspaces';
import { MergeTaskDto, TaskMergeResponseDto } from 'src/tasks/dto/task-workspace.dto';
import { GitConfigQuarantine } from 'src/tasks/git-config-quarantine';
import { TaskEventLog } from 'src/tasks/task-event-log.service';
import { isTerminal, TaskStatus } from 'src/tasks/task-status';
import { Task } from 'src/tasks/task.entity';
import { toTaskResponse } from 'src/tasks/task.mapper';
import { TasksService } from 'src/tasks/tasks.service';

/**
 * Runs a git operation on a task's repository; git failing (the repository gone, git too old, the
 * repository locked for too long) is a 409 `workspace_unavailable` saying so, not a 500.
 */
async function onRepository<T>(
  taskId: string,
  what: string,
  operation: () => Promise<T>,
): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    const gitFailed =
      error instanceof GitCommandError ||
      error instanceof WorkspaceError ||
      error instanceof LockTimeoutError;
    if (!gitFailed) throw error;
    throw new DomainError(
      ErrorCode.WorkspaceUnavailable,
      `The ${what} of task ${taskId} failed in its repository: ${error.message}`,
    );
  }
}

/** The merge's record in the task's history. */
function mergedWhat(
  branch: string,
  target: string,
  strategy: MergeStrategy,
  merged: MergeOutcome,
): string {
  return merged.alreadyMerged
    ? `${target} already held the head commit of ${branch} (merged by hand, or by a merge whose record a restart cut off): recorded as merged into ${target} at ${merged.commit}; nothing changed.`
    : `Merged ${branch} into ${target} (${strategy}): ${merged.previous} -> ${merged.commit}.`;
}

/** What a merge left out: the task's branch moved from its reviewed head commit. */
function leftOut(outcome: MergeOutcome): string {
  return outcome.branchAhead === null
    ? ''
    : ` The task's branch is at ${outcome.branchAhead}, not at its head commit: only the head commit (what was reviewed) was merged; merge the branch yourself to take what it holds besides.`;
}

/** The first line of a description, shortened for a commit subject. */
function subject(task: Task): string {
  const line = task.description.split('\n', 1)[0].trim();
  return line.length > 72 ? `${line.slice(0, 69)}...` : line;
}

/**
 * REVIEW AND MERGE OF A TASK'S CHANGE (`GET /tasks/{id}/diff`, `POST /tasks/{id}/merge`). Both load
 * the task first (`TasksService.findOne`: 404 for an unknown id).
 */
@Injectable()
export class TaskWorkspaceService {
  constructor(
    private readonly tasks: TasksService,
    private readonly diffs: WorkspaceDiffService,
    private readonly merges: WorkspaceMergeService,
    private readonly events: TaskEventLog,
    private readonly quarantine: GitConfigQuarantine,
    private readonly clock: Clock,
  ) {}

  /**
   * The task's change against its base commit: its head commit once it ended, the workspace's
   * files as they are now while it runs (or waits to resume), nothing before it started.
   */
  async diff(id: string): Promise<{ task: Task; diff: WorkspaceDiff; live: boolean }> {
    const task = await this.tasks.findOne(id);
    if (task.isolation !== 'worktree' || task.baseCommit === null || task.gitDir === null) {
      throw new DomainError(
        ErrorCode.WorkspaceUnavailable,
        `Task ${id} works in its project directory (isolation none): it has no workspace or base commit to diff against`,
      );
    }
    const workspace =
      task.workspacePath !== null &&
      task.workspaceRemovedAt === null &&
      existsSync(task.workspacePath)
        ? task.workspacePath
        : null;
    const ended = isTerminal(task.status) && task.headCommit !== null;
    const base = { gitDir: task.gitDir, base: task.baseCommit };
    const target: DiffTarget =
      !ended && workspace !== null
        ? { kind: 'workspace', ...base, workspace }
        : { kind: 'commit', ...base, head: task.headCommit ?? task.baseCommit };
    const diff = await onRepository(id, 'diff', () => this.diffs.diff(target));
    return { task, diff, live: target.kind === 'workspace' };
  }

  /**
   * Merges a COMPLETED task's head commit into the target branch and records it on the task, at
   * `principal`'s request.
   */
  async merge(id: string, dto: MergeTaskDto, principal: Principal): Promise<TaskMergeResponseDto> {
    const task = await this.tasks.findOne(id);
    const notMergeable = (
      why: string,
      details: Record<string, unknown> = { status: task.status },
    ): DomainError =>
      new DomainError(ErrorCode.TaskNotMergeable, `Task ${id} cannot be merged: ${why}`, details);
    // A client that retries a merge (its first answer lost) learns where the first one landed.
    const notMergedYet = (row: Task): void => {
      if (row.mergedAt !== null) {
        throw notMergeable(`it was merged into ${row.mergedInto} already (${row.mergeCommit})`, {
          status: row.status,
          merged_into: row.mergedInto,
          merge_commit: row.mergeCommit,
          merged_at: row.mergedAt.toISOString(),
        });
      }
    };
    if (task.isolation !== 'worktree') throw notMergeable('it worked in place (isolation none)');
    if (task.status !== TaskStatus.Completed) throw notMergeable(`it is ${task.status}`);
    notMergedYet(task);
    if (
      task.headCommit === null ||
      task.baseCommit === null ||
      task.branch === null ||
      task.gitDir === null
    ) {
      throw notMergeable('it has no commit');
    }
    // A branch may be named by its ref too (`refs/heads/main`).
    const target = (dto.target_branch ?? task.targetBranch)?.replace(/^refs\/heads\//, '') ?? null;
    if (target === null) {
      throw new DomainError(
        ErrorCode.MergeTargetInvalid,
        'The task started from no branch (a detached HEAD, a tag or a commit): name target_branch',
      );
    }
    if (target === '') {
      throw new DomainError(
        ErrorCode.MergeTargetInvalid,
        `target_branch ${dto.target_branch} names no branch`,
        { target_branch: dto.target_branch },
      );
    }
    const strategy = dto.strategy ?? 'merge';
    const message =
      strategy === 'squash'
        ? `${subject(task)}\n\nSquashed from ${task.branch} (task ${task.id}).\n`
        : `Merge ${task.branch} into ${target}\n\n${subject(task)} (task ${task.id}).\n`;
    const { gitDir, baseCommit, headCommit, branch } = task;
    await this.quarantine.refuse(gitDir, principal);
    // Checked again and recorded under the repository's lock: of two requests at once, the
    // second finds the first one's merge recorded.
    const outcome = await onRepository(id, 'merge', () =>
      this.merges.merge(
        {
          gitDir,
          base: baseCommit,
          source: headCommit,
          sourceBranch: branch,
          target,
          strategy,
          message,
          gitConfig: task.gitConfigFingerprint,
          expectedTarget: dto.expected_target_commit ?? null,
        },
        {
          ensure: async () => notMergedYet(await this.tasks.findOne(id)),
          record: (merged) =>
            this.events.noteWhere({
              taskId: id,
              where: 'merged_at IS NULL',
              patch: { mergedAt: this.clock.now(), mergeCommit: merged.commit, mergedInto: target },
              record: {
                kind: 'system',
                iteration: task.iteration,
                content: `${mergedWhat(branch, target, strategy, merged)}${leftOut(merged)}`,
                data: {
                  type: 'merged',
                  strategy,
                  target_branch: target,
                  previous_commit: merged.previous,
                  merge_commit: merged.commit,
                  updated_worktree: merged.updatedWorktree,
                  branch_ahead: merged.branchAhead,
                  already_merged: merged.alreadyMerged,
                },
              },
            }),
        },
      ),
    );
    return {
      target_branch: target,
      strategy,
      merge_commit: outcome.commit,
      previous_commit: outcome.previous,
      updated_worktree: outcome.updatedWorktree,
      branch_ahead: outcome.branchAhead,
      already_merged: outcome.alreadyMerged,
      task: toTaskResponse(await this.tasks.findOne(id)),
    };
  }
}
