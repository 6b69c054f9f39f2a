import {
  CallHandler,
  ExecutionContext,
  HttpStatus,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { catchError, from, map, mergeMap, Observable, of, throwError } from 'rxjs';
import { principalOf } from 'src/access';
import { holdClaim, IdempotencyClaim } from 'src/idempotency/idempotency-claim';
import { IdempotencyService } from 'src/idempotency/idempotency.service';

/** The request header that carries the key. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/**
 * Applies `IdempotencyService` to a route: a request with an `Idempotency-Key` header either
 * replays the answer its first try got (with `Idempotent-Replayed: true`) or runs with an
 * `IdempotencyClaim`, through which the route's service stores its successful answer in the
 * transaction that creates; a failed request is forgotten unless its creation committed.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const key = req.header(IDEMPOTENCY_KEY_HEADER);
    if (key === undefined) return next.handle();
    const route = (req.route as { path?: string } | undefined)?.path ?? req.path;
    const status =
      this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ??
      (req.method === 'POST' ? HttpStatus.CREATED : HttpStatus.OK);
    // The caller is part of the scope: one key's `Idempotency-Key` never answers another's request.
    const caller = principalOf(req);
    const scope = `${req.method} ${route} ${caller?.keyId ?? caller?.kind ?? 'anonymous'}`;
    return from(this.idempotency.begin(scope, key, req.body)).pipe(
      mergeMap((outcome) => {
        if (outcome.kind === 'replay') {
          res.status(outcome.status);
          res.setHeader('Idempotent-Replayed', 'true');
          return of(outcome.body);
        }
        const claim = new IdempotencyClaim((body) => outcome.answer(status, body));
        holdClaim(req, claim);
        return next.handle().pipe(
          map((body: unknown) => {
            // A route stores its answer with its creation: stored after the commit, the answer
            // could be lost while the creation stays (the write failing, the server dying between
            // the two), and a retry would create again.
            if (!claim.answered) {
              throw new Error(`${req.method} ${route} is idempotent but stored no answer`);
            }
            return body;
          }),
          catchError((error: unknown) =>
            from(outcome.abandon()).pipe(mergeMap(() => throwError(() => error))),
          ),
        );
      }),
    );
  }
}
