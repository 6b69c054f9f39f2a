import { Controller, Get, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { HealthResponseDto } from 'src/health/health-response.dto';
import { HealthService } from 'src/health/health.service';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @ApiOperation({ summary: 'Health check: process, database and Claude CLI' })
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
}
