import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ClaudeCliModule } from 'src/claude-cli';
import { DatabaseFreeSpace } from 'src/health/database-free-space';
import { DatabaseProbe } from 'src/health/database-probe';
import { HealthController } from 'src/health/health.controller';
import { HealthService } from 'src/health/health.service';
import { ReadinessService } from 'src/health/readiness.service';
import { OrchestratorModule } from 'src/orchestrator';
import { WorkspacesModule } from 'src/workspaces';

/** `/health` (the compatible report), `/health/live` and `/health/ready` (terminus). */
@Module({
  imports: [
    TerminusModule.forRoot({ errorLogStyle: 'json' }),
    ClaudeCliModule,
    OrchestratorModule,
    WorkspacesModule,
  ],
  controllers: [HealthController],
  providers: [DatabaseFreeSpace, DatabaseProbe, HealthService, ReadinessService],
})
export class HealthModule {}
