/** Lifecycle states of a task, stored as these upper-case strings. */
export enum TaskStatus {
  Pending = 'PENDING',
  Running = 'RUNNING',
  Paused = 'PAUSED',
  Testing = 'TESTING',
  Completed = 'COMPLETED',
  Failed = 'FAILED',
  Cancelled = 'CANCELLED',
}

export const TASK_STATUSES: readonly TaskStatus[] = Object.values(TaskStatus);

/** States a task never leaves. */
export const TERMINAL_STATUSES: readonly TaskStatus[] = [
  TaskStatus.Completed,
  TaskStatus.Failed,
  TaskStatus.Cancelled,
];

/** States in which a worker owns the task (a process may be running in its project). */
export const ACTIVE_STATUSES: readonly TaskStatus[] = [
  TaskStatus.Running,
  TaskStatus.Paused,
  TaskStatus.Testing,
];

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Machine-readable reason for the latest status change. */
export const STATUS_REASONS = [
  'created',
  'claimed',
  'resumed',
  'agent_turn',
  'needs_input',
  'waiting_for_human',
  'human_replied',
  'human_timeout',
  'agent_error',
  'permission_denied',
  'tests_requested',
  'tests_running',
  'tests_passed',
  'verified',
  'verified_without_base',
  'verified_without_failing_tests',
  'verified_with_test_changes',
  'verified_without_regression',
  'verified_with_flaky_tests',
  'verified_with_checks_unmade',
  'verified_with_changed_dependencies',
  'tests_failed',
  'tests_missing',
  'no_tests_written',
  'test_changes_needed',
  'test_command_unavailable',
  'max_iterations_reached',
  'max_pauses_reached',
  'budget_exceeded',
  'cli_not_found',
  'cli_not_logged_in',
  'api_unavailable',
  'timeout',
  'cancelled',
  'owner_key_revoked',
  'owner_key_expired',
  'server_restart',
  'lease_expired',
  'database_unavailable',
  'shutdown',
  'project_unavailable',
  'project_path_refused',
  'setup_failed',
  'workspace_quota',
  'workspace_error',
  'workspace_missing',
  'git_config_changed',
  'internal_error',
] as const;

export type StatusReason = (typeof STATUS_REASONS)[number];

/** Where inside its lifecycle a task is; finer than the status. */
export const TASK_PHASES = [
  'queued',
  'preparing_workspace',
  'running_setup',
  'agent_turn',
  'simulated_human',
  'waiting_for_human',
  'writing_tests',
  'running_tests',
  'running_regression',
  'running_baseline',
  'verifying',
  'committing',
  'done',
] as const;

export type TaskPhase = (typeof TASK_PHASES)[number];

/**
 * The only legal status changes. RUNNING reaches COMPLETED only through TESTING; a live task may
 * go back to PENDING when its lease is lost or the server shuts down (it is re-queued). PAUSED
 * (the simulated human intervening) returns to the status it interrupted: RUNNING, or TESTING
 * while the agent writes its tests. A task PAUSED `waiting_for_human` has no owner: a person's
 * message (or its `human_timeout_seconds`) sends it back to PENDING, and it resumes from the queue.
 */
export const TASK_TRANSITIONS: Record<TaskStatus, readonly TaskStatus[]> = {
  [TaskStatus.Pending]: [TaskStatus.Running, TaskStatus.Cancelled, TaskStatus.Failed],
  [TaskStatus.Running]: [
    TaskStatus.Paused,
    TaskStatus.Testing,
    TaskStatus.Failed,
    TaskStatus.Cancelled,
    TaskStatus.Pending,
  ],
  [TaskStatus.Paused]: [
    TaskStatus.Running,
    TaskStatus.Testing,
    TaskStatus.Failed,
    TaskStatus.Cancelled,
    TaskStatus.Pending,
  ],
  [TaskStatus.Testing]: [
    TaskStatus.Running,
    TaskStatus.Paused,
    TaskStatus.Completed,
    TaskStatus.Failed,
    TaskStatus.Cancelled,
    TaskStatus.Pending,
  ],
  [TaskStatus.Completed]: [],
  [TaskStatus.Failed]: [],
  [TaskStatus.Cancelled]: [],
};

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}

/** A status change outside the table: a bug in the caller, never a client's mistake. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly from: TaskStatus,
    readonly to: TaskStatus,
  ) {
    super(`Illegal task status transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/** Throws `IllegalTransitionError` unless `from -> to` is in the table. */
export function assertTransition(from: TaskStatus, to: TaskStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}
