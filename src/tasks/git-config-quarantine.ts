import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { canSee, Owned, Principal } from 'src/access';
import { jsonTransformer, PreparedReads } from 'src/database';
import { GitConfigChangedError, GitConfigFingerprint, WorkspacesService } from 'src/workspaces';
import { TaskStatus } from 'src/tasks/task-status';

/** Of a repository's tasks that failed `git_config_changed`, the newest this many are looked at. */
export const MAX_QUARANTINING_TASKS = 20;

/** Those tasks of a repository (`IDX_tasks_status_reason_created_at`): a read made twice a task. */
const FAILED_ON_CHANGE_SQL =
  'SELECT id, owner_key_id, git_config_fingerprint FROM tasks WHERE status_reason = ? AND status = ? AND git_dir = ? ' +
  'AND retried_by IS NULL AND workspace_removed_at IS NULL AND git_config_fingerprint IS NOT NULL ' +
  `ORDER BY created_at DESC LIMIT ${MAX_QUARANTINING_TASKS}`;

/**
 * WHERE A REPOSITORY'S TASKS ARE HELD AWAY FROM A GIT CONFIGURATION CHANGE THAT FAILED ONE OF
 * THEM: a task takes the repository's git configuration as it finds it as its starting point (its
 * fingerprint), and its checkout (`git worktree add`, smudge filters), its setup command, its
 * commits (`git add`, clean filters) and its merge run through it. So while the repository still
 * holds a change that failed one of its tasks `git_config_changed` (that task's
 * `assertGitConfigUnchanged` still throws), the server's git runs nothing of it for any other
 * task: a new one is refused as it is created (409); a queued or running one fails
 * `git_config_changed` before its workspace is checked out, before each test round and before
 * each commit (`TaskRunner`'s workspace port: its fingerprint may have been taken after the
 * other's agent made the change and before that task's run found it); a completed one's merge is
 * 409 and the removal of its workspace refused (`TaskWorkspaceService`, `TaskWorkspaceCleanup`).
 *
 * The change is let go of when it is undone (the user's own settings aside), and for good once
 * the failed task was retried or its workspace removed (each allowed only while it is undone:
 * `TaskRetryService`, `WorkspacesService.retire`; after that its copies of the configuration may
 * be gone, and any later change to it, the user's own too, would count), or when the failed task
 * is deleted: the way to accept the configuration as it is now. Only the newest
 * MAX_QUARANTINING_TASKS such tasks of the repository are looked at; the look starts no process
 * while nothing differs.
 *
 * The refusal names the failed task (and advises deleting it) only to whoever may see it
 * (`canSee`): a request's key, or the owner of the task whose record keeps a run's failure.
 * Another key's task is no more named than the API shows it (404): the refusal stands, and says
 * that its owner or an administrator has to act.
 */
@Injectable()
export class GitConfigQuarantine {
  private readonly reads: PreparedReads;

  constructor(
    private readonly workspaces: WorkspacesService,
    @InjectDataSource() dataSource: DataSource,
  ) {
    this.reads = new PreparedReads(dataSource);
  }

  /**
   * Throws `GitConfigChangedError` (naming the files, and the failed task when `mayName` allows
   * it) when the repository at `gitDir` still holds a change that failed one of its tasks other
   * than `taskId`. `mayName` is asked whether whoever is told may see the failed task; without
   * it, it is named (what only the server's log reads).
   */
  async assertClear(
    gitDir: string,
    taskId: string | null = null,
    mayName: (failed: Owned) => boolean = () => true,
  ): Promise<void> {
    const failed = await this.reads.all<{
      id: string;
      owner_key_id: string | null;
      git_config_fingerprint: string;
    }>(FAILED_ON_CHANGE_SQL, ['git_config_changed', TaskStatus.Failed, gitDir]);
    for (const task of failed) {
      if (task.id === taskId) continue;
      const fingerprint = jsonTransformer.from(
        task.git_config_fingerprint,
      ) as GitConfigFingerprint | null;
      try {
        await this.workspaces.assertGitConfigUnchanged(gitDir, fingerprint);
      } catch (error) {
        if (!(error instanceof GitConfigChangedError)) throw error;
        const named = mayName({ ownerKeyId: task.owner_key_id });
        throw new GitConfigChangedError(gitDir, error.paths, { id: task.id, named });
      }
    }
  }

  /**
   * `assertClear` as an answer to `principal`'s request (creating a task, a merge): 409
   * `git_config_changed`, naming the failed task only when the principal may see it.
   */
  refuse(gitDir: string, principal: Principal): Promise<void> {
    return GitConfigChangedError.refusing(
      this.assertClear(gitDir, null, (failed) => canSee(principal, failed)),
    );
  }
}
