import { randomUUID } from 'node:crypto';
import type { Request } from 'express';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** A request after RequestIdMiddleware ran. */
export interface RequestWithId extends Request {
  requestId?: string;
}

/** Client-supplied ids are kept when short and printable; anything else is replaced. */
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function chooseRequestId(supplied: string | string[] | undefined): string {
  return typeof supplied === 'string' && ACCEPTABLE_ID.test(supplied) ? supplied : randomUUID();
}

/** The id of a request; assigns one if the middleware did not run (e.g. an early failure). */
export function requestIdOf(req: Pick<RequestWithId, 'headers' | 'requestId'>): string {
  req.requestId ??= chooseRequestId(req.headers['x-request-id']);
  return req.requestId;
}
