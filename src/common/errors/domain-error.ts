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
  ProjectPathNotAllowed = 'project_path_not_allowed',
  SessionNotFound = 'session_not_found',
  TaskNotFound = 'task_not_found',
  RouteNotFound = 'route_not_found',
  TaskNotDeletable = 'task_not_deletable',
  SessionHasActiveTasks = 'session_has_active_tasks',
  TaskNotCancellable = 'task_not_cancellable',
  DatabaseUnavailable = 'database_unavailable',
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
