import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryFailedError, QueryRunner } from 'typeorm';
import { ApiKeysService } from 'src/auth';
import { Clock } from 'src/common';
import { AppConfig, hostId } from 'src/config';
import { databaseNowSql, isUniqueViolation, PreparedReads } from 'src/database';
import {
  ACTIVE_STATUSES,
  Lease,
  MAX_UNDELIVERED_MESSAGES,
  NO_MESSAGE_SINCE_SQL,
  NOTHING_KEPT,
  StatusReason,
  Task,
  TaskEventLog,
  TaskMessages,
  TaskPhase,
  TaskRowReader,
  TaskStatus,
  TaskWorkspaceCleanup,
  WAITING_FOR_HUMAN_SQL,
  waitsForHuman,
} from 'src/tasks';
import { makeOwnerId, OwnerSeen } from 'src/orchestrator/lease-owner';
import { whyNotRequeued } from 'src/orchestrator/stop-bounds';
import { ownerKeyEnd } from 'src/orchestrator/run/owner-key';

/**
 * What a claimed task does first: a task with a worktree prepares it (creates it, or re-attaches
 * to it) before anything else, so the claim records that phase, and the preparation has no write
 * of its own before git runs (the claim is the fenced write it follows).
 */
function firstPhase(task: Pick<Task, 'isolation'>): TaskPhase {
  return task.isolation === 'worktree' ? 'preparing_workspace' : 'agent_turn';
}

export interface ClaimedTask {
  lease: Lease;
  /** The task as it is after the claim (RUNNING, attempt incremented). */
  task: Task;
  /** The task ran before (a server stopped while running it) and continues where it was. */
  resumed: boolean;
}

/** A task whose lease ran out, as the sweep sees it. */
export interface ExpiredLease {
  id: string;
  attempt: number;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  processGroupId: number | null;
  /** Where its processes worked: its workspace, or its project directory. */
  workDir: string;
  status: TaskStatus;
}

/** What a claim may take. */
export interface ClaimOptions {
  /** Tasks that still need a workspace may be claimed (false while over WORKSPACES_MAX_GB). */
  newWorkspaces: boolean;
}

/** Most tasks looked at per claim (one at a time, oldest first); the first claimable is taken. */
const CLAIM_CANDIDATES = 20;

/** The unique key a live task holds for its project directory (isolation `none`). */
export function projectKey(projectPath: string): string {
  return createHash('sha256').update(projectPath).digest('hex');
}

/**
 * The unique key a live task holds (`running_project_key`): its project directory when it works
 * there, so one such task runs per directory; its own workspace when it has one, so tasks of one
 * repository run side by side.
 */
export function runningKey(task: Pick<Task, 'id' | 'isolation' | 'projectPath'>): string {
  return task.isolation === 'worktree'
    ? createHash('sha256').update(`workspace:${task.id}`).digest('hex')
    : projectKey(task.projectPath);
}

/** MySQL gave up on a lock (deadlock victim or wait timeout): the claim is simply tried again later. */
function isLockConflict(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: string } | undefined)?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

/**
 * WHERE A TASK IS CLAIMED. The durable queue is the `tasks` table itself:
 *
 * - `claimNext` takes the oldest PENDING task that may run now, setting status RUNNING, a lease
 *   (`lease_owner`, `lease_expires_at`), `attempt + 1` and `running_project_key` (unique, enforced
 *   by the database for every server instance: one live task per project directory for tasks
 *   that work in place; a key of its own for a task in a workspace, so tasks of one repository
 *   run side by side). Tasks that need a new workspace are left while the workspaces are over
 *   their disk quota. On MySQL/MariaDB the candidates are locked with `FOR UPDATE SKIP LOCKED`
 *   so instances never wait on each other; on SQLite (one writer) the update is conditional on
 *   the row being unchanged since it was read. The claim and its `status` record are one write
 *   (`TaskEventLog.changeStatusWhere`), so nothing can come between them in the history.
 * - Every later write by the owner goes through `TaskEventLog`, fenced by the lease:
 *   `WHERE id = ? AND attempt = ? AND lease_owner = ?`, so a stale owner changes nothing.
 * - Stale leases (the owner died or stopped renewing) are found and taken back here
 *   (`findStaleLeases`, `reclaimStale`), for the lease sweep.
 */
@Injectable()
export class TaskQueueRepository {
  /** This server process's lease owner id. */
  readonly owner: string;
  private readonly mysql: boolean;
  /** The claim's and the cancel sweep's reads: several per task, and every QUEUE_POLL_MS. */
  private readonly reads: PreparedReads;
  /**
   * A task's lease ran out, by the database's clock: judged in the statement that finds or takes
   * the task, so whether one instance takes another's task depends on no instance's clock.
   */
  private readonly expiredSql: string;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly events: TaskEventLog,
    private readonly clock: Clock,
    private readonly rows: TaskRowReader,
    private readonly messages: TaskMessages,
    private readonly workspaces: TaskWorkspaceCleanup,
    private readonly keys: ApiKeysService,
  ) {
    this.mysql = dataSource.options.type === 'mysql';
    this.owner = makeOwnerId(config.INSTANCE_ID, hostId(config.HOST_ID));
    this.reads = new PreparedReads(dataSource);
    this.expiredSql = `(lease_expires_at IS NULL OR lease_expires_at < ${databaseNowSql(dataSource)})`;
  }

  private leaseExpiry(): Date {
    return new Date(this.clock.nowMs() + this.config.LEASE_SECONDS * 1000);
  }

  /** Claims the oldest runnable PENDING task, or returns null when there is none. */
  async claimNext(options: ClaimOptions = { newWorkspaces: true }): Promise<ClaimedTask | null> {
    if (!this.mysql) return this.claimFrom(this.dataSource.manager, '', options);
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      const claimed = await this.claimFrom(
        runner.manager,
        ' FOR UPDATE SKIP LOCKED',
        options,
        runner,
      );
      await runner.commitTransaction();
      return claimed;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      if (isLockConflict(error)) return null;
      throw error;
    } finally {
      await runner.release();
    }
  }

  private async claimFrom(
    manager: EntityManager,
    lockClause: string,
    options: ClaimOptions,
    runner?: QueryRunner,
  ): Promise<ClaimedTask | null> {
    const tried: string[] = [];
    const quota = options.newWorkspaces
      ? ''
      : `AND NOT (isolation = 'worktree' AND workspace_path IS NULL) `;
    while (tried.length < CLAIM_CANDIDATES) {
      const exclude = tried.length > 0 ? `AND id NOT IN (${tried.map(() => '?').join(', ')}) ` : '';
      const rows = await this.reads.all<{ id: string }>(
        `SELECT id FROM tasks WHERE status = 'PENDING' AND cancel_requested = 0 ` +
          `AND (isolation = 'worktree' OR project_path NOT IN ` +
          `(SELECT project_path FROM tasks WHERE running_project_key IS NOT NULL AND isolation = 'none')) ` +
          `${quota}${exclude}ORDER BY created_at, id LIMIT 1${lockClause}`,
        tried,
        manager,
      );
      if (rows.length === 0) return null;
      const id = rows[0].id;
      tried.push(id);
      // On SQLite (no runner) through a statement prepared once; on MySQL inside the claim's
      // transaction.
      const task = runner ? await manager.findOneBy(Task, { id }) : await this.rows.task(id);
      if (!task || task.status !== TaskStatus.Pending) continue;
      const now = this.clock.now();
      const resumed = task.iteration > 0;
      const reason: StatusReason = resumed ? 'resumed' : 'claimed';
      const patch = {
        phase: firstPhase(task),
        attempt: task.attempt + 1,
        leaseOwner: this.owner,
        leaseExpiresAt: this.leaseExpiry(),
        runningProjectKey: runningKey(task),
        processGroupId: null,
        startedAt: task.startedAt ?? now,
      };
      try {
        const claimed = await this.events.changeStatusWhere(
          {
            taskId: id,
            from: TaskStatus.Pending,
            to: TaskStatus.Running,
            reason,
            iteration: task.iteration,
            where: 'attempt = :attempt',
            params: { attempt: task.attempt },
            patch,
            data: { attempt: patch.attempt, owner: this.owner },
          },
          runner,
        );
        if (claimed === null) continue;
      } catch (error) {
        if (isUniqueViolation(error)) continue;
        throw error;
      }
      const claimed = Object.assign(task, patch, {
        status: TaskStatus.Running,
        statusReason: reason,
        updatedAt: now,
      });
      return {
        lease: { taskId: id, attempt: claimed.attempt, owner: this.owner },
        task: claimed,
        resumed,
      };
    }
    return null;
  }

  /** Pushes the lease expiry forward and returns it; `LeaseLostError` when it is no longer ours. */
  async renew(lease: Lease): Promise<Date> {
    const expiresAt = this.leaseExpiry();
    await this.events.update(lease, { leaseExpiresAt: expiresAt });
    return expiresAt;
  }

  /** Ids among `taskIds` whose cancellation, or the interruption of whose turn, was requested. */
  async requests(taskIds: readonly string[]): Promise<{ cancel: string[]; interrupt: string[] }> {
    if (taskIds.length === 0) return { cancel: [], interrupt: [] };
    const rows = await this.dataSource
      .getRepository(Task)
      .createQueryBuilder('t')
      .select('t.id', 'id')
      .addSelect('t.cancel_requested', 'cancel')
      .where('t.id IN (:...ids) AND (t.cancel_requested = 1 OR t.interrupt_requested = 1)', {
        ids: taskIds,
      })
      .getRawMany<{ id: string; cancel: number | boolean }>();
    return {
      cancel: rows.filter((r) => Boolean(r.cancel)).map((r) => r.id),
      interrupt: rows.filter((r) => !r.cancel).map((r) => r.id),
    };
  }

  /**
   * Live tasks whose lease expired, or whose owner is `goneOwner(owner)`; not a task waiting for a
   * person (it has no lease on purpose). Expired by the database's clock (`expiredSql`), not by
   * this instance's: a step of this machine's clock does not make another owner's lease look
   * expired.
   */
  async findStaleLeases(goneOwner: (owner: string) => boolean): Promise<ExpiredLease[]> {
    const { entities, raw } = await this.dataSource
      .getRepository(Task)
      .createQueryBuilder('t')
      .select([
        't.id',
        't.attempt',
        't.leaseOwner',
        't.leaseExpiresAt',
        't.processGroupId',
        't.projectPath',
        't.workspacePath',
        't.status',
      ])
      .addSelect(`CASE WHEN ${this.expiredSql} THEN 1 ELSE 0 END`, 'expired')
      .where('t.status IN (:...live)', { live: ACTIVE_STATUSES })
      .andWhere(`NOT (${WAITING_FOR_HUMAN_SQL})`)
      .getRawAndEntities<{ t_id: string; expired: number | string }>();
    const expired = new Set(raw.filter((r) => Number(r.expired) === 1).map((r) => r.t_id));
    return entities
      .filter((t) => t.leaseOwner === null || expired.has(t.id) || goneOwner(t.leaseOwner))
      .map((t) => ({
        id: t.id,
        attempt: t.attempt,
        leaseOwner: t.leaseOwner,
        leaseExpiresAt: t.leaseExpiresAt,
        processGroupId: t.processGroupId,
        workDir: t.workspacePath ?? t.projectPath,
        status: t.status,
      }));
  }

  /** The conditions under which `stale` may still be taken back (see `reclaimStale`). */
  private staleCondition(
    stale: ExpiredLease,
    ownerGone: boolean,
  ): {
    where: string;
    params: Record<string, unknown>;
  } {
    const owner = stale.leaseOwner === null ? 'lease_owner IS NULL' : 'lease_owner = :owner';
    const expired = ownerGone ? '' : ` AND ${this.expiredSql}`;
    return {
      where: `attempt = :attempt AND ${owner}${expired}`,
      params: { attempt: stale.attempt, owner: stale.leaseOwner },
    };
  }

  /** True while `stale` is still what the sweep saw: same claim, and expired or its owner gone. */
  async stillStale(stale: ExpiredLease, ownerGone: boolean): Promise<boolean> {
    const { where, params } = this.staleCondition(stale, ownerGone);
    const count = await this.dataSource
      .getRepository(Task)
      .createQueryBuilder()
      .where(`id = :id AND ${where}`, { ...params, id: stale.id })
      .getCount();
    return count > 0;
  }

  /**
   * Takes a stale task back from its owner: re-queued as PENDING (it resumes where it was when
   * claimed again), or CANCELLED when a cancel was requested. An owner seen to be gone (it ran on
   * this host and its process is gone) counts as a server death (`server_restart`, and the task
   * FAILS once its server died MAX_TASK_ATTEMPTS times). A lease that merely ran out re-queues
   * the task as `lease_expired`; when its owner was not seen to live (it ran on another host:
   * dead or stalled, nobody here can tell) that counts in `lease_expiries`, and the task FAILS
   * `server_restart` once it reaches twice MAX_TASK_ATTEMPTS: a task that crashes every server
   * it runs on does not move among them forever, while one whose owner merely stalled now and
   * then has room (an owner seen alive here, merely stalled, counts nothing). Conditional on the
   * claim being unchanged and, unless the owner is seen gone, the lease still expired, so an
   * owner that renewed in the meantime keeps its task. A task that ends (FAILED or CANCELLED)
   * after its owner died has its uncommitted work committed on its branch first, said in the same
   * write as its end (a stream of it ends with the end). A task that ends lists the messages from
   * a person no turn took in that write too, as a run's end does; conditional on no message
   * stored after they were read (one that was is read, and the write made again).
   * Returns the new status, or null when the task was not taken.
   */
  async reclaimStale(stale: ExpiredLease, seen: OwnerSeen): Promise<TaskStatus | null> {
    const task = await this.dataSource.getRepository(Task).findOneBy({ id: stale.id });
    if (!task || task.attempt !== stale.attempt || task.leaseOwner !== stale.leaseOwner) {
      return null;
    }
    const ownerGone = seen === 'gone';
    const restarts = ownerGone ? task.restarts + 1 : task.restarts;
    const leaseExpiries = seen === 'unseen' ? task.leaseExpiries + 1 : task.leaseExpiries;
    const failure = whyNotRequeued(restarts, leaseExpiries, this.config.MAX_TASK_ATTEMPTS);
    const to = task.cancelRequested
      ? TaskStatus.Cancelled
      : failure !== null
        ? TaskStatus.Failed
        : TaskStatus.Pending;
    const reason: StatusReason =
      to === TaskStatus.Cancelled
        ? 'cancelled'
        : ownerGone || to === TaskStatus.Failed
          ? 'server_restart'
          : 'lease_expired';
    const now = this.clock.now();
    const { where, params } = this.staleCondition(stale, ownerGone);
    const ends = to !== TaskStatus.Pending;
    // Only a dead owner's work is committed before the write that takes the task: a stalled owner
    // that renews meanwhile keeps its task, and its workspace must not have gained a commit. (Its
    // work, when the task is taken all the same, stays in the workspace; its removal commits it.)
    const kept =
      to === TaskStatus.Pending || !ownerGone
        ? NOTHING_KEPT
        : await this.workspaces.commitWork(task, to, reason);
    // A message stored after the list was read fails the write: read again and write again, the
    // work kept said with it (committed once: a sweep that gave up here would find the workspace
    // clean and say nothing was kept). At most one more try than messages may wait.
    for (let tries = 0; ; tries += 1) {
      const sinceId = ends ? await this.messages.latestRecordId(task.id) : 0;
      const unread = ends ? await this.messages.undeliveredNote(task.id, task.iteration) : [];
      const changed = await this.events.changeStatusWhere({
        taskId: task.id,
        from: task.status,
        to,
        reason,
        iteration: task.iteration,
        where: ends ? `${where} AND ${NO_MESSAGE_SINCE_SQL}` : where,
        params: { ...params, sinceId },
        data: { previous_owner: stale.leaseOwner },
        before: [...unread, ...kept.records],
        patch: {
          ...kept.patch,
          phase: to === TaskStatus.Pending ? 'queued' : 'done',
          restarts,
          leaseExpiries,
          leaseOwner: null,
          leaseExpiresAt: null,
          runningProjectKey: null,
          processGroupId: null,
          ...(to === TaskStatus.Failed ? { completedAt: now, errorMessage: failure } : {}),
          ...(to === TaskStatus.Cancelled ? { completedAt: now } : {}),
        },
      });
      if (changed !== null) return to;
      const late =
        ends &&
        tries < MAX_UNDELIVERED_MESSAGES &&
        (await this.messages.latestRecordId(task.id)) !== sinceId;
      if (!late) return null;
    }
  }

  /**
   * While the workspaces are over their disk quota, the queued tasks that need a new workspace
   * say so (`status_reason` `workspace_quota`: they are not claimed); once they are under it
   * again, those tasks are plain queued tasks again (`created`). Not status changes: they stay
   * PENDING. Returns how many tasks changed.
   */
  async markQuotaWaiting(overQuota: boolean): Promise<number> {
    const query = this.dataSource.getRepository(Task).createQueryBuilder().update(Task);
    const result = overQuota
      ? await query
          .set({ statusReason: 'workspace_quota', updatedAt: this.clock.now() })
          .where(
            "status = 'PENDING' AND isolation = 'worktree' AND workspace_path IS NULL " +
              "AND cancel_requested = 0 AND (status_reason IS NULL OR status_reason <> 'workspace_quota')",
          )
          .execute()
      : await query
          .set({ statusReason: 'created', updatedAt: this.clock.now() })
          .where("status = 'PENDING' AND status_reason = 'workspace_quota'")
          .execute();
    return result.affected ?? 0;
  }

  /**
   * Tasks nobody runs whose cancel was requested while they were live become CANCELLED here
   * instead of waiting forever: queued ones (the cancel reached a server that was shutting down or
   * a task being taken back; the claim skips them), and ones waiting for a person (the cancel
   * reached the run as it let go of the task to wait: the run could no longer end it, and the
   * cancel found it still live). The messages from a person no turn took, and the work its run
   * left in its workspace, are said before the end; no message can come now: a task being
   * cancelled takes none. The flag does not say who asked: a task whose owner key is revoked or
   * expired by now ends as the owner key rule says (`owner_key_revoked`, `owner_key_expired`), as
   * a revocation's cancel would have ended it. Returns their ids.
   */
  async cancelFlagged(): Promise<string[]> {
    // Asked at every round of claims, and mostly of an empty set: a plain SELECT of the ids, the
    // entity read only for a task found.
    const flagged = await this.reads.all<{ id: string }>(
      `SELECT id FROM tasks WHERE status IN ('PENDING', 'PAUSED') AND cancel_requested = 1 ` +
        `AND (status = 'PENDING' OR (${WAITING_FOR_HUMAN_SQL})) LIMIT ${CLAIM_CANDIDATES}`,
    );
    const cancelled: string[] = [];
    for (const { id } of flagged) {
      const task = await this.dataSource.getRepository(Task).findOneBy({ id });
      if (task === null) continue;
      const waiting = waitsForHuman(task);
      if (task.status !== TaskStatus.Pending && !waiting) continue;
      const refusal = task.ownerKeyId === null ? null : await this.keys.refusal(task.ownerKeyId);
      const byKey = refusal === null ? null : ownerKeyEnd(refusal, 'step', task.iteration);
      const reason = byKey?.reason ?? 'cancelled';
      const unread = await this.messages.undeliveredNote(id, task.iteration);
      // Work a run left in its workspace is committed first and said before the end.
      const kept = await this.workspaces.commitWork(task, TaskStatus.Cancelled, reason);
      const changed = await this.events.changeStatusWhere({
        taskId: id,
        from: task.status,
        to: TaskStatus.Cancelled,
        reason,
        iteration: task.iteration,
        where: waiting
          ? `cancel_requested = 1 AND ${WAITING_FOR_HUMAN_SQL}`
          : 'cancel_requested = 1',
        before: [...(byKey ? [byKey.record] : []), ...unread, ...kept.records],
        patch: {
          ...kept.patch,
          phase: 'done',
          completedAt: this.clock.now(),
          ...(waiting ? { humanWaitUntil: null, runningProjectKey: null } : {}),
          ...(byKey !== null
            ? { errorMessage: byKey.message }
            : waiting
              ? { errorMessage: 'Cancelled on request while it waited for a person.' }
              : {}),
        },
      });
      if (changed !== null) cancelled.push(id);
    }
    return cancelled;
  }
}
