import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IdempotencyModule } from 'src/idempotency';
import { SessionsModule } from 'src/sessions';
import { WorkspacesModule } from 'src/workspaces';
import { ClaudeInteraction } from 'src/tasks/claude-interaction.entity';
import { GitConfigQuarantine } from 'src/tasks/git-config-quarantine';
import { SessionTasksController } from 'src/tasks/session-tasks.controller';
import { HumanWaits } from 'src/tasks/human-waits.service';
import { Task } from 'src/tasks/task.entity';
import { TaskEventLog } from 'src/tasks/task-event-log.service';
import { TaskMessages } from 'src/tasks/task-messages.service';
import { TaskMessagesController } from 'src/tasks/task-messages.controller';
import { TaskInterruptSignal } from 'src/tasks/task-interrupt-signal';
import { TaskQueueSignal } from 'src/tasks/task-queue-signal';
import { TaskRetryController } from 'src/tasks/task-retry.controller';
import { TaskRetryService } from 'src/tasks/task-retry.service';
import { TaskWorkspaceCleanup } from 'src/tasks/task-workspace-cleanup';
import { TaskWorkspaceController } from 'src/tasks/task-workspace.controller';
import { TaskRowReader } from 'src/tasks/task-row-reader';
import { TaskStatusSummaries } from 'src/tasks/task-status-summaries';
import { TaskWorkspaceService } from 'src/tasks/task-workspace.service';
import { TaskStatsController } from 'src/tasks/task-stats.controller';
import { TaskStatsService } from 'src/tasks/task-stats.service';
import { TasksController } from 'src/tasks/tasks.controller';
import { TasksService } from 'src/tasks/tasks.service';
import { TestCase } from 'src/tasks/test-case.entity';

/**
 * Tasks, their records (interactions, test cases) and the one write path for them (the event log);
 * the review (diff), merge and removal of their workspaces.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([Task, ClaudeInteraction, TestCase]),
    SessionsModule,
    IdempotencyModule,
    WorkspacesModule,
  ],
  controllers: [
    TasksController,
    TaskWorkspaceController,
    TaskRetryController,
    TaskMessagesController,
    SessionTasksController,
    TaskStatsController,
  ],
  providers: [
    TasksService,
    TaskQueueSignal,
    TaskInterruptSignal,
    TaskEventLog,
    TaskWorkspaceCleanup,
    TaskWorkspaceService,
    TaskRowReader,
    TaskStatusSummaries,
    TaskStatsService,
    TaskRetryService,
    TaskMessages,
    HumanWaits,
    GitConfigQuarantine,
  ],
  exports: [
    TasksService,
    TaskRowReader,
    TaskMessages,
    HumanWaits,
    TaskQueueSignal,
    TaskInterruptSignal,
    TaskEventLog,
    TaskWorkspaceCleanup,
    GitConfigQuarantine,
    TypeOrmModule,
  ],
})
export class TasksModule {}
