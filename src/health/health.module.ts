import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ClaudeCliModule } from 'src/claude-cli';
import { HealthController } from 'src/health/health.controller';
import { HealthService } from 'src/health/health.service';
import { ReadinessService } from 'src/health/readiness.service';
import { OrchestratorModule } from 'src/orchestrator';

/** `/health` (the compatible report), `/health/live` and `/health/ready` (terminus). */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), ClaudeCliModule, OrchestratorModule],
  controllers: [HealthController],
  providers: [HealthService, ReadinessService],
})
export class HealthModule {}
