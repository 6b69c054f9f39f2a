import { Module } from '@nestjs/common';
import { AuditModule } from 'src/audit';
import { AuthModule } from 'src/auth';
import { ClaudeCliModule } from 'src/claude-cli';
import { ClockSyncModule, CommonModule } from 'src/common';
import { ConfigModule } from 'src/config';
import { DatabaseModule } from 'src/database';
import { EventsModule } from 'src/events';
import { FastReadsModule } from 'src/fast-reads';
import { HealthModule } from 'src/health';
import { LoggingModule } from 'src/logging';
import { MetricsModule } from 'src/metrics';
import { SessionsModule } from 'src/sessions';
import { SimulatedHumanModule } from 'src/simulated-human';
import { OrchestratorModule } from 'src/orchestrator';
import { TasksModule } from 'src/tasks';
import { TestRunnerModule } from 'src/test-runner';

@Module({
  imports: [
    ConfigModule,
    LoggingModule,
    CommonModule,
    DatabaseModule,
    ClockSyncModule,
    AuditModule,
    AuthModule,
    ClaudeCliModule,
    SimulatedHumanModule,
    TestRunnerModule,
    SessionsModule,
    TasksModule,
    OrchestratorModule,
    EventsModule,
    HealthModule,
    MetricsModule,
    FastReadsModule,
  ],
})
export class AppModule {}
