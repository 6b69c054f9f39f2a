import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { concatMap, from, map, Observable } from 'rxjs';
import { AuditService } from 'src/audit/audit.service';
import { AUDITED, AuditedRoute } from 'src/audit/audited.decorator';

/** The id of what a route acted on: its `:id`, else the `id` of what it returned. */
function targetIdOf(req: Request, result: unknown): string | null {
  const param = req.params?.id;
  if (typeof param === 'string') return param.toLowerCase();
  const id = (result as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : null;
}

/** The `fields` of `source` (a request body, an answer) that it holds. */
function fieldsOf(source: unknown, fields: readonly string[]): Record<string, unknown> {
  const from = (source ?? {}) as Record<string, unknown>;
  return Object.fromEntries(fields.filter((f) => from[f] !== undefined).map((f) => [f, from[f]]));
}

/**
 * Records the successful calls of `@Audited` routes, before the answer is sent (a response the
 * client saw has its row). A failure to record is logged, never turned into an error for an
 * action that already happened.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const route = this.reflector.get<AuditedRoute | undefined>(AUDITED, context.getHandler());
    if (route === undefined) return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    return next
      .handle()
      .pipe(
        concatMap((result: unknown) =>
          from(this.record(route, req, res, result)).pipe(map(() => result)),
        ),
      );
  }

  private async record(
    route: AuditedRoute,
    req: Request,
    res: Response,
    result: unknown,
  ): Promise<void> {
    const id = targetIdOf(req, result);
    const details = {
      ...fieldsOf(req.body, route.bodyFields),
      ...fieldsOf(result, route.resultFields),
    };
    try {
      await this.audit.recordRequest(req, res.statusCode, {
        action: route.action,
        target: id === null ? null : { type: route.target, id },
        details: Object.keys(details).length > 0 ? details : null,
      });
    } catch (error) {
      this.logger.error(
        `could not record ${route.action} in the audit trail: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
