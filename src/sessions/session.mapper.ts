import { Session } from 'src/sessions/session.entity';
import { SessionResponseDto } from 'src/sessions/dto/session-response.dto';

export function toSessionResponse(session: Session): SessionResponseDto {
  return {
    id: session.id,
    name: session.name,
    project_path: session.projectPath,
    test_command: session.testCommand,
    regression_command: session.regressionCommand,
    isolation: session.isolation,
    base_ref: session.baseRef,
    setup_command: session.setupCommand,
    require_failing_tests: session.requireFailingTests,
    auto_respond: session.autoRespond,
    human_timeout_seconds: session.humanTimeoutSeconds,
    created_at: session.createdAt.toISOString(),
    updated_at: session.updatedAt.toISOString(),
  };
}
