import { existsSync } from 'node:fs';
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from 'src/common';
import { AppConfig } from 'src/config';
import { WorkspacesService } from 'src/workspaces';
import { GitConfigQuarantine } from 'src/tasks/git-config-quarantine';
import { NewInteraction, TaskEventLog } from 'src/tasks/task-event-log.service';
import { TaskStatus } from 'src/tasks/task-status';
import { Task } from 'src/tasks/task.entity';

/**
 * What a task's end writes for the work `commitWork` kept: the record that says so, before the
 * end, and the commit as its `head_commit` (nothing when nothing was kept).
 */
export interface KeptWork {
  records: NewInteraction[];
  patch: { headCommit?: string };
}

export const NOTHING_KEPT: KeptWork = { records: [], patch: {} };

/** Why a workspace is removed. */
export type RetireReason = 'retention' | 'deleted';

/**
 * REMOVING A TASK'S WORKSPACE: when the task is deleted, and WORKSPACE_RETENTION_HOURS after it
 * ended (the sweep). Nothing is lost: changes still uncommitted are committed on the task's
 * branch first, and the branch stays (unless DELETE_MERGED_BRANCHES and the task was merged, and
 * the branch is still where the merge took it). A removal of a task that still exists is noted
 * on it (`workspace_removed_at` and a `system` record).
 */
@Injectable()
export class TaskWorkspaceCleanup {
  private readonly logger = new Logger('TaskWorkspaces');

  constructor(
    private readonly config: AppConfig,
    private readonly workspaces: WorkspacesService,
    private readonly events: TaskEventLog,
    private readonly quarantine: GitConfigQuarantine,
    private readonly clock: Clock,
  ) {}

  /**
   * Commits the uncommitted work in `task`'s workspace on its branch, as the task ends `status`
   * (`reason`); returns what the end writes for it (`KeptWork`): nothing when there is no
   * workspace or the commit failed (logged: the work stays in the workspace, and its removal
   * commits it).
   */
  async commitWork(task: Task, status: TaskStatus, reason: string): Promise<KeptWork> {
    const { workspacePath, branch, gitDir } = task;
    if (workspacePath === null || branch === null || gitDir === null) return NOTHING_KEPT;
    if (task.workspaceRemovedAt !== null || !existsSync(workspacePath)) return NOTHING_KEPT;
    try {
      await this.quarantine.assertClear(gitDir, task.id);
      const kept = await this.workspaces.commit(
        { path: workspacePath, branch, gitDir, gitConfig: task.gitConfigFingerprint },
        `WIP: ${subject(task)}\n\nUncommitted work of task ${task.id}, kept when it ended ${status} (${reason}).\n`,
      );
      return {
        records: [
          {
            kind: 'system',
            iteration: task.iteration,
            content: kept.changed
              ? `Uncommitted work kept as ${kept.commit} on ${branch}.`
              : `No uncommitted work; ${branch} stays at ${kept.commit}.`,
            data: { type: 'work_kept', commit: kept.commit, changed: kept.changed },
          },
        ],
        patch: { headCommit: kept.commit },
      };
    } catch (error) {
      this.logger.warn(`Task ${task.id}: its uncommitted work was not committed: ${String(error)}`);
      return NOTHING_KEPT;
    }
  }

  /** Removes `task`'s workspace; throws when it could not (it is left as it was). */
  async retire(task: Task, reason: RetireReason): Promise<void> {
    if (task.workspacePath === null || task.workspaceRemovedAt !== null) return;
    if (task.gitDir !== null) await this.quarantine.assertClear(task.gitDir, task.id);
    const merged = task.mergedAt !== null && task.headCommit !== null;
    const result = await this.workspaces.retire({
      path: task.workspacePath,
      gitDir: task.gitDir,
      branch: task.branch,
      message: keepMessage(task, reason),
      deleteBranchAt: this.config.DELETE_MERGED_BRANCHES && merged ? task.headCommit : null,
      gitConfig: task.gitConfigFingerprint,
    });
    if (reason === 'deleted') return;
    const kept = result.keptCommit ? `; uncommitted changes kept as ${result.keptCommit}` : '';
    await this.events.noteWhere({
      taskId: task.id,
      where: 'workspace_removed_at IS NULL',
      patch: { workspaceRemovedAt: this.clock.now() },
      record: {
        kind: 'system',
        iteration: task.iteration,
        content:
          `Workspace ${task.workspacePath} removed (${reason}); branch ${task.branch ?? '-'} ` +
          `${result.branchDeleted ? 'deleted (merged)' : 'kept'}${kept}.`,
        data: {
          type: 'workspace_removed',
          reason,
          kept_commit: result.keptCommit,
          branch_deleted: result.branchDeleted,
        },
      },
    });
  }

  /** Removes `task`'s workspace, logging instead of throwing (the sweep tries again later). */
  async retireQuietly(task: Task, reason: RetireReason): Promise<void> {
    try {
      await this.retire(task, reason);
    } catch (error) {
      this.logger.warn(`Task ${task.id}: workspace not removed (${reason}): ${String(error)}`);
    }
  }

  /**
   * Removes a workspace left without its task (deleted while its removal failed, say), held to
   * the fingerprint of the repository's git configuration taken for it, while its copies are
   * kept, and to the changes that failed the repository's other tasks (`GitConfigQuarantine`): a
   * workspace whose removal was refused on a changed configuration is refused again.
   */
  async retireLeftover(taskId: string): Promise<void> {
    const path = this.workspaces.pathFor(taskId);
    const gitDir = await this.workspaces.repositoryOf(path);
    if (gitDir !== null) await this.quarantine.assertClear(gitDir, taskId);
    await this.workspaces.retire({
      path,
      gitDir,
      branch: null,
      message: `WIP: work left in the workspace of deleted task ${taskId}\n\nKept when the workspace was removed.\n`,
      deleteBranchAt: null,
      gitConfig: this.workspaces.takenFingerprint(taskId),
    });
  }
}

/** The first line of a task's description, shortened for a commit subject. */
function subject(task: Task): string {
  const line = task.description.split('\n', 1)[0].trim();
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

/** The message of the commit that keeps a workspace's uncommitted changes at its removal. */
function keepMessage(task: Task, reason: RetireReason): string {
  return (
    `WIP: ${subject(task)}\n\nChanges left uncommitted in the workspace of task ${task.id} ` +
    `(${task.status}), kept when the workspace was removed (${reason}).\n`
  );
}
