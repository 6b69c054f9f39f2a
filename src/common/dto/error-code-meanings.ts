import { ErrorCode } from 'src/common/errors/domain-error';

/**
 * What each error code means, in a line, as the OpenAPI document's error responses list them
 * (`ApiErrorResponses`). A record of every code: a new code without its line does not compile.
 */
export const ERROR_CODE_MEANINGS: Record<ErrorCode, string> = {
  [ErrorCode.ValidationFailed]:
    'a field, query parameter or header breaks its rule, or the route reads none of that name (a query string or body on a write whose route reads none); `details.errors` lists each field with its messages',
  [ErrorCode.BadRequest]:
    'a request the server cannot read: a malformed request line or header, a path whose percent-encoding does not decode, an HTTP/1.1 request without Host, a body in a charset or encoding it does not read (`charset=latin1`)',
  [ErrorCode.InvalidId]: 'an id in the path is not a UUID',
  [ErrorCode.PayloadTooLarge]: 'the request body is over MAX_REQUEST_BODY_BYTES',
  [ErrorCode.UnsupportedMediaType]:
    'the request body is not JSON (`Content-Type: application/json`)',
  [ErrorCode.HeadersTooLarge]:
    "the request line and headers are over Node's limit (the connection is closed)",
  [ErrorCode.RequestTimeout]:
    'the headers, or the body within REQUEST_BODY_TIMEOUT_MS, did not arrive in time (the connection is closed)',
  [ErrorCode.MalformedJson]: 'the request body is not valid JSON, or not UTF-8 text',
  [ErrorCode.ProjectPathInvalid]:
    "the project path is not a directory a task may work in (relative, missing, a git directory, the server's own places; the message says which), also a stored session's path that breaks a rule now",
  [ErrorCode.Unauthorized]:
    'no API key, or a wrong, expired or revoked one, or two `Authorization` headers (with `WWW-Authenticate: Bearer`)',
  [ErrorCode.Forbidden]: "the key lacks the route's scope (`details.required_scope`)",
  [ErrorCode.CommandNotAllowed]:
    'a command this key may not run: a program outside ALLOWED_COMMANDS, a shell, `env` or inline code (`details.errors` names the field)',
  [ErrorCode.HostNotAllowed]:
    'the `Host` header is neither an IP address, `localhost` nor in ALLOWED_HOSTS',
  [ErrorCode.ApiKeyNotFound]: 'no such API key',
  [ErrorCode.RateLimited]:
    'more than RATE_LIMIT_PER_MINUTE requests in a minute from this key (or address), with `Retry-After` in seconds',
  [ErrorCode.QueueFull]:
    'MAX_QUEUED_TASKS_PER_KEY tasks of this key, or MAX_QUEUED_TASKS in all, are queued; no `Retry-After`: when one starts is not known, try again later',
  [ErrorCode.TooManyStreams]:
    'this key has MAX_EVENT_STREAMS_PER_KEY event streams open; no `Retry-After`: close one first',
  [ErrorCode.ProjectPathNotAllowed]: 'the project path lies outside ALLOWED_PROJECT_ROOTS',
  [ErrorCode.SessionNotFound]: "no such session, or another key's",
  [ErrorCode.TaskNotFound]: "no such task, or another key's",
  [ErrorCode.RouteNotFound]:
    'no route has this path (a wrong base URL, or a server of another version)',
  [ErrorCode.MethodNotAllowed]:
    'the path answers other methods only (`Allow` and `details.allowed` list them): a server of another version',
  [ErrorCode.TaskNotDeletable]: 'the task is RUNNING, PAUSED or TESTING: cancel it first',
  [ErrorCode.SessionHasActiveTasks]:
    'a task of the session is RUNNING, PAUSED or TESTING: cancel it first',
  [ErrorCode.TaskNotCancellable]: 'the task already ended COMPLETED or FAILED',
  [ErrorCode.TaskNotRetryable]: 'the task is not FAILED or CANCELLED, or was retried already',
  [ErrorCode.TaskFinished]: 'the task is COMPLETED, FAILED or CANCELLED, or being cancelled',
  [ErrorCode.MessagesPending]:
    "20 messages, the most a task holds, wait for the task's next agent turn",
  [ErrorCode.WorkspaceUnavailable]:
    'the task works in place (no workspace), its project is no longer in a git work tree, or its repository cannot be read or stays locked',
  [ErrorCode.DiffTooLarge]:
    "the change's list of files is longer than the diff answers (16 MiB of paths: some 100,000 files, installed dependencies committed, say); `details.base_commit` and `details.head` name what to read with git",
  [ErrorCode.TaskNotMergeable]:
    'the task is not COMPLETED, worked in place, has no commit, or was merged already (`details.merged_into`, `details.merge_commit`, `details.merged_at`)',
  [ErrorCode.MergeTargetInvalid]:
    "no such branch to merge into, the task's own branch, none named for a task that started from no branch, or a symbolic ref (`details.symbolic_ref_to`)",
  [ErrorCode.MergeConflict]: 'the merge conflicts (`details.files`); nothing changed',
  [ErrorCode.MergeNotFastForward]:
    "strategy `fast_forward`, and the target has commits the task's branch does not have",
  [ErrorCode.WorkingTreeDirty]:
    'the target is checked out in a working tree with changes, or with untracked files where the merge adds files',
  [ErrorCode.MergeRefused]:
    'the merge cannot be made now, or not of this change (`details.reason` says why)',
  [ErrorCode.GitConfigChanged]:
    "the repository's git configuration, hooks or `info/` files changed since the task's workspace was set up, or still hold a change that failed one of its tasks (`details.files`)",
  [ErrorCode.DatabaseUnavailable]: 'the database cannot be reached, or is busy',
  [ErrorCode.StorageFull]:
    "the database's storage is full: nothing can be stored until space is freed",
  [ErrorCode.IdempotencyRequestInProgress]:
    'a request with this `Idempotency-Key` is still in progress: retry to get its answer',
  [ErrorCode.IdempotencyKeyReused]: 'this `Idempotency-Key` came before with another request body',
  [ErrorCode.ShuttingDown]:
    'the server is draining after SIGTERM and takes no new tasks: send them to another instance',
  [ErrorCode.Internal]: 'an unexpected error (no details leak; the request id is logged)',
};
