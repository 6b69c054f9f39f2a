import type { Request, Response } from 'express';
import { ErrorCode } from 'src/common/errors/domain-error';
import { httpStatusOf } from 'src/common/errors/error-status';
import type { ErrorBody } from 'src/common/http/all-exceptions.filter';
import { REQUEST_ID_HEADER, requestIdOf, RequestWithId } from 'src/common/http/request-id';
import { RequestDenials } from 'src/common/http/request-denials';

/**
 * Answers with the usual error body from plain Express middleware (checks that run before Nest's
 * routing, where the exception filter cannot be reached), and reports a 401/403.
 */
export function sendError(
  req: Request,
  res: Response,
  denials: RequestDenials,
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): void {
  const status = httpStatusOf(code);
  const requestId = requestIdOf(req as RequestWithId);
  res.setHeader(REQUEST_ID_HEADER, requestId);
  const body: ErrorBody = { code, message, ...(details ? { details } : {}), request_id: requestId };
  res.status(status).json(body);
  denials.report(req, status, code);
}
