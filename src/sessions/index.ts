export { BASE_REF_MAX_LENGTH, BASE_REF_PATTERN } from 'src/sessions/dto/create-session.dto';
export { ISOLATION_MODES, Session } from 'src/sessions/session.entity';
export type { Isolation } from 'src/sessions/session.entity';
export { SessionsModule } from 'src/sessions/sessions.module';
export { SessionsService } from 'src/sessions/sessions.service';
