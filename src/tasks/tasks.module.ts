import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IdempotencyModule } from 'src/idempotency';
import { SessionsModule } from 'src/sessions';
import { ClaudeInteraction } from 'src/tasks/claude-interaction.entity';
import { SessionTasksController } from 'src/tasks/session-tasks.controller';
import { Task } from 'src/tasks/task.entity';
import { TaskEventLog } from 'src/tasks/task-event-log.service';
import { TaskQueueSignal } from 'src/tasks/task-queue-signal';
import { TasksController } from 'src/tasks/tasks.controller';
import { TasksService } from 'src/tasks/tasks.service';
import { TestCase } from 'src/tasks/test-case.entity';

/** Tasks, their records (interactions, test cases) and the one write path for them (the event log). */
@Module({
  imports: [
    TypeOrmModule.forFeature([Task, ClaudeInteraction, TestCase]),
    SessionsModule,
    IdempotencyModule,
  ],
  controllers: [TasksController, SessionTasksController],
  providers: [TasksService, TaskQueueSignal, TaskEventLog],
  exports: [TasksService, TaskQueueSignal, TaskEventLog, TypeOrmModule],
})
export class TasksModule {}
