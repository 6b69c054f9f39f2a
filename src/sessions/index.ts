export { Session } from 'src/sessions/session.entity';
export { SessionsModule } from 'src/sessions/sessions.module';
export { SessionsService } from 'src/sessions/sessions.service';
