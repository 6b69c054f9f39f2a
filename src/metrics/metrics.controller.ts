import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { MonitorRoute, RequireScope } from 'src/access';
import { MetricsService } from 'src/metrics/metrics.service';

/**
 * `GET /metrics`: Prometheus text, for admin keys and METRICS_TOKEN. Not in the OpenAPI
 * document (it is for Prometheus, not for API clients).
 */
@ApiExcludeController()
@Controller('metrics')
@RequireScope('admin')
@MonitorRoute()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(@Res({ passthrough: true }) res: Response): Promise<string> {
    res.type(this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
