import { HttpStatus } from '@nestjs/common';
import { ErrorCode } from 'src/common/errors/domain-error';

/** 431, which Nest's HttpStatus enum lacks. */
const REQUEST_HEADER_FIELDS_TOO_LARGE = 431 as HttpStatus;

/** The HTTP status of each error code. Exhaustive: a new code without a status does not compile. */
export function httpStatusOf(code: ErrorCode): HttpStatus {
  switch (code) {
    case ErrorCode.ValidationFailed:
    case ErrorCode.BadRequest:
    case ErrorCode.InvalidId:
    case ErrorCode.MalformedJson:
    case ErrorCode.ProjectPathInvalid:
    case ErrorCode.MergeTargetInvalid:
      return HttpStatus.BAD_REQUEST;
    case ErrorCode.Unauthorized:
      return HttpStatus.UNAUTHORIZED;
    case ErrorCode.ProjectPathNotAllowed:
    case ErrorCode.Forbidden:
    case ErrorCode.CommandNotAllowed:
    case ErrorCode.HostNotAllowed:
      return HttpStatus.FORBIDDEN;
    case ErrorCode.RateLimited:
    case ErrorCode.QueueFull:
    case ErrorCode.TooManyStreams:
      return HttpStatus.TOO_MANY_REQUESTS;
    case ErrorCode.ApiKeyNotFound:
    case ErrorCode.SessionNotFound:
    case ErrorCode.TaskNotFound:
    case ErrorCode.RouteNotFound:
      return HttpStatus.NOT_FOUND;
    case ErrorCode.MethodNotAllowed:
      return HttpStatus.METHOD_NOT_ALLOWED;
    case ErrorCode.TaskNotDeletable:
    case ErrorCode.SessionHasActiveTasks:
    case ErrorCode.TaskNotCancellable:
    case ErrorCode.TaskNotRetryable:
    case ErrorCode.TaskFinished:
    case ErrorCode.MessagesPending:
    case ErrorCode.IdempotencyRequestInProgress:
    case ErrorCode.WorkspaceUnavailable:
    case ErrorCode.DiffTooLarge:
    case ErrorCode.TaskNotMergeable:
    case ErrorCode.MergeConflict:
    case ErrorCode.MergeNotFastForward:
    case ErrorCode.WorkingTreeDirty:
    case ErrorCode.MergeRefused:
    case ErrorCode.GitConfigChanged:
      return HttpStatus.CONFLICT;
    case ErrorCode.IdempotencyKeyReused:
      return HttpStatus.UNPROCESSABLE_ENTITY;
    case ErrorCode.PayloadTooLarge:
      return HttpStatus.PAYLOAD_TOO_LARGE;
    case ErrorCode.UnsupportedMediaType:
      return HttpStatus.UNSUPPORTED_MEDIA_TYPE;
    case ErrorCode.HeadersTooLarge:
      return REQUEST_HEADER_FIELDS_TOO_LARGE;
    case ErrorCode.RequestTimeout:
      return HttpStatus.REQUEST_TIMEOUT;
    case ErrorCode.DatabaseUnavailable:
    case ErrorCode.ShuttingDown:
      return HttpStatus.SERVICE_UNAVAILABLE;
    case ErrorCode.StorageFull:
      return HttpStatus.INSUFFICIENT_STORAGE;
    case ErrorCode.Internal:
      return HttpStatus.INTERNAL_SERVER_ERROR;
  }
}
