import { Module } from '@nestjs/common';
import { AuthModule } from 'src/auth';
import { SessionsModule } from 'src/sessions';
import { TasksModule } from 'src/tasks';
import { TaskEventStreams } from 'src/events/task-event-streams.service';
import { TaskEventsController } from 'src/events/task-events.controller';

/** Live event streams over the event log: `/tasks/{id}/events` and `/events`. */
@Module({
  imports: [TasksModule, SessionsModule, AuthModule],
  controllers: [TaskEventsController],
  providers: [TaskEventStreams],
  exports: [TaskEventStreams],
})
export class EventsModule {}
