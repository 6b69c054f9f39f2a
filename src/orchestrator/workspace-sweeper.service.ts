import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource, In, IsNull, LessThanOrEqual, Not } from 'typeorm';
import { Clock, everyWithoutOverlap, loggedReports } from 'src/common';
import { AppConfig } from 'src/config';
import { isDirectoryInUse } from 'src/process';
import { Task, TaskWorkspaceCleanup, TERMINAL_STATUSES } from 'src/tasks';
import { TestRunnerService } from 'src/test-runner';
import {
  BaseCheckout,
  Git,
  GitConfigGuard,
  RefGuard,
  WorkspaceDiffService,
  WorkspacesService,
} from 'src/workspaces';

const SWEEP_INTERVAL_NAME = 'workspace-sweep';

/** Most workspaces removed per sweep (the rest at the next one). */
export const SWEEP_BATCH = 50;

/** Expired tasks read at a time while looking for the workspaces this server can remove. */
const SCAN_PAGE = 500;

/**
 * WORKSPACES DO NOT PILE UP. At start and every WORKSPACE_SWEEP_SECONDS:
 *
 * - the workspace of a task that ended WORKSPACE_RETENTION_HOURS ago or more is removed (its
 *   uncommitted changes committed on its branch first; the branch stays), where this server can
 *   remove it (`WorkspacesService.removable`): one under another instance's WORKSPACES_DIR on
 *   another machine is passed over, left to that instance, and never holds up this server's own;
 * - a workspace directory whose task no longer exists (deleted while its removal failed, or a
 *   server that died in between) is removed the same way, unless a process still works in it;
 * - the removals a stopped server left half-done are finished, nothing in them committed;
 * - the temporary directories a killed server left (scratch checkouts of a base commit, with their
 *   entries in the repository's worktree list; JUnit report directories; the empty directory its
 *   git ran in for commands on a repository) are removed.
 *
 * Removal goes through git (`TaskWorkspaceCleanup`, `WorkspacesService.retire`); a failure is
 * logged and tried again at the next sweep. Instances that share a WORKSPACES_DIR must share
 * the database too (a workspace whose task is in another database looks left over).
 */
@Injectable()
export class WorkspaceSweeperService implements OnModuleDestroy {
  private readonly logger = new Logger('WorkspaceSweeper');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly workspaces: WorkspacesService,
    private readonly cleanup: TaskWorkspaceCleanup,
    private readonly scheduler: SchedulerRegistry,
    private readonly scratch: BaseCheckout,
    private readonly tests: TestRunnerService,
    private readonly refGuard: RefGuard,
    private readonly gitConfig: GitConfigGuard,
    private readonly diffs: WorkspaceDiffService,
    private readonly git: Git,
  ) {}

  /** Sweeps now and every WORKSPACE_SWEEP_SECONDS. */
  schedule(): void {
    this.scheduler.addInterval(
      SWEEP_INTERVAL_NAME,
      everyWithoutOverlap(
        this.config.WORKSPACE_SWEEP_SECONDS * 1000,
        () => this.sweep(),
        loggedReports(this.logger, 'Workspace sweep'),
        { now: true },
      ),
    );
  }

  /** One sweep (one at a time: `everyWithoutOverlap`). */
  private async sweep(): Promise<void> {
    await this.scratch.removeOrphans();
    await this.tests.removeOrphans();
    await this.refGuard.removeOrphans();
    await this.gitConfig.removeOrphans();
    await this.diffs.removeOrphans();
    await this.git.removeOrphans();
    await this.workspaces.finishRemovals();
    const tasks = this.dataSource.getRepository(Task);
    for (const task of await this.expiredHere()) {
      try {
        await this.cleanup.retire(task, 'retention');
      } catch (error) {
        this.logger.warn(`Task ${task.id}: workspace not removed: ${String(error)}`);
      }
    }
    const ids = await this.workspaces.listWorkspaceIds();
    const known = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await tasks.find({
        select: { id: true },
        where: { id: In(ids.slice(i, i + 500)) },
      });
      for (const row of rows) known.add(row.id);
    }
    for (const id of ids.filter((candidate) => !known.has(candidate))) {
      const path = this.workspaces.pathFor(id);
      if (isDirectoryInUse(path)) continue;
      try {
        await this.cleanup.retireLeftover(id);
      } catch (error) {
        this.logger.warn(`Workspace ${path} without a task not removed: ${String(error)}`);
      }
    }
  }

  /**
   * The tasks that ended WORKSPACE_RETENTION_HOURS ago or more whose workspace this server can
   * remove, oldest first, at most SWEEP_BATCH: read a page at a time (their workspace, repository
   * and branch only) until the batch is full, so that workspaces it cannot remove (another
   * instance's on another machine, however many and however old) are passed over.
   */
  private async expiredHere(): Promise<Task[]> {
    const tasks = this.dataSource.getRepository(Task);
    const cutoff = new Date(
      this.clock.nowMs() - this.config.WORKSPACE_RETENTION_HOURS * 3600 * 1000,
    );
    const ids: string[] = [];
    for (let skip = 0; ids.length < SWEEP_BATCH; skip += SCAN_PAGE) {
      const page = await tasks.find({
        select: { id: true, workspacePath: true, gitDir: true, branch: true },
        where: {
          isolation: 'worktree',
          workspacePath: Not(IsNull()),
          workspaceRemovedAt: IsNull(),
          status: In([...TERMINAL_STATUSES]),
          completedAt: LessThanOrEqual(cutoff),
        },
        order: { completedAt: 'ASC', id: 'ASC' },
        skip,
        take: SCAN_PAGE,
      });
      for (const task of page) {
        const { workspacePath: path, gitDir, branch } = task;
        if (path !== null && this.workspaces.removable({ path, gitDir, branch })) ids.push(task.id);
      }
      if (page.length < SCAN_PAGE) break;
    }
    const chosen = ids.slice(0, SWEEP_BATCH);
    if (chosen.length === 0) return [];
    return tasks.find({ where: { id: In(chosen) }, order: { completedAt: 'ASC', id: 'ASC' } });
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', SWEEP_INTERVAL_NAME)) {
      this.scheduler.deleteInterval(SWEEP_INTERVAL_NAME);
    }
  }
}
