import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, FindOptionsWhere, In, IsNull, Not, Repository } from 'typeorm';
import { ownerFilter, Principal } from 'src/access';
import { Clock, DomainError, Draining, ErrorCode, invalidRequest } from 'src/common';
import { AppConfig } from 'src/config';
import {
  AtomicWriter,
  isForeignKeyViolation,
  PreparedReads,
  RowInsert,
  SqlStep,
} from 'src/database';
import { IdempotencyClaim, writeWithAnswer } from 'src/idempotency';
import { ProjectPathService, Session, sessionNotFound, SessionsService } from 'src/sessions';
import { WorkspacesService } from 'src/workspaces';
import { ClaudeInteraction } from 'src/tasks/claude-interaction.entity';
import { GitConfigQuarantine } from 'src/tasks/git-config-quarantine';
import { CreateTaskDto } from 'src/tasks/dto/create-task.dto';
import { InteractionPageDto, InteractionPageQueryDto } from 'src/tasks/dto/interaction-page.dto';
import {
  TaskDetailResponseDto,
  TaskPageDto,
  TaskStatusResponseDto,
} from 'src/tasks/dto/task-response.dto';
import { TaskListQueryDto } from 'src/tasks/dto/task-list-query.dto';
import { TaskVerificationResponseDto } from 'src/tasks/dto/task-verification.dto';
import { TestCasePageDto, TestCasePageQueryDto } from 'src/tasks/dto/test-case-page.dto';
import {
  toInteractionResponse,
  toTaskDetailResponse,
  toTaskResponse,
  toTestCaseResponse,
} from 'src/tasks/task.mapper';
import {
  recordIdsWithin,
  recordsOf,
  TaskRecords,
  taskRecordPage,
} from 'src/tasks/task-record-page';
import { TaskRowReader } from 'src/tasks/task-row-reader';
import { taskNotFound } from 'src/tasks/task-not-found';
import { TaskStatusSummaries } from 'src/tasks/task-status-summaries';
import { TaskQueueSignal } from 'src/tasks/task-queue-signal';
import { TaskWorkspaceCleanup } from 'src/tasks/task-workspace-cleanup';
import { ACTIVE_STATUSES, TaskStatus, TERMINAL_STATUSES } from 'src/tasks/task-status';
import { TARGET_BRANCH_LENGTH, Task } from 'src/tasks/task.entity';
import { TestCase } from 'src/tasks/test-case.entity';
import { toVerificationResponse } from 'src/tasks/verification.mapper';

/** Statuses in which a task may be deleted: not started yet, or finished. */
const DELETABLE_STATUSES: readonly TaskStatus[] = [TaskStatus.Pending, ...TERMINAL_STATUSES];

/** Where a new task comes from: a retry names the task it retries and may continue its conversation. */
export interface TaskOrigin {
  retryOf: string | null;
  /** The agent conversation the task's first turn resumes; null: a new one. */
  claudeSessionId: string | null;
}

/** Most interactions `GET /tasks/{id}` includes (the latest); all are paged by /interactions. */
export const DETAIL_MAX_INTERACTIONS = 500;

/**
 * Most test cases `GET /tasks/{id}` includes (the latest; each may carry TEST_OUTPUT_MAX_BYTES of
 * output); all are paged by /test-cases.
 */
export const DETAIL_MAX_TEST_CASES = 100;

/**
 * Creating, reading and deleting tasks. Running them is the orchestrator's job; it reuses
 * `findOne` and the mappers in `task.mapper.ts` for its own responses.
 */
@Injectable()
export class TasksService {
  private readonly logger = new Logger('Tasks');
  private readonly taskInsert: RowInsert<Task>;
  private readonly reads: PreparedReads;

  constructor(
    @InjectRepository(Task) private readonly tasks: Repository<Task>,
    private readonly sessions: SessionsService,
    private readonly projectPaths: ProjectPathService,
    @InjectRepository(ClaudeInteraction)
    private readonly interactions: Repository<ClaudeInteraction>,
    @InjectRepository(TestCase) private readonly testCases: Repository<TestCase>,
    private readonly config: AppConfig,
    private readonly queueSignal: TaskQueueSignal,
    private readonly draining: Draining,
    private readonly workspaces: WorkspacesService,
    private readonly cleanup: TaskWorkspaceCleanup,
    private readonly rows: TaskRowReader,
    private readonly statusSummaries: TaskStatusSummaries,
    private readonly writer: AtomicWriter,
    private readonly quarantine: GitConfigQuarantine,
    private readonly clock: Clock,
    @InjectDataSource() dataSource: DataSource,
  ) {
    this.taskInsert = new RowInsert(dataSource, Task);
    this.reads = new PreparedReads(dataSource);
  }

  /**
   * Where a task of `session` starts: for isolation `worktree`, `baseRef` (else the session's)
   * resolved to a commit now, the default merge target and the repository; nothing in place.
   */
  private async startingPoint(
    session: Session,
    baseRef: string | null,
  ): Promise<Pick<Task, 'isolation' | 'baseRef' | 'baseCommit' | 'targetBranch' | 'gitDir'>> {
    if (session.isolation === 'none') {
      if (baseRef !== null) {
        throw new DomainError(
          ErrorCode.ValidationFailed,
          'Invalid request: base_ref: needs a session with isolation worktree',
          { errors: [{ field: 'base_ref', errors: ['base_ref: needs isolation worktree'] }] },
        );
      }
      return {
        isolation: 'none',
        baseRef: null,
        baseCommit: null,
        targetBranch: null,
        gitDir: null,
      };
    }
    const repo = await this.workspaces.inspect(session.projectPath);
    if (repo === null) {
      throw new DomainError(
        ErrorCode.WorkspaceUnavailable,
        `${session.projectPath} is no longer inside a git work tree; the session's tasks need one (isolation worktree)`,
      );
    }
    const base = await this.workspaces.resolveBase(
      repo,
      session.projectPath,
      baseRef ?? session.baseRef,
    );
    if (base.targetBranch !== null && base.targetBranch.length > TARGET_BRANCH_LENGTH) {
      // Stored, it would fail on MySQL alone (SQLite does not enforce a column's length).
      throw invalidRequest(
        'base_ref',
        `base_ref: the task would start from the branch ${base.targetBranch}, longer than the ${TARGET_BRANCH_LENGTH} characters a task's target_branch may have: name a commit or a tag as base_ref`,
      );
    }
    return {
      isolation: 'worktree',
      baseRef: base.baseRef,
      baseCommit: base.baseCommit,
      targetBranch: base.targetBranch,
      gitDir: repo.gitDir,
    };
  }

  /**
   * Stores a PENDING task (phase `queued`, reason `created`) in a session the principal may see
   * (404 `session_not_found` otherwise); it belongs to the session's key. A session whose project
   * directory breaks the project_path rules as they are now (`ProjectPathService.recheck`: stored
   * before a rule existed, or changed since) takes no task: 400 `project_path_invalid` or 403
   * `project_path_not_allowed`, as creating it now would be. Refused with 503
   * `shutting_down` while this server drains, and with 429 `queue_full` while the key has
   * MAX_QUEUED_TASKS_PER_KEY tasks queued, or the queue MAX_QUEUED_TASKS in all (checked before
   * the insert: requests that arrive together, at one server or several, can pass it together).
   * 409 `git_config_changed` while the repository still holds a change to its git configuration
   * that failed one of its tasks (`GitConfigQuarantine`). With `claim` (the request's
   * `Idempotency-Key`), the answer is stored with the task, in its transaction.
   */
  async create(
    dto: CreateTaskDto,
    principal: Principal,
    origin: TaskOrigin = { retryOf: null, claudeSessionId: null },
    claim: IdempotencyClaim | null = null,
  ): Promise<Task> {
    const task = await this.newTask(dto, principal, origin);
    await this.store(task, async (insert) => {
      await writeWithAnswer(this.writer, [insert], claim, () => toTaskResponse(task));
      return true;
    });
    return task;
  }

  /**
   * Makes a task as `create` does (with its checks), but stores it through `write`, which is given
   * the task and its INSERT to run in one transaction with statements of its own (a retry links
   * the task it retries there). Null, and nothing stored, when `write` kept nothing (false).
   */
  async createWith(
    dto: CreateTaskDto,
    principal: Principal,
    origin: TaskOrigin,
    write: (task: Task, insert: SqlStep) => Promise<boolean>,
  ): Promise<Task | null> {
    const task = await this.newTask(dto, principal, origin);
    return (await this.store(task, (insert) => write(task, insert))) ? task : null;
  }

  /** The new task's row, checked as `create` describes, not stored yet. */
  private async newTask(
    dto: CreateTaskDto,
    principal: Principal,
    origin: TaskOrigin,
  ): Promise<Task> {
    if (this.draining.active) {
      throw new DomainError(
        ErrorCode.ShuttingDown,
        'This server is shutting down and takes no new tasks; send it to another instance',
      );
    }
    const maxIterations = dto.max_iterations ?? this.config.MAX_ITERATIONS;
    const maxPauses = dto.max_pauses ?? this.config.MAX_PAUSES;
    const maxCostUsd = dto.max_cost_usd ?? (this.config.MAX_COST_USD_PER_TASK || null);
    this.assertWithinLimits(maxIterations, maxPauses, maxCostUsd);
    const sessionId = dto.session_id.toLowerCase();
    const session = await this.sessions.findVisible(sessionId, principal);
    this.projectPaths.recheck(session.projectPath);
    await this.assertQueueRoom(session.ownerKeyId);
    const start = await this.startingPoint(
      session,
      dto.base_ref === undefined || dto.base_ref === null || dto.base_ref.trim() === ''
        ? null
        : dto.base_ref,
    );
    if (start.gitDir !== null) await this.quarantine.refuse(start.gitDir, principal);
    const now = this.clock.now();
    return this.tasks.create({
      id: randomUUID(),
      sessionId: session.id,
      ownerKeyId: session.ownerKeyId,
      projectPath: session.projectPath,
      description: dto.description,
      status: TaskStatus.Pending,
      statusReason: 'created',
      phase: 'queued',
      iteration: 0,
      pauseCount: 0,
      maxIterations,
      maxPauses,
      claudeSessionId: origin.claudeSessionId,
      resultSummary: null,
      errorMessage: null,
      lastAgentMessage: null,
      testsPassed: 0,
      testsFailed: 0,
      testsTotal: 0,
      costUsd: 0,
      maxCostUsd,
      requireFailingTests:
        dto.require_failing_tests ??
        session.requireFailingTests ??
        this.config.REQUIRE_FAILING_TESTS,
      allowTestChanges: dto.allow_test_changes ?? false,
      autoRespond: dto.auto_respond ?? session.autoRespond ?? true,
      humanTimeoutSeconds: dto.human_timeout_seconds ?? session.humanTimeoutSeconds ?? null,
      humanWait: null,
      humanWaitUntil: null,
      verification: null,
      retryOf: origin.retryOf,
      retriedBy: null,
      inputTokens: 0,
      outputTokens: 0,
      attempt: 0,
      restarts: 0,
      leaseExpiries: 0,
      leaseOwner: null,
      leaseExpiresAt: null,
      cancelRequested: false,
      interruptRequested: false,
      runningProjectKey: null,
      processGroupId: null,
      runPhase: null,
      testFiles: null,
      testSnapshot: null,
      emptyTestTurns: 0,
      testChangeRefusals: 0,
      apiErrorStreak: 0,
      conversationCostUsd: 0,
      ...start,
      branch: null,
      workspacePath: null,
      gitConfigFingerprint: null,
      setupCompletedAt: null,
      workspaceRemovedAt: null,
      headCommit: null,
      mergedAt: null,
      mergeCommit: null,
      mergedInto: null,
      createdAt: now,
      startedAt: null,
      completedAt: null,
      updatedAt: now,
    });
  }

  /** Stores `task` through `write` and signals the queue when it was kept. */
  private async store(task: Task, write: (insert: SqlStep) => Promise<boolean>): Promise<boolean> {
    let stored: boolean;
    try {
      stored = await write(this.taskInsert.step(task));
    } catch (error) {
      // The session was deleted between its lookup in `newTask` and this insert.
      if (isForeignKeyViolation(error)) {
        throw sessionNotFound(task.sessionId);
      }
      throw error;
    }
    if (stored) this.queueSignal.taskQueued(task.id);
    return stored;
  }

  private assertWithinLimits(
    maxIterations: number,
    maxPauses: number,
    maxCostUsd: number | null,
  ): void {
    const limitErrors = [
      maxIterations > this.config.MAX_ITERATIONS_LIMIT
        ? {
            field: 'max_iterations',
            errors: [`max_iterations must not be greater than ${this.config.MAX_ITERATIONS_LIMIT}`],
          }
        : null,
      maxPauses > this.config.MAX_PAUSES_LIMIT
        ? {
            field: 'max_pauses',
            errors: [`max_pauses must not be greater than ${this.config.MAX_PAUSES_LIMIT}`],
          }
        : null,
      maxCostUsd !== null && maxCostUsd > this.config.MAX_COST_USD_LIMIT
        ? {
            field: 'max_cost_usd',
            errors: [`max_cost_usd must not be greater than ${this.config.MAX_COST_USD_LIMIT}`],
          }
        : null,
    ].filter((e) => e !== null);
    if (limitErrors.length > 0) {
      throw new DomainError(
        ErrorCode.ValidationFailed,
        `Invalid request: ${limitErrors.map((e) => `${e.field}: ${e.errors.join(', ')}`).join('; ')}`,
        { errors: limitErrors },
      );
    }
  }

  /**
   * 429 `queue_full` when the owner (a key), or the queue in all, has too many tasks queued:
   * counted in the database, so across every server sharing it.
   */
  private async assertQueueRoom(ownerKeyId: string | null): Promise<void> {
    const [counts] = await this.reads.all<{ total: unknown; owned: unknown }>(
      `SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN owner_key_id = ? THEN 1 ELSE 0 END), 0) AS owned FROM tasks WHERE status = ?`,
      [ownerKeyId, TaskStatus.Pending],
    );
    const total = Number(counts.total);
    const owned = Number(counts.owned);
    if (ownerKeyId !== null && owned >= this.config.MAX_QUEUED_TASKS_PER_KEY) {
      throw new DomainError(
        ErrorCode.QueueFull,
        `This API key has ${owned} tasks queued, the most MAX_QUEUED_TASKS_PER_KEY allows; wait for some to start`,
        { queued: owned, limit: this.config.MAX_QUEUED_TASKS_PER_KEY },
      );
    }
    if (total >= this.config.MAX_QUEUED_TASKS) {
      throw new DomainError(
        ErrorCode.QueueFull,
        `${total} tasks are queued in all (every server sharing this database), the most MAX_QUEUED_TASKS allows; try again later`,
        { queued: total, limit: this.config.MAX_QUEUED_TASKS },
      );
    }
  }

  /** A page of the tasks the principal may see, newest first, filtered by status and session. */
  async list(query: TaskListQueryDto, principal: Principal): Promise<TaskPageDto> {
    const where: FindOptionsWhere<Task> = {};
    const owner = ownerFilter(principal);
    if (owner !== undefined) where.ownerKeyId = owner;
    if (query.status) where.status = query.status;
    if (query.session_id) where.sessionId = query.session_id.toLowerCase();
    const [items, total] = await this.tasks.findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'DESC' },
      take: query.limit,
      skip: query.offset,
    });
    return { items: items.map(toTaskResponse), total, limit: query.limit, offset: query.offset };
  }

  /** The task, or 404 `task_not_found`. */
  async findOne(id: string): Promise<Task> {
    const task = await this.tasks.findOneBy({ id });
    if (!task) throw taskNotFound(id);
    return task;
  }

  /** Who owns the task; null when there is no such task. */
  async ownerOf(id: string): Promise<Pick<Task, 'ownerKeyId'> | null> {
    return this.rows.read(id, ['ownerKeyId']);
  }

  /**
   * The task with its latest DETAIL_MAX_INTERACTIONS interactions and latest
   * DETAIL_MAX_TEST_CASES test cases, each ordered by id and each no more than
   * RECORD_PAGE_MAX_BYTES of text; `interactions_total` and `test_cases_total` say how many there
   * are in all (the rest through `listInteractions` and `listTestCases`).
   */
  async getDetails(id: string): Promise<TaskDetailResponseDto> {
    const task = await this.findOne(id);
    const [latest, total, testCases, testCasesTotal] = await Promise.all([
      this.latestOf(this.interactionRecords(), id, DETAIL_MAX_INTERACTIONS),
      this.interactions.countBy({ taskId: id }),
      this.latestOf(this.testCaseRecords(), id, DETAIL_MAX_TEST_CASES),
      this.testCases.countBy({ taskId: id }),
    ]);
    return toTaskDetailResponse(task, latest, total, { latest: testCases, total: testCasesTotal });
  }

  /** A page of the task's interactions with ids above `after_id`, oldest first. */
  async listInteractions(id: string, query: InteractionPageQueryDto): Promise<InteractionPageDto> {
    await this.findOne(id);
    return taskRecordPage(this.interactionRecords(), id, query, toInteractionResponse);
  }

  /** A page of the task's test cases with ids above `after_id`, oldest first. */
  async listTestCases(id: string, query: TestCasePageQueryDto): Promise<TestCasePageDto> {
    await this.findOne(id);
    return taskRecordPage(this.testCaseRecords(), id, query, toTestCaseResponse);
  }

  /** The task's latest records, up to `limit` and RECORD_PAGE_MAX_BYTES, oldest first. */
  private async latestOf<E extends { id: number; taskId: string }>(
    records: TaskRecords<E>,
    taskId: string,
    limit: number,
  ): Promise<E[]> {
    const { ids } = await recordIdsWithin(records, taskId, 'DESC', limit);
    return recordsOf(records, ids, 'ASC');
  }

  private interactionRecords(): TaskRecords<ClaudeInteraction> {
    return { rows: this.interactions, sizeSql: 'LENGTH(r.content) + COALESCE(LENGTH(r.data), 0)' };
  }

  private testCaseRecords(): TaskRecords<TestCase> {
    return { rows: this.testCases, sizeSql: 'LENGTH(r.output)' };
  }

  /** The evidence behind the task's verdict. */
  async getVerification(id: string): Promise<TaskVerificationResponseDto> {
    return toVerificationResponse(await this.findOne(id));
  }

  // Not `async`: the summary's promise as it is, one promise fewer on the route polled most.
  getStatus(id: string): Promise<TaskStatusResponseDto> {
    return this.statusSummaries.read(id);
  }

  /**
   * Deletes a task that is PENDING or finished, in one conditional statement so a worker that
   * claims it at the same moment cannot lose it; otherwise 409 `task_not_deletable`. A task with
   * a workspace is deleted under its repository's lock: a merge of it under way ends (and is
   * recorded) first, and one asked for later finds it gone. Its workspace is removed after it
   * (uncommitted changes kept on its branch). Its retry links go with it: the task it retried
   * can be retried again, and its retry no longer names it.
   */
  async remove(id: string): Promise<void> {
    const before = await this.findOne(id);
    const deleteIt = () => this.tasks.delete({ id, status: In([...DELETABLE_STATUSES]) });
    const result = await this.workspaces.whileRepositoriesIdle(
      before.isolation === 'worktree' && before.gitDir !== null ? [before.gitDir] : [],
      deleteIt,
    );
    if ((result.affected ?? 0) > 0) {
      // The task is gone: a link left to it is harmless (a retry treats it as none), so a write
      // that fails here is logged, not answered.
      await this.unlinkRetries(before).catch((error: unknown) =>
        this.logger.warn(`Task ${id}: its retry links were not cleared: ${String(error)}`),
      );
      // Its workspace goes too (its changes committed on its branch first); a removal that fails
      // is left to the sweep, which removes workspaces without a task.
      await this.cleanup.retireQuietly(before, 'deleted');
      return;
    }
    const task = await this.findOne(id);
    throw new DomainError(
      ErrorCode.TaskNotDeletable,
      `Task ${id} is ${task.status}; cancel it before deleting`,
      { status: task.status },
    );
  }

  /** Drops the links to `deleted` of the task it retried and of its retry (both by key). */
  private async unlinkRetries(deleted: Task): Promise<void> {
    if (deleted.retryOf !== null) {
      await this.tasks.update({ id: deleted.retryOf, retriedBy: deleted.id }, { retriedBy: null });
    }
    if (deleted.retriedBy !== null) {
      await this.tasks.update({ id: deleted.retriedBy, retryOf: deleted.id }, { retryOf: null });
    }
  }

  /**
   * Deletes a session and (by cascade) its tasks, unless one of them is RUNNING, PAUSED or
   * TESTING (409 `session_has_active_tasks`): those own a process in the project. One conditional
   * statement under the locks of its tasks' repositories (a merge under way ends first), not a
   * transaction: on SQLite TypeORM shares one connection, and a transaction
   * here would swallow (and on rollback undo) the orchestrator's writes made meanwhile.
   */
  async removeSession(id: string): Promise<void> {
    const withWorkspaces = await this.tasks.findBy({
      sessionId: id,
      workspacePath: Not(IsNull()),
      workspaceRemovedAt: IsNull(),
    });
    const deleteIt = () =>
      this.tasks.manager
        .createQueryBuilder()
        .delete()
        .from(Session)
        .where('id = :id', { id })
        .andWhere(
          'NOT EXISTS (SELECT 1 FROM tasks WHERE tasks.session_id = :id AND tasks.status IN (:...active))',
          { active: [...ACTIVE_STATUSES] },
        )
        .execute();
    // Under the lock of each repository its tasks used, as a task's delete.
    const gitDirs = await this.tasks
      .createQueryBuilder('t')
      .select('DISTINCT t.git_dir', 'gitDir')
      .where('t.session_id = :id AND t.git_dir IS NOT NULL', { id })
      .getRawMany<{ gitDir: string }>();
    const result = await this.workspaces.whileRepositoriesIdle(
      gitDirs.map((row) => row.gitDir),
      deleteIt,
    );
    if ((result.affected ?? 0) > 0) {
      for (const task of withWorkspaces) await this.cleanup.retireQuietly(task, 'deleted');
      return;
    }
    await this.sessions.findOne(id);
    const active = await this.tasks.count({
      where: { sessionId: id, status: In([...ACTIVE_STATUSES]) },
    });
    throw new DomainError(
      ErrorCode.SessionHasActiveTasks,
      `Session ${id} has ${active} running task(s); cancel them first`,
      { active_tasks: active },
    );
  }
}
