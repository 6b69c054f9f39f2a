import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AppConfig } from 'src/config/app-config';
import { ClaudeInteraction, InteractionKind } from 'src/tasks/claude-interaction.entity';
import { makeOwnerId } from 'src/tasks/orchestrator/lease-owner';
import { ACTIVE_STATUSES, assertTransition, StatusReason, TaskStatus } from 'src/tasks/task-status';
import { Task } from 'src/tasks/task.entity';
import { TestCase, TestCaseKind, TestCaseStatus } from 'src/tasks/test-case.entity';

/** The right to write a task: who holds it and which claim (attempt) it is. */
export interface Lease {
  readonly taskId: string;
  readonly attempt: number;
  readonly owner: string;
}

export interface ClaimedTask {
  lease: Lease;
  /** The task as it is after the claim (RUNNING, attempt incremented). */
  task: Task;
  /** The task ran before (a server stopped while running it) and continues its conversation. */
  resumed: boolean;
}

/** A fenced write found that this server no longer holds the task's lease. */
export class LeaseLostError extends Error {
  constructor(readonly taskId: string) {
    super(`Lease on task ${taskId} was lost`);
    this.name = 'LeaseLostError';
  }
}

export interface NewInteraction {
  kind: InteractionKind;
  iteration: number;
  content: string;
  data?: Record<string, unknown> | null;
  costUsd?: number | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
}

export interface NewTestCase {
  iteration: number;
  kind: TestCaseKind;
  name: string;
  filePath: string | null;
  status: TestCaseStatus;
  durationMs: number;
  output: string;
}

/** A task whose lease ran out, as the sweep sees it. */
export interface ExpiredLease {
  id: string;
  attempt: number;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  processGroupId: number | null;
  projectPath: string;
  status: TaskStatus;
}

/** Most tasks looked at per claim (one at a time, oldest first); the first claimable is taken. */
const CLAIM_CANDIDATES = 20;

/** The unique key a live task holds for its project directory. */
export function projectKey(projectPath: string): string {
  return createHash('sha256').update(projectPath).digest('hex');
}

function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: string } | undefined)?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
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
 * - `claimNext` takes the oldest PENDING task whose project has no live task, setting status
 *   RUNNING, a lease (`lease_owner`, `lease_expires_at`), `attempt + 1` and
 *   `running_project_key` (unique: one live task per project, enforced by the database for every
 *   server instance). On MySQL/MariaDB the candidates are locked with `FOR UPDATE SKIP LOCKED`
 *   so instances never wait on each other; on SQLite (one writer) the update is conditional on
 *   the row being unchanged since it was read.
 * - Every later write by the owner is fenced: `WHERE id = ? AND attempt = ? AND lease_owner = ?`.
 *   Interactions and test cases are inserted with `INSERT ... SELECT ... FROM tasks WHERE <fence>`,
 *   so a stale owner (its lease expired and the task was claimed again) changes nothing: its
 *   write affects no row and raises `LeaseLostError`.
 * - No multi-statement transaction is used on SQLite: TypeORM shares one connection there, so
 *   concurrent transactions would nest. Every write is one statement.
 */
@Injectable()
export class TaskQueueRepository {
  /** This server process's lease owner id. */
  readonly owner: string;
  private readonly mysql: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {
    this.mysql = dataSource.options.type === 'mysql';
    this.owner = makeOwnerId(config.INSTANCE_ID);
  }

  private leaseExpiry(from = new Date()): Date {
    return new Date(from.getTime() + this.config.LEASE_SECONDS * 1000);
  }

  /** Claims the oldest runnable PENDING task, or returns null when there is none. */
  async claimNext(): Promise<ClaimedTask | null> {
    if (!this.mysql) return this.claimFrom(this.dataSource.manager, '');
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      const claimed = await this.claimFrom(runner.manager, ' FOR UPDATE SKIP LOCKED');
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

  private async claimFrom(manager: EntityManager, lockClause: string): Promise<ClaimedTask | null> {
    const tried: string[] = [];
    while (tried.length < CLAIM_CANDIDATES) {
      const exclude = tried.length > 0 ? `AND id NOT IN (${tried.map(() => '?').join(', ')}) ` : '';
      const rows: { id: string }[] = await manager.query(
        `SELECT id FROM tasks WHERE status = 'PENDING' AND cancel_requested = 0 ` +
          `AND project_path NOT IN (SELECT project_path FROM tasks WHERE running_project_key IS NOT NULL) ` +
          `${exclude}ORDER BY created_at, id LIMIT 1${lockClause}`,
        tried,
      );
      if (rows.length === 0) return null;
      const id = rows[0].id;
      tried.push(id);
      const task = await manager.findOneBy(Task, { id });
      if (!task || task.status !== TaskStatus.Pending) continue;
      assertTransition(task.status, TaskStatus.Running);
      const now = new Date();
      const resumed = task.iteration > 0;
      const patch = {
        status: TaskStatus.Running,
        statusReason: (resumed ? 'resumed' : 'claimed') as StatusReason,
        phase: 'agent_turn' as const,
        attempt: task.attempt + 1,
        leaseOwner: this.owner,
        leaseExpiresAt: this.leaseExpiry(now),
        runningProjectKey: projectKey(task.projectPath),
        processGroupId: null,
        startedAt: task.startedAt ?? now,
        updatedAt: now,
      };
      try {
        const result = await manager
          .createQueryBuilder()
          .update(Task)
          .set(patch)
          .where("id = :id AND status = 'PENDING' AND attempt = :attempt", {
            id,
            attempt: task.attempt,
          })
          .execute();
        if (!result.affected) continue;
      } catch (error) {
        if (isUniqueViolation(error)) continue;
        throw error;
      }
      const claimed = Object.assign(task, patch);
      return {
        lease: { taskId: id, attempt: claimed.attempt, owner: this.owner },
        task: claimed,
        resumed,
      };
    }
    return null;
  }

  /** Updates the owner's task; `LeaseLostError` when the lease is no longer ours. */
  async update(lease: Lease, patch: QueryDeepPartialEntity<Task>): Promise<void> {
    const result = await this.dataSource
      .createQueryBuilder()
      .update(Task)
      .set({ ...patch, updatedAt: new Date() })
      .where('id = :taskId AND attempt = :attempt AND lease_owner = :owner', lease)
      .execute();
    if (!result.affected) throw new LeaseLostError(lease.taskId);
  }

  /** Pushes the lease expiry forward. */
  renew(lease: Lease): Promise<void> {
    return this.update(lease, { leaseExpiresAt: this.leaseExpiry() });
  }

  /**
   * One validated status change: the `status` interaction first, then the task row (with
   * `patch`), both fenced.
   */
  async transition(
    lease: Lease,
    change: { from: TaskStatus; to: TaskStatus; reason: StatusReason; iteration: number },
    patch: QueryDeepPartialEntity<Task> = {},
  ): Promise<void> {
    assertTransition(change.from, change.to);
    await this.record(lease, {
      kind: 'status',
      iteration: change.iteration,
      content: `${change.from} -> ${change.to} (${change.reason})`,
      data: { from: change.from, to: change.to, reason: change.reason },
    });
    await this.update(lease, { ...patch, status: change.to, statusReason: change.reason });
  }

  /** Ends the lease: the task leaves RUNNING/PAUSED/TESTING for `change.to`. */
  finish(
    lease: Lease,
    change: { from: TaskStatus; to: TaskStatus; reason: StatusReason; iteration: number },
    patch: QueryDeepPartialEntity<Task> = {},
  ): Promise<void> {
    const terminal = change.to !== TaskStatus.Pending;
    return this.transition(lease, change, {
      ...patch,
      leaseOwner: null,
      leaseExpiresAt: null,
      runningProjectKey: null,
      processGroupId: null,
      ...(terminal ? { completedAt: new Date() } : {}),
    });
  }

  /** Appends an interaction to the owner's task (fenced). */
  async record(lease: Lease, interaction: NewInteraction): Promise<void> {
    const values = [
      lease.taskId,
      interaction.kind,
      interaction.iteration,
      interaction.content,
      interaction.data ? JSON.stringify(interaction.data) : null,
      interaction.costUsd ?? null,
      interaction.inputTokens ?? null,
      interaction.outputTokens ?? null,
      this.timestamp(ClaudeInteraction),
    ];
    await this.fencedInsert(
      lease,
      'claude_interactions',
      [
        'task_id',
        'kind',
        'iteration',
        'content',
        'data',
        'cost_usd',
        'input_tokens',
        'output_tokens',
        'created_at',
      ],
      values,
    );
  }

  /** Appends test case rows to the owner's task (fenced). */
  async recordTestCases(lease: Lease, cases: readonly NewTestCase[]): Promise<void> {
    for (const c of cases) {
      await this.fencedInsert(
        lease,
        'test_cases',
        [
          'task_id',
          'iteration',
          'kind',
          'name',
          'file_path',
          'status',
          'duration_ms',
          'output',
          'created_at',
        ],
        [
          lease.taskId,
          c.iteration,
          c.kind,
          c.name,
          c.filePath,
          c.status,
          Math.round(c.durationMs),
          c.output,
          this.timestamp(TestCase),
        ],
      );
    }
  }

  private timestamp(entity: typeof ClaudeInteraction | typeof TestCase): unknown {
    const column = this.dataSource.getMetadata(entity).findColumnWithPropertyName('createdAt');
    return this.dataSource.driver.preparePersistentValue(new Date(), column!);
  }

  private async fencedInsert(
    lease: Lease,
    table: string,
    columns: readonly string[],
    values: readonly unknown[],
  ): Promise<void> {
    const placeholders = columns.map(() => '?').join(', ');
    const sql =
      `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${placeholders} FROM tasks ` +
      `WHERE id = ? AND attempt = ? AND lease_owner = ?`;
    const runner = this.dataSource.createQueryRunner();
    try {
      const result = await runner.query(
        sql,
        [...values, lease.taskId, lease.attempt, lease.owner],
        true,
      );
      if (!(result as { affected?: number }).affected) throw new LeaseLostError(lease.taskId);
    } finally {
      await runner.release();
    }
  }

  /** Ids among `taskIds` whose cancellation was requested. */
  async cancelRequested(taskIds: readonly string[]): Promise<string[]> {
    if (taskIds.length === 0) return [];
    const rows = await this.dataSource
      .getRepository(Task)
      .createQueryBuilder('t')
      .select('t.id', 'id')
      .where('t.id IN (:...ids) AND t.cancel_requested = 1', { ids: taskIds })
      .getRawMany<{ id: string }>();
    return rows.map((r) => r.id);
  }

  /** Live tasks whose lease expired before `now`, or whose owner is `goneOwner(owner)`. */
  async findStaleLeases(goneOwner: (owner: string) => boolean): Promise<ExpiredLease[]> {
    const rows = await this.dataSource
      .getRepository(Task)
      .createQueryBuilder('t')
      .select([
        't.id',
        't.attempt',
        't.leaseOwner',
        't.leaseExpiresAt',
        't.processGroupId',
        't.projectPath',
        't.status',
      ])
      .where('t.status IN (:...live)', { live: ACTIVE_STATUSES })
      .getMany();
    const now = Date.now();
    return rows
      .filter(
        (t) =>
          t.leaseOwner === null ||
          t.leaseExpiresAt === null ||
          t.leaseExpiresAt.getTime() < now ||
          goneOwner(t.leaseOwner),
      )
      .map((t) => ({
        id: t.id,
        attempt: t.attempt,
        leaseOwner: t.leaseOwner,
        leaseExpiresAt: t.leaseExpiresAt,
        processGroupId: t.processGroupId,
        projectPath: t.projectPath,
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
    const expired = ownerGone ? '' : ' AND (lease_expires_at IS NULL OR lease_expires_at < :now)';
    return {
      where: `id = :id AND attempt = :attempt AND ${owner}${expired}`,
      params: { id: stale.id, attempt: stale.attempt, owner: stale.leaseOwner, now: new Date() },
    };
  }

  /** True while `stale` is still what the sweep saw: same claim, and expired or its owner gone. */
  async stillStale(stale: ExpiredLease, ownerGone: boolean): Promise<boolean> {
    const { where, params } = this.staleCondition(stale, ownerGone);
    const count = await this.dataSource
      .getRepository(Task)
      .createQueryBuilder()
      .where(where, params)
      .getCount();
    return count > 0;
  }

  /**
   * Takes a stale task back from its owner: re-queued as PENDING (it resumes its conversation when
   * claimed again), or FAILED `server_restart` once its server died MAX_TASK_ATTEMPTS times, or
   * CANCELLED when a cancel was requested. Conditional on the claim being unchanged and, unless
   * the owner is known to be gone, the lease still expired, so an owner that renewed in the
   * meantime keeps its task. Returns the new status, or null when the task was not taken.
   */
  async reclaimStale(stale: ExpiredLease, ownerGone: boolean): Promise<TaskStatus | null> {
    const task = await this.dataSource.getRepository(Task).findOneBy({ id: stale.id });
    if (!task || task.attempt !== stale.attempt || task.leaseOwner !== stale.leaseOwner) {
      return null;
    }
    const restarts = task.restarts + 1;
    const to = task.cancelRequested
      ? TaskStatus.Cancelled
      : restarts >= this.config.MAX_TASK_ATTEMPTS
        ? TaskStatus.Failed
        : TaskStatus.Pending;
    const reason: StatusReason = to === TaskStatus.Cancelled ? 'cancelled' : 'server_restart';
    assertTransition(task.status, to);
    const now = new Date();
    const { where, params } = this.staleCondition(stale, ownerGone);
    const result = await this.dataSource
      .createQueryBuilder()
      .update(Task)
      .set({
        status: to,
        statusReason: reason,
        phase: to === TaskStatus.Pending ? 'queued' : 'done',
        restarts,
        leaseOwner: null,
        leaseExpiresAt: null,
        runningProjectKey: null,
        processGroupId: null,
        updatedAt: now,
        ...(to === TaskStatus.Failed
          ? {
              completedAt: now,
              errorMessage: `The server running this task stopped ${restarts} time(s); MAX_TASK_ATTEMPTS is ${this.config.MAX_TASK_ATTEMPTS}.`,
            }
          : {}),
        ...(to === TaskStatus.Cancelled ? { completedAt: now } : {}),
      })
      .where(where, params)
      .execute();
    if (!result.affected) return null;
    await this.insertStatus(task, to, reason, now, { previous_owner: stale.leaseOwner });
    return to;
  }

  /**
   * Queued tasks whose cancel was requested while they were live (the cancel reached a server
   * that was shutting down or a task being taken back) become CANCELLED here instead of waiting
   * forever: the claim skips them. Returns how many.
   */
  async cancelFlaggedPending(): Promise<number> {
    const flagged = await this.dataSource.getRepository(Task).find({
      where: { status: TaskStatus.Pending, cancelRequested: true },
      take: CLAIM_CANDIDATES,
    });
    let cancelled = 0;
    for (const task of flagged) {
      const now = new Date();
      const result = await this.dataSource
        .createQueryBuilder()
        .update(Task)
        .set({
          status: TaskStatus.Cancelled,
          statusReason: 'cancelled',
          phase: 'done',
          completedAt: now,
          updatedAt: now,
        })
        .where("id = :id AND status = 'PENDING' AND cancel_requested = 1", { id: task.id })
        .execute();
      if (!result.affected) continue;
      cancelled += 1;
      await this.insertStatus(task, TaskStatus.Cancelled, 'cancelled', now, {});
    }
    return cancelled;
  }

  private async insertStatus(
    task: Task,
    to: TaskStatus,
    reason: StatusReason,
    at: Date,
    extra: Record<string, unknown>,
  ): Promise<void> {
    await this.dataSource.getRepository(ClaudeInteraction).insert({
      taskId: task.id,
      kind: 'status',
      iteration: task.iteration,
      content: `${task.status} -> ${to} (${reason})`,
      data: { from: task.status, to, reason, ...extra },
      createdAt: at,
    });
  }
}
