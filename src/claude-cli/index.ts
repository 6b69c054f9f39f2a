export { CLAUDE_CLI_PARENT_ENV, ClaudeCliRunner } from 'src/claude-cli/claude-cli-runner.service';
export type { TurnEvent, TurnRequest } from 'src/claude-cli/claude-cli-runner.service';
export { ClaudeCliModule } from 'src/claude-cli/claude-cli.module';
export { CliAvailabilityService } from 'src/claude-cli/cli-availability.service';
export type { CliStatus } from 'src/claude-cli/cli-availability.service';
export type { ClaudeEvent, PermissionDenial } from 'src/claude-cli/stream-json/claude-events';
export type {
  ApiErrorKind,
  TimeoutKind,
  TurnOutcome,
  TurnOutcomeKind,
} from 'src/claude-cli/turn-outcome';
