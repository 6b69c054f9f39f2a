import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { jsonTransformer, LONG_TEXT_COLUMN, TIMESTAMP_COLUMN } from 'src/database';
import { Isolation, Session } from 'src/sessions';
import type { GitConfigFingerprint } from 'src/workspaces';
import type { HumanWait } from 'src/tasks/human-wait';
import { StatusReason, TaskPhase, TaskStatus } from 'src/tasks/task-status';

/**
 * The longest `target_branch`: as long as a merge's `target_branch` may be named, so a task takes
 * no default target it could not be told to merge into. Git allows longer branch names.
 */
export const TARGET_BRANCH_LENGTH = 255;

/** One plain-language job run by the agent in its session's project. */
@Entity({ name: 'tasks' })
@Index('IDX_tasks_status_created_at', ['status', 'createdAt'])
@Index('IDX_tasks_session_id_created_at', ['sessionId', 'createdAt'])
@Index('IDX_tasks_project_path_status', ['projectPath', 'status'])
@Index('IDX_tasks_created_at', ['createdAt'])
@Index('UQ_tasks_running_project_key', ['runningProjectKey'], { unique: true })
@Index('IDX_tasks_status_lease_expires_at', ['status', 'leaseExpiresAt'])
@Index('IDX_tasks_owner_key_id_status', ['ownerKeyId', 'status'])
@Index('IDX_tasks_human_wait_until', ['humanWaitUntil'])
@Index('IDX_tasks_status_reason_created_at', ['statusReason', 'createdAt'])
export class Task {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'session_id', type: 'varchar', length: 36 })
  sessionId!: string;

  @ManyToOne(() => Session, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'session_id', foreignKeyConstraintName: 'FK_tasks_session_id' })
  session?: Session;

  /** The API key that owns the task: its session's owner. Null when keys were not required. */
  @Column({ name: 'owner_key_id', type: 'varchar', length: 36, nullable: true })
  ownerKeyId!: string | null;

  /**
   * Copied from the session at creation. With isolation `none` the queue runs one task per
   * directory at a time; with `worktree` the task works in its own workspace.
   */
  @Column({ name: 'project_path', type: 'varchar', length: 700 })
  projectPath!: string;

  @Column({ type: 'text' })
  description!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: TaskStatus;

  @Column({ name: 'status_reason', type: 'varchar', length: 40, nullable: true })
  statusReason!: StatusReason | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  phase!: TaskPhase | null;

  @Column({ type: 'int', default: 0 })
  iteration!: number;

  @Column({ name: 'pause_count', type: 'int', default: 0 })
  pauseCount!: number;

  @Column({ name: 'max_iterations', type: 'int' })
  maxIterations!: number;

  @Column({ name: 'max_pauses', type: 'int' })
  maxPauses!: number;

  @Column({ name: 'claude_session_id', type: 'varchar', length: 36, nullable: true })
  claudeSessionId!: string | null;

  @Column({ name: 'result_summary', ...LONG_TEXT_COLUMN, nullable: true })
  resultSummary!: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  @Column({ name: 'last_agent_message', ...LONG_TEXT_COLUMN, nullable: true })
  lastAgentMessage!: string | null;

  @Column({ name: 'tests_passed', type: 'int', default: 0 })
  testsPassed!: number;

  @Column({ name: 'tests_failed', type: 'int', default: 0 })
  testsFailed!: number;

  @Column({ name: 'tests_total', type: 'int', default: 0 })
  testsTotal!: number;

  @Column({ name: 'cost_usd', type: 'double', default: 0 })
  costUsd!: number;

  /** The task's cost budget, USD: it fails `budget_exceeded` once its cost reaches it. Null: none. */
  @Column({ name: 'max_cost_usd', type: 'double', nullable: true })
  maxCostUsd!: number | null;

  @Column({ name: 'input_tokens', type: 'int', default: 0 })
  inputTokens!: number;

  @Column({ name: 'output_tokens', type: 'int', default: 0 })
  outputTokens!: number;

  /** The task this one retries (`POST /tasks/{id}/retry`); null for a task created directly. */
  @Column({ name: 'retry_of', type: 'varchar', length: 36, nullable: true })
  retryOf!: string | null;

  /** The task that retries this one, once one was made. */
  @Column({ name: 'retried_by', type: 'varchar', length: 36, nullable: true })
  retriedBy!: string | null;

  /** Claims so far; doubles as a fencing token for the lease. */
  @Column({ type: 'int', default: 0 })
  attempt!: number;

  /** Times the server running this task was seen to die (on the sweeper's host); MAX_TASK_ATTEMPTS bounds it. */
  @Column({ type: 'int', default: 0 })
  restarts!: number;

  /**
   * Times the task was taken back because its lease ran out while its owner was not seen to live
   * (it ran on another host: dead or stalled, nobody here can tell); twice MAX_TASK_ATTEMPTS
   * bounds it, so a task that crashes every server it runs on does not move among them forever.
   */
  @Column({ name: 'lease_expiries', type: 'int', default: 0 })
  leaseExpiries!: number;

  @Column({ name: 'lease_owner', type: 'varchar', length: 200, nullable: true })
  leaseOwner!: string | null;

  @Column({ name: 'lease_expires_at', ...TIMESTAMP_COLUMN, nullable: true })
  leaseExpiresAt!: Date | null;

  @Column({ name: 'cancel_requested', type: 'boolean', default: false })
  cancelRequested!: boolean;

  /** A person's message asked to end the agent turn under way; the next turn clears it. */
  @Column({ name: 'interrupt_requested', type: 'boolean', default: false })
  interruptRequested!: boolean;

  /**
   * Set while a worker holds the lease, under a unique index: a hash of the project path for a
   * task that works in place (so two such tasks of one directory never run at once, whichever
   * server instance claims them), of its workspace for one in a worktree (tasks of one
   * repository run side by side).
   */
  @Column({ name: 'running_project_key', type: 'varchar', length: 64, nullable: true })
  runningProjectKey!: string | null;

  /** Process group of the CLI or test command running now; ended by the sweep after a crash. */
  @Column({ name: 'process_group_id', type: 'int', nullable: true })
  processGroupId!: number | null;

  // --- what a resumed run continues from (see src/orchestrator/run/run-state.ts) ---

  /** The run's phase: `work`, `writing_tests` or `fixing_tests`; null before the first turn. */
  @Column({ name: 'run_phase', type: 'varchar', length: 20, nullable: true })
  runPhase!: string | null;

  /** Generated test files found so far (project-relative paths). */
  @Column({ name: 'test_files', ...LONG_TEXT_COLUMN, nullable: true, transformer: jsonTransformer })
  testFiles!: string[] | null;

  /**
   * The project as it was before the agent wrote its tests (what new test files are found
   * against), as JSON text: the run that took it reads it back.
   */
  @Column({ name: 'test_snapshot', ...LONG_TEXT_COLUMN, nullable: true })
  testSnapshot!: string | null;

  /** Test-writing turns in a row that left no test file. */
  @Column({ name: 'empty_test_turns', type: 'int', default: 0 })
  emptyTestTurns!: number;

  /** Test rounds refused for changing existing tests (see `test_changes_needed`). */
  @Column({ name: 'test_change_refusals', type: 'int', default: 0 })
  testChangeRefusals!: number;

  /** API errors in a row (the wait before the next turn doubles with each). */
  @Column({ name: 'api_error_streak', type: 'int', default: 0 })
  apiErrorStreak!: number;

  /** What the current agent conversation has cost; `cost_usd` also counts replaced ones. */
  @Column({ name: 'conversation_cost_usd', type: 'double', default: 0 })
  conversationCostUsd!: number;

  // --- the workspace (isolation `worktree`) ---

  /** Copied from the session at creation. */
  @Column({ type: 'varchar', length: 16, default: 'none' })
  isolation!: Isolation;

  /** The ref the task starts from as asked for (the task's or the session's); null: HEAD. */
  @Column({ name: 'base_ref', type: 'varchar', length: 255, nullable: true })
  baseRef!: string | null;

  /** The commit the workspace starts from (resolved at creation); the diff is against it. */
  @Column({ name: 'base_commit', type: 'varchar', length: 64, nullable: true })
  baseCommit!: string | null;

  /** The branch a merge goes into by default: the one `base_ref` names, or the one checked out. */
  @Column({ name: 'target_branch', type: 'varchar', length: TARGET_BRANCH_LENGTH, nullable: true })
  targetBranch!: string | null;

  /** The repository's common git directory. */
  @Column({ name: 'git_dir', type: 'text', nullable: true })
  gitDir!: string | null;

  /** The task's branch, once its workspace exists. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  branch!: string | null;

  /** The task's worktree, once it exists. */
  @Column({ name: 'workspace_path', type: 'text', nullable: true })
  workspacePath!: string | null;

  /**
   * What in the repository's common git directory decides what git runs (configuration, hooks,
   * `info/` files), as the workspace was ready for the agent (JSON, `GitConfigFingerprint`, hashes
   * only; internal): the completing commit and the merge are refused when it changed since, the
   * user's own settings aside (`git_config_changed`). Null until the setup command passed; taken
   * again after the regression baseline, before the first turn.
   */
  @Column({
    name: 'git_config_fingerprint',
    ...LONG_TEXT_COLUMN,
    nullable: true,
    transformer: jsonTransformer,
  })
  gitConfigFingerprint!: GitConfigFingerprint | null;

  /** When the session's setup command succeeded in the workspace (it runs again if not). */
  @Column({ name: 'setup_completed_at', ...TIMESTAMP_COLUMN, nullable: true })
  setupCompletedAt!: Date | null;

  /** When the workspace was removed (the branch stays). */
  @Column({ name: 'workspace_removed_at', ...TIMESTAMP_COLUMN, nullable: true })
  workspaceRemovedAt!: Date | null;

  /** The branch's commit with the task's work (set when the task ended). */
  @Column({ name: 'head_commit', type: 'varchar', length: 64, nullable: true })
  headCommit!: string | null;

  @Column({ name: 'merged_at', ...TIMESTAMP_COLUMN, nullable: true })
  mergedAt!: Date | null;

  /** The target's commit after the merge (a merge or squash commit, or the head itself). */
  @Column({ name: 'merge_commit', type: 'varchar', length: 64, nullable: true })
  mergeCommit!: string | null;

  @Column({ name: 'merged_into', type: 'varchar', length: 255, nullable: true })
  mergedInto!: string | null;

  /** The generated tests must fail (or error) at the base commit before the task may complete. */
  @Column({ name: 'require_failing_tests', type: 'boolean', default: true })
  requireFailingTests!: boolean;

  /** Deleting, renaming or skipping existing tests, or running fewer, does not block completion. */
  @Column({ name: 'allow_test_changes', type: 'boolean', default: false })
  allowTestChanges!: boolean;

  /** The evidence of the latest verification (JSON, `VerificationEvidence`); null before any. */
  @Column({ name: 'verification', ...LONG_TEXT_COLUMN, nullable: true })
  verification!: string | null;

  /** False: when the agent asks or stops short, the task waits for a person (`waiting_for_human`). */
  @Column({ name: 'auto_respond', type: 'boolean', default: true })
  autoRespond!: boolean;

  /** How long a wait for a person lasts before the simulated human answers; null: no limit. */
  @Column({ name: 'human_timeout_seconds', type: 'int', nullable: true })
  humanTimeoutSeconds!: number | null;

  /** While the task waits for a person: what it waits on (JSON, `HumanWait`); null otherwise. */
  @Column({ name: 'human_wait', ...LONG_TEXT_COLUMN, nullable: true, transformer: jsonTransformer })
  humanWait!: HumanWait | null;

  /** When the simulated human answers a wait nobody answered; null: not waiting, or no limit. */
  @Column({ name: 'human_wait_until', ...TIMESTAMP_COLUMN, nullable: true })
  humanWaitUntil!: Date | null;

  @Column({ name: 'created_at', ...TIMESTAMP_COLUMN })
  createdAt!: Date;

  @Column({ name: 'started_at', ...TIMESTAMP_COLUMN, nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'completed_at', ...TIMESTAMP_COLUMN, nullable: true })
  completedAt!: Date | null;

  @Column({ name: 'updated_at', ...TIMESTAMP_COLUMN })
  updatedAt!: Date;
}
