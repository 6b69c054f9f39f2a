import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { Observable, retry, throwError, timer } from 'rxjs';
import { isTransientDatabaseError } from 'src/database';

/** Further tries of a read that met a transient database error, and the first wait between them. */
const RETRIES = 2;
const FIRST_WAIT_MS = 100;

/**
 * A read (GET, HEAD) that fails on a transient database error (a dropped pooled connection, a
 * lock timeout, SQLite busy) is run again, twice at most, 100 then 200 ms later: the next try
 * gets a fresh connection. Reads change nothing, so trying again is safe; writes are not tried
 * again here (their retry belongs to the client, with an Idempotency-Key).
 */
@Injectable()
export class ReadRetryInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const method = context.switchToHttp().getRequest<Request>().method;
    if (method !== 'GET' && method !== 'HEAD') return next.handle();
    return next.handle().pipe(
      retry({
        count: RETRIES,
        delay: (error: unknown, attempt) =>
          isTransientDatabaseError(error)
            ? timer(FIRST_WAIT_MS * 2 ** (attempt - 1))
            : throwError(() => error),
      }),
    );
  }
}
