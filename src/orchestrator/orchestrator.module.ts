import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from 'src/auth';
import { ClaudeCliModule } from 'src/claude-cli';
import { ProcessModule } from 'src/process';
import { SessionsModule } from 'src/sessions';
import { SimulatedHumanModule } from 'src/simulated-human';
import { TasksModule } from 'src/tasks';
import { TestRunnerModule } from 'src/test-runner';
import { WorkspacesModule } from 'src/workspaces';
import { RegressionBaseline } from 'src/orchestrator/regression-baseline.entity';
import { RegressionBaselines } from 'src/orchestrator/regression-baselines.repository';
import { HumanWaitSweeperService } from 'src/orchestrator/human-wait-sweeper.service';
import { LeaseSweeperService } from 'src/orchestrator/lease-sweeper.service';
import { OwnerKeyRevocationService } from 'src/orchestrator/owner-key-revocation.service';
import { TaskCancelController } from 'src/orchestrator/task-cancel.controller';
import { TaskCancellationService } from 'src/orchestrator/task-cancellation.service';
import { TaskOrchestratorService } from 'src/orchestrator/task-orchestrator.service';
import { TaskQueueRepository } from 'src/orchestrator/task-queue.repository';
import { TaskRunnerService } from 'src/orchestrator/task-runner.service';
import { WorkspaceSweeperService } from 'src/orchestrator/workspace-sweeper.service';

/**
 * Runs tasks: the durable queue, one lifecycle pipeline per task, cancellation (also of a revoked
 * key's tasks), crash recovery, and the sweep that removes workspaces past their retention.
 */
@Module({
  imports: [
    ScheduleModule.forRoot(),
    TypeOrmModule.forFeature([RegressionBaseline]),
    TasksModule,
    SessionsModule,
    ProcessModule,
    ClaudeCliModule,
    SimulatedHumanModule,
    TestRunnerModule,
    WorkspacesModule,
    AuthModule,
  ],
  controllers: [TaskCancelController],
  providers: [
    TaskQueueRepository,
    RegressionBaselines,
    TaskRunnerService,
    TaskOrchestratorService,
    LeaseSweeperService,
    HumanWaitSweeperService,
    WorkspaceSweeperService,
    TaskCancellationService,
    OwnerKeyRevocationService,
  ],
  exports: [TaskOrchestratorService],
})
export class OrchestratorModule {}
