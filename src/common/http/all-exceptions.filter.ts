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
import { allowedMethods } from 'src/common/http/allowed-methods';
import { RequestDenials } from 'src/common/http/request-denials';
import { requestIdOf, RequestWithId } from 'src/common/http/request-id';
import { pathWithoutQuery } from 'src/common/http/request-path';
import { databaseFailureOf } from 'src/database';

/** The JSON body of every error response. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  request_id: string;
}

/** An exception as an answer: its status and body, and for a 405 the methods allowed. */
interface Described {
  status: number;
  body: Omit<ErrorBody, 'request_id'>;
  allow?: string[];
}

/**
 * Turns every exception into `{ code, message, details?, request_id }`. Domain errors map through
 * `httpStatusOf`; framework HTTP exceptions keep their 4xx status (a route not found is 405 when
 * only its method is wrong: `noRoute`); a database that cannot be
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
    const { status, body, allow } = this.describe(exception, req);
    const path = pathWithoutQuery(req);
    if (status >= 500 && exception instanceof DomainError) {
      // A refusal the code meant (shutting down): said, without a stack that points nowhere.
      this.logger.warn(
        `${req.method} ${path} -> ${status} [request_id=${requestId}] ${exception.code}: ${exception.message}`,
      );
    } else if (status >= 500) {
      const detail =
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception);
      this.logger.error(`${req.method} ${path} -> ${status} [request_id=${requestId}] ${detail}`);
    } else if ((req as { log?: unknown }).log === undefined) {
      // Refused before the request logger saw it (a path whose percent-encoding Express cannot
      // decode fails its route matching): the request line it would have written, said here.
      this.logger.warn(`${req.method} ${path} -> ${status} [request_id=${requestId}] ${body.code}`);
    }
    if (res.headersSent) return;
    if (allow !== undefined) res.setHeader('Allow', allow.join(', '));
    res.status(status).json({ ...body, request_id: requestId } satisfies ErrorBody);
    this.denials.report(req, status, body.code, exception instanceof HiddenObjectError);
  }

  private describe(exception: unknown, req: RequestWithId): Described {
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
      if (status === 404) return this.noRoute(req);
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

  /**
   * No route answered: 404 `route_not_found`, or 405 `method_not_allowed` with an `Allow` header
   * when the path is a route's and only the method is not one it answers.
   */
  private noRoute(req: RequestWithId): Described {
    const allowed = allowedMethods(req);
    if (allowed.length === 0 || allowed.includes(req.method)) {
      return {
        status: HttpStatus.NOT_FOUND,
        body: { code: ErrorCode.RouteNotFound, message: 'No such route' },
      };
    }
    return {
      status: HttpStatus.METHOD_NOT_ALLOWED,
      allow: allowed,
      body: {
        code: ErrorCode.MethodNotAllowed,
        message: `${req.method} is not a method of ${req.path}: it answers ${allowed.join(', ')}`,
        details: { allowed },
      },
    };
  }
}
