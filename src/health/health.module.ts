import { Module } from '@nestjs/common';
import { ClaudeCliModule } from 'src/claude-cli/claude-cli.module';
import { HealthController } from 'src/health/health.controller';
import { HealthService } from 'src/health/health.service';
import { OrchestratorModule } from 'src/tasks/orchestrator/orchestrator.module';

@Module({
  imports: [ClaudeCliModule, OrchestratorModule],
  controllers: [HealthController],
  providers: [HealthService],
})
export class HealthModule {}
