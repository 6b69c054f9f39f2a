import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { Request } from 'express';
import { Observable, throwError } from 'rxjs';
import { DomainError, ErrorCode } from 'src/common/errors/domain-error';

/** Methods whose query string is left as it is (a cache buster there changes nothing). */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What a handler reads of a request besides its path, looked up once. */
interface HandlerInput {
  query: boolean;
  body: boolean;
}

/**
 * A WRITE WITH INPUT ITS ROUTE DOES NOT READ is refused (400 `validation_failed`, one entry per
 * parameter or property): a client that put an option where the route does not look
 * (`POST /tasks/{id}/merge?strategy=squash`, `DELETE /tasks/{id}` with `{"keep_workspace": true}`)
 * would otherwise have the write done without it. Routes that read a query string or a body
 * validate it themselves (`@Query()` and `@Body()` DTOs, unknown fields refused by the global
 * pipe); reads (GET, HEAD) keep their query strings, and an empty body (`{}`) asks for nothing.
 */
@Injectable()
export class UnreadInputInterceptor implements NestInterceptor {
  private readonly inputs = new WeakMap<object, HandlerInput>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Request>();
    if (READS.has(req.method)) return next.handle();
    const queryNames = Object.keys(req.query ?? {});
    const bodyNames = isObject(req.body) ? Object.keys(req.body) : [];
    if (queryNames.length === 0 && bodyNames.length === 0) return next.handle();
    const reads = this.inputOf(context);
    const errors = [
      ...(reads.query ? [] : queryNames).map((field) => ({
        field,
        errors: [`query parameter ${field} should not exist: this route reads no query string`],
      })),
      ...(reads.body ? [] : bodyNames).map((field) => ({
        field,
        errors: [`property ${field} should not exist: this route reads no request body`],
      })),
    ];
    if (errors.length === 0) return next.handle();
    return throwError(
      () =>
        new DomainError(
          ErrorCode.ValidationFailed,
          `Invalid request: ${errors.map((e) => e.errors[0]).join('; ')}`,
          { errors },
        ),
    );
  }

  private inputOf(context: ExecutionContext): HandlerInput {
    const handler = context.getHandler();
    let input = this.inputs.get(handler);
    if (input === undefined) {
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ??
        {}) as Record<string, unknown>;
      const kinds = new Set(Object.keys(args).map((key) => key.split(':')[0]));
      input = {
        query: kinds.has(String(RouteParamtypes.QUERY)),
        body: kinds.has(String(RouteParamtypes.BODY)),
      };
      this.inputs.set(handler, input);
    }
    return input;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
