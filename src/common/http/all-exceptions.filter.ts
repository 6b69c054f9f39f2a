import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { Response } from 'express';
import { DomainError, ErrorCode, HiddenObjectError } from 'src/common/errors/domain-error';
import { httpStatusOf } from 'src/common/errors/error-status';
import { RequestDenials } from 'src/common/http/request-denials';
import { requestIdOf, RequestWithId } from 'src/common/http/request-id';
import { databaseFailureOf } from 'src/database';

/** The JSON body of every error response. */
export interface ErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  request_id: string;
}

/**
 * Turns every exception into `{ code, message, details?, request_id }`. Domain errors map through
 * `httpStatusOf`; framework HTTP exceptions keep their 4xx status; a database that cannot be
 * reached (or is busy) is 503 `database_unavailable`, one whose storage is full 507
 * `storage_full`; anything else is a 500 with a generic message (no stack, no SQL), logged with
 * its request id. A 401 or 403, and a not-found that hides another key's object, are reported to
 * `RequestDenials` (the audit trail records them).
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly denials: RequestDenials) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<RequestWithId>();
    const res = ctx.getResponse<Response>();
    const requestId = requestIdOf(req);
    const { status, body } = this.describe(exception);
    if (status >= 500 && exception instanceof DomainError) {
      // A refusal the code meant (shutting down): said, without a stack that points nowhere.
      this.logger.warn(
        `${req.method} ${req.originalUrl} -> ${status} [request_id=${requestId}] ${exception.code}: ${exception.message}`,
      );
    } else if (status >= 500) {
      const detail =
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception);
      this.logger.error(
        `${req.method} ${req.originalUrl} -> ${status} [request_id=${requestId}] ${detail}`,
      );
    }
    if (res.headersSent) return;
    res.status(status).json({ ...body, request_id: requestId } satisfies ErrorBody);
    this.denials.report(req, status, body.code, exception instanceof HiddenObjectError);
  }

  private describe(exception: unknown): { status: number; body: Omit<ErrorBody, 'request_id'> } {
    if (exception instanceof DomainError) {
      return {
        status: httpStatusOf(exception.code),
        body: {
          code: exception.code,
          message: exception.message,
          ...(exception.details ? { details: exception.details } : {}),
        },
      };
    }
    if (exception instanceof HttpException && exception.getStatus() < 500) {
      const status = exception.getStatus();
      if (status === 404) {
        return { status, body: { code: ErrorCode.RouteNotFound, message: 'No such route' } };
      }
      return { status, body: { code: ErrorCode.BadRequest, message: exception.message } };
    }
    const database = databaseFailureOf(exception);
    if (database === 'full') {
      return {
        status: HttpStatus.INSUFFICIENT_STORAGE,
        body: {
          code: ErrorCode.StorageFull,
          message: 'The database cannot store anything more: its storage is full',
        },
      };
    }
    if (database !== null) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        body: { code: ErrorCode.DatabaseUnavailable, message: 'The database is unavailable' },
      };
    }
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: { code: ErrorCode.Internal, message: 'Internal server error' },
    };
  }
}
