import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from 'src/config';
import { groupWorksIn, isProcessGroupAlive, killProcessGroup } from 'src/process';
import { TaskStatus, TaskWorkspaceCleanup } from 'src/tasks';
import { isOwnerGoneLocally, ownerIsOnThisHost } from 'src/orchestrator/lease-owner';
import { ExpiredLease, TaskQueueRepository } from 'src/orchestrator/task-queue.repository';

const SWEEP_INTERVAL_NAME = 'task-lease-sweep';

/**
 * Crash recovery. At start and every LEASE_SECONDS, live tasks (RUNNING, PAUSED, TESTING) whose
 * lease expired, or whose owner was a server process on this host that no longer exists, are
 * taken back: checked once more just before (an owner that renewed keeps its task), the process
 * group their owner recorded is ended when it still runs in the task's project on this host,
 * then the task is re-queued (it resumes its conversation, in its workspace), failed with
 * `server_restart` once its server died MAX_TASK_ATTEMPTS times, or cancelled if a cancel was
 * requested (a failed or cancelled task's uncommitted work is committed on its branch). So no
 * task stays RUNNING after its server died. (An owner whose lease lapsed while it still runs stops the task
 * itself: see `lease-renewal.ts`.)
 */
@Injectable()
export class LeaseSweeperService implements OnModuleDestroy {
  private readonly logger = new Logger('LeaseSweeper');
  private sweeping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly queue: TaskQueueRepository,
    private readonly scheduler: SchedulerRegistry,
    private readonly workspaces: TaskWorkspaceCleanup,
  ) {}

  /** Runs `sweep` every LEASE_SECONDS (tasks for which `runsHere` is true are left alone). */
  schedule(runsHere: (taskId: string) => boolean): void {
    const handle = setInterval(() => {
      this.sweep(runsHere).catch((error: unknown) =>
        this.logger.error(`Lease sweep failed: ${String(error)}`),
      );
    }, this.config.LEASE_SECONDS * 1000);
    this.scheduler.addInterval(SWEEP_INTERVAL_NAME, handle);
  }

  /** One sweep; returns how many tasks were taken back. */
  async sweep(runsHere: (taskId: string) => boolean): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    try {
      const stale = await this.queue.findStaleLeases((owner) =>
        isOwnerGoneLocally(owner, this.queue.owner),
      );
      let taken = 0;
      for (const task of stale) {
        if (runsHere(task.id)) continue;
        const ownerGone =
          task.leaseOwner !== null && isOwnerGoneLocally(task.leaseOwner, this.queue.owner);
        if (!(await this.queue.stillStale(task, ownerGone))) continue;
        await this.endOrphanedProcesses(task);
        const to = await this.queue.reclaimStale(task, ownerGone);
        if (to === null) continue;
        taken += 1;
        if (to === TaskStatus.Failed || to === TaskStatus.Cancelled) {
          await this.workspaces.keepWork(task.id, to);
        }
        this.logger.warn(
          `Task ${task.id}: owner ${task.leaseOwner || '(none)'} is gone; ${task.status} -> ${to}`,
        );
      }
      return taken;
    } finally {
      this.sweeping = false;
    }
  }

  private async endOrphanedProcesses(task: ExpiredLease): Promise<void> {
    const pgid = task.processGroupId;
    if (pgid === null || task.leaseOwner === null || !ownerIsOnThisHost(task.leaseOwner)) return;
    if (!isProcessGroupAlive(pgid) || !groupWorksIn(pgid, task.workDir)) return;
    this.logger.warn(`Task ${task.id}: ending orphaned process group ${pgid}`);
    await killProcessGroup(pgid, this.config.KILL_GRACE_SECONDS * 1000);
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', SWEEP_INTERVAL_NAME)) {
      this.scheduler.deleteInterval(SWEEP_INTERVAL_NAME);
    }
  }
}
