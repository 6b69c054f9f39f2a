import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Response } from 'express';
import { REQUEST_ID_HEADER, requestIdOf, RequestWithId } from 'src/common/http/request-id';

/** Gives every request an id (the client's `X-Request-Id` when sane) and echoes it back. */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware {
  use(req: RequestWithId, res: Response, next: NextFunction): void {
    res.setHeader(REQUEST_ID_HEADER, requestIdOf(req));
    next();
  }
}
