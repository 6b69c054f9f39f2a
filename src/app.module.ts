import { Module } from '@nestjs/common';
import { ClaudeCliModule } from 'src/claude-cli/claude-cli.module';
import { CommonModule } from 'src/common/common.module';
import { ConfigModule } from 'src/config/config.module';
import { DatabaseModule } from 'src/database/database.module';
import { HealthModule } from 'src/health/health.module';
import { SessionsModule } from 'src/sessions/sessions.module';
import { SimulatedHumanModule } from 'src/simulated-human/simulated-human.module';
import { OrchestratorModule } from 'src/tasks/orchestrator/orchestrator.module';
import { TasksModule } from 'src/tasks/tasks.module';
import { TestRunnerModule } from 'src/test-runner/test-runner.module';

@Module({
  imports: [
    ConfigModule,
    CommonModule,
    DatabaseModule,
    ClaudeCliModule,
    SimulatedHumanModule,
    TestRunnerModule,
    SessionsModule,
    TasksModule,
    OrchestratorModule,
    HealthModule,
  ],
})
export class AppModule {}
