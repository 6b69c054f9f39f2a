export { GitRefProperty } from 'src/sessions/dto/git-ref.property';
export { AutoRespondProperty, HumanTimeoutProperty } from 'src/sessions/dto/human-wait.properties';
export { ProjectPathService } from 'src/sessions/project-path.service';
export { ISOLATION_MODES, Session } from 'src/sessions/session.entity';
export type { Isolation } from 'src/sessions/session.entity';
export { SessionsModule } from 'src/sessions/sessions.module';
export { sessionNotFound, SessionsService } from 'src/sessions/sessions.service';
