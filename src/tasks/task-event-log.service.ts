import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { filter, Observable, Subject } from 'rxjs';
import { DataSource, QueryRunner } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { Clock } from 'src/common';
import { AppConfig } from 'src/config';
import { AtomicWriter, fitVarchar, retryTransient, SqlStep, SqlStepResult } from 'src/database';
import { ClaudeInteraction, InteractionKind } from 'src/tasks/claude-interaction.entity';
import { Lease, LeaseLostError } from 'src/tasks/lease';
import { LateMessageError, noMessageAfter } from 'src/tasks/message-conditions';
import { assertTransition, isTerminal, StatusReason, TaskStatus } from 'src/tasks/task-status';
import { Task } from 'src/tasks/task.entity';
import { TaskRowSql } from 'src/tasks/task-row-sql';
import {
  TEST_CASE_FILE_PATH_LENGTH,
  TEST_CASE_NAME_LENGTH,
  TestCase,
  TestCaseKind,
  TestCaseStatus,
} from 'src/tasks/test-case.entity';

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

export interface StatusChange {
  from: TaskStatus;
  to: TaskStatus;
  reason: StatusReason;
  iteration: number;
  /** Extra fields of the `status` record's data (besides from, to and reason). */
  data?: Record<string, unknown>;
}

/**
 * A lease holder's write made only while no message from a person was stored after the record
 * `noMessageAfter` (a turn's prompt, which must hold every message before it, or a task's end,
 * which must list every one no turn took); `LateMessageError` when one was.
 */
export interface MessageGuard {
  noMessageAfter: number;
}

/** Columns of the task row, by entity property name. */
export type TaskPatch = QueryDeepPartialEntity<Task>;

/** A status change made by the queue rather than by the task's lease holder. */
export interface QueueStatusChange extends StatusChange {
  taskId: string;
  /** Further conditions on the row (SQL over column names, with `:named` parameters). */
  where?: string;
  params?: Record<string, unknown>;
  patch?: TaskPatch;
  /** Records written just before the `status` record, in the same write. */
  before?: readonly NewInteraction[];
}

/** A change to a task no run holds (one that ended), with the record that says what happened. */
export interface TaskNote {
  taskId: string;
  /** Conditions on the row (SQL over column names, with `:named` parameters). */
  where: string;
  params?: Record<string, unknown>;
  patch: TaskPatch;
  record: NewInteraction;
  /**
   * Statements written in the same transaction after the row's update, kept only when it changed
   * the row (a retry's new task: no claim can see it before its original names it).
   */
  alongside?: readonly SqlStep[];
}

const INTERACTION_COLUMNS = [
  'task_id',
  'kind',
  'iteration',
  'content',
  'data',
  'cost_usd',
  'input_tokens',
  'output_tokens',
  'created_at',
];

const TEST_CASE_COLUMNS = [
  'task_id',
  'iteration',
  'kind',
  'name',
  'file_path',
  'status',
  'duration_ms',
  'output',
  'created_at',
];

/** The lease fence of a run's writes, and its parameters. */
const LEASE_FENCE = 'id = ? AND attempt = ? AND lease_owner = ?';
const leaseParams = (lease: Lease): unknown[] => [lease.taskId, lease.attempt, lease.owner];

/** A lease holder's row condition with its message guard, if any. */
const guarded = (where: string, guard?: MessageGuard): string =>
  guard === undefined ? where : `${where} AND ${noMessageAfter(guard.noMessageAfter)}`;

/** The lease columns cleared when a run lets go of its task to wait for a person. */
const OWNERLESS = {
  leaseOwner: null,
  leaseExpiresAt: null,
  processGroupId: null,
} as const;

/** The lease columns cleared when a run lets go of its task for good (or to the queue). */
const RELEASED = { ...OWNERLESS, runningProjectKey: null } as const;

/**
 * THE ONE WRITE PATH FOR A TASK'S RECORDS. Every interaction (prompt, agent message, tool use and
 * result, simulated-human message, turn result, error, test run) and every status change of a
 * task is written here, then published on `events$` with its id, in the order written. No other
 * code inserts `claude_interactions` rows or changes `tasks.status`.
 *
 * - A run's writes are fenced by its lease (`id`, `attempt`, `lease_owner` must still match): a
 *   stale owner's write changes nothing and throws `LeaseLostError`.
 * - A status change is validated against the transition table, and the row update (conditional
 *   on the status it leaves) and its `status` record are one atomic write (`AtomicWriter`), so the
 *   history can never show a change that did not happen or two changes out of order.
 * - The queue's own status changes (claim, re-queue of a stale task, cancel of a queued one) go
 *   through `changeStatusWhere`, conditional on what the queue saw.
 *
 * Subscribers get events after they are stored: one task's events arrive in id order (its run
 * writes one at a time); events of different tasks may interleave.
 *
 * A write that fails with a transient database error (a dropped connection, a lock wait timeout,
 * a deadlock, SQLite busy) is tried again with backoff for up to half the lease; if the database
 * stays away the error is thrown, and the run stops without failing its task (and puts it back in
 * the queue once a write gets through, else it resumes once the lease ran out). A status change
 * whose first try did land although its answer was lost is recognised when the retry finds the
 * task already in the new status (its records, stored, are then not published: the live streams
 * read them from the table, the metrics miss them). A record whose answer was lost can, rarely,
 * be stored twice.
 */
@Injectable()
export class TaskEventLog {
  private readonly logger = new Logger(TaskEventLog.name);
  private readonly published = new Subject<ClaudeInteraction>();
  /** Every event written by this process, after it was stored. */
  readonly events$: Observable<ClaudeInteraction> = this.published.asObservable();
  private readonly retryBudgetMs: number;
  private readonly taskRow: TaskRowSql;
  private readonly createdAtColumns = new Map<
    typeof ClaudeInteraction | typeof TestCase,
    ColumnMetadata
  >();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly writer: AtomicWriter,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.retryBudgetMs = (config.LEASE_SECONDS * 1000) / 2;
    this.taskRow = new TaskRowSql(dataSource);
  }

  /** Runs a write, trying again through transient database failures (see above). */
  private retrying<T>(what: string, work: () => Promise<T>): Promise<T> {
    return retryTransient(work, this.retryBudgetMs, (error, attempt) =>
      this.logger.warn(`${what}: database error, trying again (${attempt}): ${String(error)}`),
    );
  }

  /** The events of one task written by this process from now on. */
  eventsOf(taskId: string): Observable<ClaudeInteraction> {
    return this.events$.pipe(filter((event) => event.taskId === taskId));
  }

  /**
   * Appends records to the lease holder's task, in order, and applies `patch` to its row, in one
   * write; publishes the records.
   */
  async append(
    lease: Lease,
    records: readonly NewInteraction[],
    patch: TaskPatch = {},
    guard?: MessageGuard,
  ): Promise<void> {
    if (records.length === 0 && Object.keys(patch).length === 0) return;
    const now = this.clock.now();
    const results = await this.retrying(`task ${lease.taskId}`, () =>
      this.writer.run([
        ...records.map((record) => ({
          ...this.insertInteraction(record, now, lease),
          required: true,
        })),
        ...this.fencedPatch(lease, patch, now, guard),
      ]),
    );
    if (results === null) throw await this.refusal(lease.taskId, guard);
    this.publish(lease.taskId, records, results, now);
  }

  /**
   * Appends a test run's record and its test cases and applies `patch` to the task row (one write,
   * fenced); publishes the record.
   */
  async appendTestRun(
    lease: Lease,
    record: NewInteraction,
    cases: readonly NewTestCase[],
    patch: TaskPatch = {},
    { replaceRound = false }: { replaceRound?: boolean } = {},
  ): Promise<void> {
    const now = this.clock.now();
    const results = await this.retrying(`task ${lease.taskId}`, () =>
      this.writer.run([
        { ...this.insertInteraction(record, now, lease), required: true },
        ...(replaceRound ? this.replacedTestCases(lease.taskId, cases) : []),
        ...cases.map((c) => this.insertTestCase(lease.taskId, c, now)),
        ...this.fencedPatch(lease, patch, now),
      ]),
    );
    if (results === null) throw new LeaseLostError(lease.taskId);
    this.publish(lease.taskId, [record], results.slice(0, 1), now);
  }

  /** The lease holder's change of its task row, as a write's last step; none for no change. */
  private fencedPatch(lease: Lease, patch: TaskPatch, now: Date, guard?: MessageGuard): SqlStep[] {
    if (Object.keys(patch).length === 0 && guard === undefined) return [];
    return [
      {
        ...this.taskRow.updateWhere(
          { ...patch, updatedAt: now },
          guarded(LEASE_FENCE, guard),
          leaseParams(lease),
        ),
        required: true,
      },
    ];
  }

  /**
   * Why a lease holder's write changed nothing: a message stored after the guard's record
   * (`LateMessageError`), or the lease lost.
   */
  private async refusal(taskId: string, guard?: MessageGuard): Promise<Error> {
    if (guard !== undefined) {
      const rows = await this.dataSource.query<{ late: number | string }[]>(
        `SELECT CASE WHEN ${noMessageAfter(guard.noMessageAfter)} THEN 0 ELSE 1 END AS late ` +
          'FROM tasks WHERE id = ?',
        [taskId],
      );
      if (Number(rows[0]?.late ?? 0) === 1) return new LateMessageError(taskId);
    }
    return new LeaseLostError(taskId);
  }

  /** Updates the lease holder's task row (no event); `LeaseLostError` when the lease is gone. */
  async update(lease: Lease, patch: TaskPatch): Promise<void> {
    await this.append(lease, [], patch);
  }

  /**
   * A status change by the lease holder, which keeps the task (it stays live); `records` are
   * appended before the `status` record, in the same write.
   */
  async changeStatus(
    lease: Lease,
    change: StatusChange,
    patch: TaskPatch = {},
    records: readonly NewInteraction[] = [],
    guard?: MessageGuard,
  ): Promise<void> {
    await this.leasedChange(lease, change, patch, records, guard);
  }

  /**
   * The lease holder lets go of the task: to PENDING (re-queued), to a terminal status (which
   * sets `completed_at`), or to PAUSED to wait for a person (it keeps `running_project_key`: no
   * other task takes its directory while it waits; the end of the wait clears it). The lease
   * columns are cleared in the same write; `records` are appended before the `status` record, in
   * it too (with `guard`, as `changeStatus`).
   */
  async release(
    lease: Lease,
    change: StatusChange,
    patch: TaskPatch = {},
    records: readonly NewInteraction[] = [],
    guard?: MessageGuard,
  ): Promise<void> {
    const terminal = isTerminal(change.to);
    await this.leasedChange(
      lease,
      change,
      {
        ...patch,
        ...(change.to === TaskStatus.Paused ? OWNERLESS : RELEASED),
        ...(terminal ? { completedAt: this.clock.now() } : {}),
      },
      records,
      guard,
    );
  }

  /**
   * A status change by the queue (no lease involved), conditional on the task still having
   * `from` status and on `where`; returns the stored records (`before`, then the `status`
   * record), or null when the task was not in that state any more. `runner`: the caller's open
   * MySQL transaction, if any.
   */
  async changeStatusWhere(
    change: QueueStatusChange,
    runner?: QueryRunner,
  ): Promise<ClaudeInteraction[] | null> {
    assertTransition(change.from, change.to);
    const now = this.clock.now();
    const extra = change.where ? ` AND (${change.where})` : '';
    const records = [...(change.before ?? []), this.statusRecord(change)];
    const write = (): Promise<SqlStepResult[] | null> =>
      this.writer.run(
        [
          {
            ...this.updateTask(
              { ...change.patch, status: change.to, statusReason: change.reason, updatedAt: now },
              `id = :taskId AND status = :from${extra}`,
              { ...change.params, taskId: change.taskId, from: change.from },
            ),
            required: true,
          },
          ...records.map((record) => this.insertInteraction(record, now, null, change.taskId)),
        ],
        runner,
      );
    // Inside the caller's transaction a failure is the caller's to handle (it rolls back).
    const results = runner ? await write() : await this.retrying(`task ${change.taskId}`, write);
    if (results === null) return null;
    return this.publish(change.taskId, records, results.slice(1), now);
  }

  /**
   * Updates a task no run holds (a merge, its workspace removed) together with a record of it, in
   * one write conditional on `where`; returns the stored record, or null (nothing written) when
   * the condition no longer holds. A deadlock with a run's write (MySQL) is tried again.
   */
  async noteWhere(note: TaskNote): Promise<ClaudeInteraction | null> {
    const now = this.clock.now();
    const results = await this.retrying(`task ${note.taskId}`, () =>
      this.writer.run([
        {
          ...this.updateTask(
            { ...note.patch, updatedAt: now },
            `id = :taskId AND (${note.where})`,
            { ...note.params, taskId: note.taskId },
          ),
          required: true,
        },
        this.insertInteraction(note.record, now, null, note.taskId),
        ...(note.alongside ?? []),
      ]),
    );
    if (results === null) return null;
    return this.publish(note.taskId, [note.record], results.slice(1, 2), now)[0];
  }

  private async leasedChange(
    lease: Lease,
    change: StatusChange,
    patch: TaskPatch,
    before: readonly NewInteraction[] = [],
    guard?: MessageGuard,
  ): Promise<void> {
    assertTransition(change.from, change.to);
    const now = this.clock.now();
    const records = [...before, this.statusRecord(change)];
    let tries = 0;
    const results = await this.retrying(`task ${lease.taskId}`, () => {
      tries += 1;
      return this.writer.run([
        {
          ...this.taskRow.updateWhere(
            { ...patch, status: change.to, statusReason: change.reason, updatedAt: now },
            guarded(`${LEASE_FENCE} AND status = ?`, guard),
            [...leaseParams(lease), change.from],
          ),
          required: true,
        },
        ...records.map((record) => this.insertInteraction(record, now, null, lease.taskId)),
      ]);
    });
    if (results === null) {
      if (tries > 1 && (await this.hasStatus(lease.taskId, change.to))) return;
      throw await this.refusal(lease.taskId, guard);
    }
    this.publish(lease.taskId, records, results.slice(1), now);
  }

  /** True when the task's status is `status` (a retried change finds its first try landed). */
  private async hasStatus(taskId: string, status: TaskStatus): Promise<boolean> {
    const task = await this.dataSource.getRepository(Task).findOneBy({ id: taskId });
    return task?.status === status;
  }

  private statusRecord(change: StatusChange): NewInteraction {
    return {
      kind: 'status',
      iteration: change.iteration,
      content: `${change.from} -> ${change.to} (${change.reason})`,
      data: { from: change.from, to: change.to, reason: change.reason, ...change.data },
    };
  }

  private updateTask(patch: TaskPatch, where: string, params: Record<string, unknown>): SqlStep {
    return this.taskRow.update(patch, where, params);
  }

  /**
   * An INSERT of one interaction: fenced by the lease (`INSERT ... SELECT ... FROM tasks WHERE
   * <fence>`) when `lease` is given, a plain one otherwise (inside a write already fenced).
   */
  private insertInteraction(
    record: NewInteraction,
    at: Date,
    lease: Lease | null,
    taskId = lease?.taskId ?? '',
  ): SqlStep {
    const values = [
      taskId,
      record.kind,
      record.iteration,
      record.content,
      record.data ? JSON.stringify(record.data) : null,
      record.costUsd ?? null,
      record.inputTokens ?? null,
      record.outputTokens ?? null,
      this.timestamp(ClaudeInteraction, at),
    ];
    const placeholders = INTERACTION_COLUMNS.map(() => '?').join(', ');
    const into = `INSERT INTO claude_interactions (${INTERACTION_COLUMNS.join(', ')})`;
    if (lease === null) return { sql: `${into} VALUES (${placeholders})`, params: values };
    return {
      sql: `${into} SELECT ${placeholders} FROM tasks WHERE ${LEASE_FENCE}`,
      params: [...values, ...leaseParams(lease)],
    };
  }

  /**
   * The cases an earlier run of the same kind stored for the same iteration (`replaceRound`): a
   * round cut off by a restart (after its runs, before the task's end) runs again when the task
   * resumes, and its cases replace the first run's instead of being stored twice. Only then: on
   * MySQL a DELETE that finds nothing still takes a gap lock, which concurrent first rounds would
   * contend for.
   */
  private replacedTestCases(taskId: string, cases: readonly NewTestCase[]): SqlStep[] {
    const rounds = new Map(cases.map((c) => [`${c.iteration} ${c.kind}`, c]));
    return [...rounds.values()].map((c) => ({
      sql: 'DELETE FROM test_cases WHERE task_id = ? AND iteration = ? AND kind = ?',
      params: [taskId, c.iteration, c.kind],
    }));
  }

  /**
   * A test case's row. Its name and file come from the tests and the test tool (a regression
   * case is named by its command line), so they are cut to their columns here; the comparisons
   * between runs read the names from the runs' output, never from these rows.
   */
  private insertTestCase(taskId: string, c: NewTestCase, at: Date): SqlStep {
    return {
      sql: `INSERT INTO test_cases (${TEST_CASE_COLUMNS.join(', ')}) VALUES (${TEST_CASE_COLUMNS.map(() => '?').join(', ')})`,
      params: [
        taskId,
        c.iteration,
        c.kind,
        fitVarchar(c.name, TEST_CASE_NAME_LENGTH),
        c.filePath === null ? null : fitVarchar(c.filePath, TEST_CASE_FILE_PATH_LENGTH),
        c.status,
        Math.round(c.durationMs),
        c.output,
        this.timestamp(TestCase, at),
      ],
    };
  }

  private timestamp(entity: typeof ClaudeInteraction | typeof TestCase, at: Date): unknown {
    let column = this.createdAtColumns.get(entity);
    if (column === undefined) {
      column = this.dataSource.getMetadata(entity).findColumnWithPropertyName('createdAt')!;
      this.createdAtColumns.set(entity, column);
    }
    return this.dataSource.driver.preparePersistentValue(at, column);
  }

  private publish(
    taskId: string,
    records: readonly NewInteraction[],
    results: readonly SqlStepResult[],
    at: Date,
  ): ClaudeInteraction[] {
    const events = records.map((record, index) =>
      Object.assign(new ClaudeInteraction(), {
        id: results[index].insertId ?? 0,
        taskId,
        kind: record.kind,
        iteration: record.iteration,
        content: record.content,
        data: record.data ?? null,
        costUsd: record.costUsd ?? null,
        inputTokens: record.inputTokens ?? null,
        outputTokens: record.outputTokens ?? null,
        createdAt: at,
      }),
    );
    for (const event of events) this.published.next(event);
    return events;
  }
}
