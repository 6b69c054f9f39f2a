import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { Request } from 'express';
import { Observable, throwError } from 'rxjs';
import { DomainError, ErrorCode } from 'src/common/errors/domain-error';

/** Methods whose query string is left as it is (a cache buster there changes nothing). */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A WRITE WITH A QUERY STRING ITS ROUTE DOES NOT READ is refused (400 `validation_failed`, one
 * entry per parameter): a client that put an option there rather than in the body
 * (`POST /tasks/{id}/merge?strategy=squash`) would otherwise have the write done without it.
 * Routes that read a query string validate it themselves (`@Query()` DTOs, unknown fields
 * refused by the global pipe); reads (GET, HEAD) keep theirs, as do writes to routes that read one.
 */
@Injectable()
export class UnknownQueryInterceptor implements NestInterceptor {
  /** Whether each handler takes `@Query()`, looked up once. */
  private readonly readsQuery = new WeakMap<object, boolean>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Request>();
    if (READS.has(req.method)) return next.handle();
    const names = Object.keys(req.query ?? {});
    if (names.length === 0 || this.takesQuery(context)) return next.handle();
    const errors = names.map((field) => ({
      field,
      errors: [`query parameter ${field} should not exist: this route reads no query string`],
    }));
    return throwError(
      () =>
        new DomainError(
          ErrorCode.ValidationFailed,
          `Invalid request: ${errors.map((e) => e.errors[0]).join('; ')}`,
          { errors },
        ),
    );
  }

  private takesQuery(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    let takes = this.readsQuery.get(handler);
    if (takes === undefined) {
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ??
        {}) as Record<string, unknown>;
      takes = Object.keys(args).some((key) => key.split(':')[0] === String(RouteParamtypes.QUERY));
      this.readsQuery.set(handler, takes);
    }
    return takes;
  }
}
