import { Module } from '@nestjs/common';
import { ClaudeCliModule } from 'src/claude-cli';
import { HealthController } from 'src/health/health.controller';
import { HealthService } from 'src/health/health.service';
import { OrchestratorModule } from 'src/orchestrator';
import { WorkspacesModule } from 'src/workspaces';

@Module({
  imports: [ClaudeCliModule, OrchestratorModule, WorkspacesModule],
  controllers: [HealthController],
  providers: [HealthService],
})
export class HealthModule {}
