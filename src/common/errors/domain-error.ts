/**
 * Stable, machine-readable error codes. Services throw `DomainError`s with one of these; the
 * global exception filter maps each code to an HTTP status in one exhaustive switch, so a new
 * code without a mapping is a compile error.
 */
export enum ErrorCode {
  ValidationFailed = 'validation_failed',
  /** A client mistake the router or a framework pipe caught that has no more specific code. */
  BadRequest = 'bad_request',
  InvalidId = 'invalid_id',
  PayloadTooLarge = 'payload_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  /** Request line and headers over Node's limit (answered by the HTTP server itself). */
  HeadersTooLarge = 'headers_too_large',
  /** The request's headers or body did not arrive in time (answered by the HTTP server itself). */
  RequestTimeout = 'request_timeout',
  MalformedJson = 'malformed_json',
  ProjectPathInvalid = 'project_path_invalid',
  /** No API key, or one that is wrong, expired or revoked. */
  Unauthorized = 'unauthorized',
  /** The key lacks the scope the route needs. */
  Forbidden = 'forbidden',
  /** A command names a program this key may not run (outside ALLOWED_COMMANDS, a shell, inline code). */
  CommandNotAllowed = 'command_not_allowed',
  /** The request's Host is neither an IP address, localhost, nor listed in ALLOWED_HOSTS. */
  HostNotAllowed = 'host_not_allowed',
  ApiKeyNotFound = 'api_key_not_found',
  /** Too many requests from one key (or address) in a minute. */
  RateLimited = 'rate_limited',
  /** Too many tasks queued, for this key or in all. */
  QueueFull = 'queue_full',
  TooManyStreams = 'too_many_streams',
  ProjectPathNotAllowed = 'project_path_not_allowed',
  SessionNotFound = 'session_not_found',
  TaskNotFound = 'task_not_found',
  RouteNotFound = 'route_not_found',
  /** The path is a route's, the method none it answers (the `Allow` header lists those). */
  MethodNotAllowed = 'method_not_allowed',
  TaskNotDeletable = 'task_not_deletable',
  SessionHasActiveTasks = 'session_has_active_tasks',
  TaskNotCancellable = 'task_not_cancellable',
  /** Retry asked of a task that is not FAILED or CANCELLED, or was retried already. */
  TaskNotRetryable = 'task_not_retryable',
  /** A message to a task that is COMPLETED, FAILED or CANCELLED. */
  TaskFinished = 'task_finished',
  /** A message to a task that has MAX_UNDELIVERED_MESSAGES that no agent turn has taken yet. */
  MessagesPending = 'messages_pending',
  /** Diff or merge asked of a task without a workspace (in place), or one that cannot be read. */
  WorkspaceUnavailable = 'workspace_unavailable',
  /** A diff whose list of files is longer than the server answers (a change of ~100,000s of files). */
  DiffTooLarge = 'diff_too_large',
  /** Merge asked of a task that is not COMPLETED, or already merged. */
  TaskNotMergeable = 'task_not_mergeable',
  MergeTargetInvalid = 'merge_target_invalid',
  MergeConflict = 'merge_conflict',
  MergeNotFastForward = 'merge_not_fast_forward',
  /** The target branch is checked out in a working tree with changes. */
  WorkingTreeDirty = 'working_tree_dirty',
  /** The merge cannot be made now: the target is checked out in a task's workspace, or moved meanwhile. */
  MergeRefused = 'merge_refused',
  /**
   * The repository's git configuration, hooks or `info/` files changed since the task's workspace
   * was made: nothing is merged through them.
   */
  GitConfigChanged = 'git_config_changed',
  DatabaseUnavailable = 'database_unavailable',
  /** The database (or its disk) is full: nothing can be stored until space is freed. */
  StorageFull = 'storage_full',
  /** A request with this Idempotency-Key is still running. */
  IdempotencyRequestInProgress = 'idempotency_request_in_progress',
  /** The Idempotency-Key came before with another request body. */
  IdempotencyKeyReused = 'idempotency_key_reused',
  /** The server is draining after SIGTERM: it takes no new work; another instance will. */
  ShuttingDown = 'shutting_down',
  Internal = 'internal_error',
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/**
 * A not-found answer given for another key's object: its body is the plain not-found error's (the
 * caller cannot tell the two apart), but the audit trail records it as a denied request.
 */
export class HiddenObjectError extends DomainError {
  constructor(notFound: DomainError) {
    super(notFound.code, notFound.message, notFound.details);
  }
}

/**
 * 400 `validation_failed` about one field, shaped like the validation pipe's (`message` after
 * "Invalid request: ", `details.errors` naming the field), with any more `details`.
 */
export function invalidRequest(
  field: string,
  message: string,
  details: Record<string, unknown> = {},
): DomainError {
  return new DomainError(ErrorCode.ValidationFailed, `Invalid request: ${message}`, {
    errors: [{ field, errors: [message] }],
    ...details,
  });
}
