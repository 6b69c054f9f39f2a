import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { ClaudeCliModule } from 'src/claude-cli/claude-cli.module';
import { SimulatedHumanModule } from 'src/simulated-human/simulated-human.module';
import { LeaseSweeperService } from 'src/tasks/orchestrator/lease-sweeper.service';
import { TaskCancelController } from 'src/tasks/orchestrator/task-cancel.controller';
import { TaskCancellationService } from 'src/tasks/orchestrator/task-cancellation.service';
import { TaskLifecycleRunner } from 'src/tasks/orchestrator/task-lifecycle';
import { TaskOrchestratorService } from 'src/tasks/orchestrator/task-orchestrator.service';
import { TaskQueueRepository } from 'src/tasks/orchestrator/task-queue.repository';
import { TasksModule } from 'src/tasks/tasks.module';
import { TestRunnerModule } from 'src/test-runner/test-runner.module';

/** Runs tasks: the durable queue, one lifecycle pipeline per task, cancellation, crash recovery. */
@Module({
  imports: [
    ScheduleModule.forRoot(),
    TasksModule,
    ClaudeCliModule,
    SimulatedHumanModule,
    TestRunnerModule,
  ],
  controllers: [TaskCancelController],
  providers: [
    TaskQueueRepository,
    TaskLifecycleRunner,
    TaskOrchestratorService,
    LeaseSweeperService,
    TaskCancellationService,
  ],
  exports: [TaskOrchestratorService],
})
export class OrchestratorModule {}
