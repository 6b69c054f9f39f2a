import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Session } from 'src/sessions/session.entity';
import { ClaudeInteraction } from 'src/tasks/claude-interaction.entity';
import { Task } from 'src/tasks/task.entity';
import { TasksController } from 'src/tasks/tasks.controller';
import { TaskQueueSignal } from 'src/tasks/task-queue-signal';
import { TasksService } from 'src/tasks/tasks.service';
import { TestCase } from 'src/tasks/test-case.entity';

@Module({
  imports: [TypeOrmModule.forFeature([Task, Session, ClaudeInteraction, TestCase])],
  controllers: [TasksController],
  providers: [TasksService, TaskQueueSignal],
  exports: [TasksService, TaskQueueSignal, TypeOrmModule],
})
export class TasksModule {}
