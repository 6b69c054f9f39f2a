import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { MetricsService } from 'src/metrics/metrics.service';

/**
 * Counts every request and its latency when it is answered, labelled by route template
 * (`/api/v1/tasks/:id`; `unmatched` for no route, so labels stay few whatever URLs arrive).
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const path = (req.route as { path?: unknown } | undefined)?.path;
      this.metrics.recordRequest(
        req.method,
        typeof path === 'string' ? path : 'unmatched',
        res.statusCode,
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  }
}
