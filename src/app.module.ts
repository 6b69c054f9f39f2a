import { Module } from '@nestjs/common';
import { ClaudeCliModule } from 'src/claude-cli';
import { CommonModule } from 'src/common';
import { ConfigModule } from 'src/config';
import { DatabaseModule } from 'src/database';
import { HealthModule } from 'src/health';
import { SessionsModule } from 'src/sessions';
import { SimulatedHumanModule } from 'src/simulated-human';
import { OrchestratorModule } from 'src/orchestrator';
import { TasksModule } from 'src/tasks';
import { TestRunnerModule } from 'src/test-runner';

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
