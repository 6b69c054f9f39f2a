export { Session } from 'src/sessions/session.entity';
export { SessionsModule } from 'src/sessions/sessions.module';
export { sessionNotFound, SessionsService } from 'src/sessions/sessions.service';
