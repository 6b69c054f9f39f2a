import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { PinoLogger } from 'nestjs-pino';
import { ApiAccessGuard } from 'src/auth';
import {
  API_PREFIX,
  apiSecurityHeaders,
  headersSetBy,
  isAllowedHost,
  lacksRequiredHost,
  REQUEST_ID_HEADER,
  requestIdOf,
  weakEtag,
} from 'src/common';
import { AppConfig } from 'src/config';
import { logAnsweredRequest } from 'src/logging';
import { MetricsService } from 'src/metrics';
import { TasksController } from 'src/tasks';

/** The route's template, as Express's router names it in logs and metrics. */
const STATUS_ROUTE = `/${API_PREFIX}/tasks/:id/status`;

/** Only the canonical form: a lower-case UUID, no trailing slash, no query string. */
const STATUS_URL = new RegExp(
  `^/${API_PREFIX}/tasks/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/status$`,
);

const JSON_TYPE = 'application/json; charset=utf-8';

/** Hands the request on to Express; if that throws, the connection ends. */
function handOn(res: ServerResponse, next: () => void): void {
  try {
    next();
  } catch {
    res.destroy();
  }
}

type FastRequest = IncomingMessage & {
  route?: { path: string };
  params?: Record<string, string>;
};

/**
 * THE STATUS READ'S FAST PATH: `GET /api/v1/tasks/{id}/status`, the route clients poll, answered
 * in front of Express (`in-front-of-express.ts`) by the route's own guard and handler, without
 * the per-request work of Express's and Nest's chains (through them a status read took the
 * server 500–540 µs of CPU, this way 48–49 µs, without request log lines: test/bench/RESULTS.md).
 *
 * It answers only the plain success and gives the same answer the full stack would:
 * - the global `ApiAccessGuard` decides, with the route's own metadata (scope) and `:id`
 *   (ownership): the same key check, rate limit count, scope and ownership;
 * - `TasksController.status` reads;
 * - the same headers: helmet's (`apiSecurityHeaders`), `X-Request-Id`, JSON content type,
 *   `ETag` (`weakEtag`, Express's too) and the rate limit's;
 * - the same request log line (`logAnsweredRequest`) and HTTP metrics.
 *
 * Everything else goes on to Express, where the full pipeline answers it: another
 * method or URL form, a body, a conditional request (`If-None-Match`: Express answers 304), an
 * `X-Forwarded-For` when TRUST_PROXY is set (the client's address is Express's to work out), a
 * Host that is not allowed or an HTTP/1.1 request without one, any refusal (401, 403, 404, 429:
 * the guard's verdict and the headers it set stay with the request, so the rate limit counts it
 * once) and any failure of the read (retried there). With CORS_ORIGINS set it is not installed at all (`FastReadsModule`): CORS
 * headers are Express's.
 */
@Injectable()
export class StatusFastPath implements OnModuleInit {
  private readonly securityHeaders = headersSetBy(apiSecurityHeaders());
  private controller!: TasksController;

  constructor(
    private readonly config: AppConfig,
    private readonly guard: ApiAccessGuard,
    private readonly metrics: MetricsService,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    this.controller = this.moduleRef.get(TasksController, { strict: false });
  }

  /** Answers the request, or calls `next` having written nothing (`answer`). */
  readonly handle = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const id = this.servableId(req);
    if (id === null) return next();
    void this.answer(req as FastRequest, res, id, next);
  };

  /** The task id when the request is one this path answers, else null. */
  private servableId(req: IncomingMessage): string | null {
    if (req.method !== 'GET') return null;
    const match = STATUS_URL.exec(req.url ?? '');
    if (match === null) return null;
    const headers = req.headers;
    const hasBody =
      headers['transfer-encoding'] !== undefined ||
      (headers['content-length'] !== undefined && headers['content-length'] !== '0');
    const conditional =
      headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined;
    const forwarded =
      this.config.TRUST_PROXY.length > 0 && headers['x-forwarded-for'] !== undefined;
    if (hasBody || conditional || forwarded) return null;
    const hostAllowed =
      !lacksRequiredHost(req) && isAllowedHost(headers.host, this.config.ALLOWED_HOSTS);
    return hostAllowed ? match[1] : null;
  }

  /**
   * Answers, or hands the request on (`next`) having written nothing: when the guard refuses or
   * the read fails, and when the answer could not be begun. A failure once it began ends the
   * connection. It never rejects (nothing waits on it).
   */
  private async answer(
    req: FastRequest,
    res: ServerResponse,
    id: string,
    next: () => void,
  ): Promise<void> {
    const startedAt = Date.now();
    const started = process.hrtime.bigint();
    req.route = { path: STATUS_ROUTE };
    req.params = { id };
    let body: string;
    try {
      await this.guard.canActivate(this.contextOf(req, res));
      body = JSON.stringify(await this.controller.status(id));
    } catch {
      // Express's router sets both again for the route; until then the request is as it came.
      delete req.route;
      delete req.params;
      return handOn(res, next);
    }
    try {
      this.write(req, res, body, startedAt, started);
    } catch {
      if (res.headersSent) res.destroy();
      else handOn(res, next);
    }
  }

  /** The 200: the headers Express's would have, the body; metrics and the request line once sent. */
  private write(
    req: FastRequest,
    res: ServerResponse,
    body: string,
    startedAt: number,
    started: bigint,
  ): void {
    res.writeHead(200, [
      ...this.securityHeaders,
      REQUEST_ID_HEADER,
      requestIdOf(req),
      'Content-Type',
      JSON_TYPE,
      'Content-Length',
      String(Buffer.byteLength(body)),
      'ETag',
      weakEtag(body),
    ]);
    res.end(body);
    res.once('finish', () => {
      this.metrics.recordRequest(
        'GET',
        STATUS_ROUTE,
        res.statusCode,
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      logAnsweredRequest(PinoLogger.root, req, res, Date.now() - startedAt);
    });
  }

  /**
   * What the guard sees of the request, as Nest would give it: the route's handler and class (for
   * its metadata), the request, and the response's header setters (the rate limit's headers).
   */
  private contextOf(req: FastRequest, res: ServerResponse): ExecutionContextHost {
    const headers = {
      setHeader: (name: string, value: string | number) => res.setHeader(name, value),
      header: (name: string, value: string | number) => res.setHeader(name, String(value)),
    };
    const context = new ExecutionContextHost(
      [req, headers, () => undefined],
      TasksController,
      // The handler as Nest keeps it, for its metadata (the scope); never called through here.
      // eslint-disable-next-line @typescript-eslint/unbound-method
      TasksController.prototype.status,
    );
    context.setType('http');
    return context;
  }
}
