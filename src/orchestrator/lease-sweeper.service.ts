import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from 'src/config';
import {
  endProcess,
  groupWorksIn,
  isProcessGroupAlive,
  killProcessGroup,
  processesMarkedWith,
} from 'src/process';
import {
  isOwnerGoneLocally,
  ownerIsOnThisHost,
  parseOwner,
  seeOwner,
} from 'src/orchestrator/lease-owner';
import { ExpiredLease, TaskQueueRepository } from 'src/orchestrator/task-queue.repository';

const SWEEP_INTERVAL_NAME = 'task-lease-sweep';

/**
 * Crash recovery. At start and every LEASE_SECONDS, live tasks (RUNNING, PAUSED, TESTING) whose
 * lease expired, or whose owner was a server process on this host that no longer exists, are
 * taken back: checked once more just before (an owner that renewed keeps its task), the process
 * group their owner recorded is ended when it still runs in the task's project on this host,
 * with any process still marked with its directory (one that left its group), then the task is
 * re-queued (it resumes its conversation, in its workspace), failed with `server_restart` once
 * its server was known to die MAX_TASK_ATTEMPTS times, or cancelled if a cancel was requested (a
 * failed or cancelled task's uncommitted work is committed on its branch). So no task stays
 * RUNNING after its server died. A lease that merely ran out re-queues the task as
 * `lease_expired` without counting a death; one whose owner ran on another host (not seen to
 * live) counts towards twice MAX_TASK_ATTEMPTS (`stop-bounds.ts`). (The owner's own renewal takes a late lease
 * back when nobody else did: see `lease-renewal.ts`.)
 */
@Injectable()
export class LeaseSweeperService implements OnModuleDestroy {
  private readonly logger = new Logger('LeaseSweeper');
  private sweeping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly queue: TaskQueueRepository,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  /**
   * Runs `sweep` every LEASE_SECONDS (tasks for which `runsHere` is true are left alone). A lease
   * that runs out just after a sweep waits for the next: a dead server's task is taken back up to
   * twice LEASE_SECONDS after its death (README says so). Kept at one sweep a lease: each reads
   * every live task, on every instance, and a shorter lease is the setting for a quicker recovery.
   */
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
        const seen = seeOwner(task.leaseOwner, this.queue.owner);
        const ownerGone = seen === 'gone';
        if (!(await this.queue.stillStale(task, ownerGone))) continue;
        await this.endOrphanedProcesses(task);
        const to = await this.queue.reclaimStale(task, seen);
        if (to === null) continue;
        taken += 1;
        const why = ownerGone
          ? `owner ${task.leaseOwner} is gone`
          : `lease of owner ${task.leaseOwner || '(none)'} expired`;
        this.logger.warn(`Task ${task.id}: ${why}; ${task.status} -> ${to}`);
      }
      return taken;
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Ends what the owner left running on this host: the process group it recorded (when a member
   * still works in the task's project: after a restart the pid may be someone else's), and any
   * process marked with the project's directory and the owner's pid that left its group.
   */
  private async endOrphanedProcesses(task: ExpiredLease): Promise<void> {
    if (task.leaseOwner === null || !ownerIsOnThisHost(task.leaseOwner, this.queue.owner)) return;
    // The owner's pid marks the children it started (`childMarks`): not another server's.
    const ownerPid = parseOwner(task.leaseOwner)!.pid;
    const graceMs = this.config.KILL_GRACE_SECONDS * 1000;
    const pgid = task.processGroupId;
    if (pgid !== null && isProcessGroupAlive(pgid) && groupWorksIn(pgid, task.workDir)) {
      this.logger.warn(`Task ${task.id}: ending orphaned process group ${pgid}`);
      await killProcessGroup(pgid, graceMs);
    }
    const escaped = processesMarkedWith(task.workDir, ownerPid);
    if (escaped.length > 0) {
      this.logger.warn(
        `Task ${task.id}: ending ${escaped.length} orphaned process(es) that left their group`,
      );
      await Promise.all(escaped.map((pid) => endProcess(pid, graceMs)));
    }
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', SWEEP_INTERVAL_NAME)) {
      this.scheduler.deleteInterval(SWEEP_INTERVAL_NAME);
    }
  }
}
