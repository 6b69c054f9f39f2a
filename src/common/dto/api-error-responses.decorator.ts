import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from 'src/common/dto/error-response.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (`validation_failed`, `invalid_id`, `malformed_json`, `project_path_invalid`, `merge_target_invalid`)',
  401: 'No API key, or a wrong, expired or revoked one (`unauthorized`)',
  403: 'Not allowed: the key lacks the scope (`forbidden`), a command it may not run (`command_not_allowed`), a project path outside ALLOWED_PROJECT_ROOTS (`project_path_not_allowed`), a Host header not in ALLOWED_HOSTS (`host_not_allowed`)',
  404: 'Not found, or owned by another key (`session_not_found`, `task_not_found`, `api_key_not_found`)',
  409: 'Conflict with the current state (`task_not_deletable`, `session_has_active_tasks`, `task_not_cancellable`, `workspace_unavailable`, `task_not_mergeable`, `merge_conflict`, `merge_not_fast_forward`, `working_tree_dirty`, `merge_refused` (`details.reason`), `git_config_changed`, `idempotency_request_in_progress`)',
  413: 'Request body too large (`payload_too_large`)',
  415: 'Request body is not JSON (`unsupported_media_type`)',
  422: 'An `Idempotency-Key` used before with another body (`idempotency_key_reused`)',
  429: 'Too many requests (`rate_limited`, with Retry-After), too many queued tasks (`queue_full`) or event streams open (`too_many_streams`)',
  500: 'Unexpected error (`internal_error`; no details leak)',
  503: 'Database unavailable (`database_unavailable`), or the server is shutting down and takes no new work (`shutting_down`)',
  507: "The database's storage is full (`storage_full`)",
};

/**
 * Documents the error responses of an operation, all with the common error body; 401, 403 (a Host
 * header not allowed), 429, 500, 503 and 507, which any operation can meet, are always included.
 */
export function ApiErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...[...new Set([...statuses, 401, 403, 429, 500, 503, 507])].map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status], type: ErrorResponseDto }),
    ),
  );
}

/**
 * Documents only the refusals of a route that asks for a key (401, 429) and of a Host header not
 * allowed (403), with the common error body: for a route whose other answers are its own (the
 * health checks' 503 is their report). `keyless`: the route asks for no key (only the 403).
 */
export function ApiAccessRefusals(keyless = false): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...(keyless ? [403] : [401, 403, 429]).map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status], type: ErrorResponseDto }),
    ),
  );
}
