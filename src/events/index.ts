export { EventsModule } from 'src/events/events.module';
export { TaskEventStreams } from 'src/events/task-event-streams.service';
