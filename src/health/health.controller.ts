import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { HealthCheckResult } from '@nestjs/terminus';
import type { Response } from 'express';
import { MonitorRoute, Public, RequireScope } from 'src/access';
import { ApiAccessRefusals } from 'src/common';
import {
  HealthResponseDto,
  LivenessResponseDto,
  ReadinessResponseDto,
} from 'src/health/health-response.dto';
import { HealthService } from 'src/health/health.service';
import { ReadinessService } from 'src/health/readiness.service';

@ApiTags('health')
@Controller('health')
@RequireScope('tasks:read')
@MonitorRoute()
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly readiness: ReadinessService,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'health_check',
    summary: 'Health check: process, database and Claude CLI',
  })
  @ApiAccessRefusals()
  @ApiOkResponse({ type: HealthResponseDto, description: 'Database reachable' })
  @ApiServiceUnavailableResponse({
    type: HealthResponseDto,
    description: 'Database down, or the server is draining after SIGTERM',
  })
  async check(@Res({ passthrough: true }) res: Response): Promise<HealthResponseDto> {
    const report = await this.health.check();
    res.status(report.status === 'ok' ? 200 : 503);
    return report;
  }

  @Get('live')
  @Public()
  @ApiOperation({
    operationId: 'health_live',
    summary: 'Liveness: the process answers (no key needed, nothing checked beyond that)',
    security: [],
  })
  @ApiOkResponse({ type: LivenessResponseDto })
  @ApiAccessRefusals(true)
  live(): LivenessResponseDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    operationId: 'health_ready',
    summary:
      'Readiness: database reachable, migrations applied, orchestrator running, Claude CLI found (503 otherwise)',
  })
  @ApiOkResponse({ type: ReadinessResponseDto })
  @ApiServiceUnavailableResponse({ type: ReadinessResponseDto })
  @ApiAccessRefusals()
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    try {
      return await this.readiness.check();
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      res.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
