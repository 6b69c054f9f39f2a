import { ApiProperty } from '@nestjs/swagger';

export class DatabaseHealthDto {
  @ApiProperty({ enum: ['up', 'down'], example: 'up' })
  status!: 'up' | 'down';

  @ApiProperty({ example: 'better-sqlite3' })
  type!: string;

  @ApiProperty({
    example: true,
    description:
      'A write went through: false when the database answers but cannot store anything (its storage is full)',
  })
  writable!: boolean;

  @ApiProperty({ type: String, nullable: true, example: null })
  error!: string | null;
}

export class ClaudeCliHealthDto {
  @ApiProperty({ example: 'claude' })
  command!: string;

  @ApiProperty({ example: true })
  available!: boolean;

  @ApiProperty({ type: String, nullable: true, example: '2.1.197' })
  version!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'e.g. "not found at claude"',
  })
  error!: string | null;

  @ApiProperty({
    type: Boolean,
    nullable: true,
    example: true,
    description:
      'Whether the CLI has credentials (`claude auth status`, no API call): a login of the user the server runs as, or ANTHROPIC_API_KEY. Tasks fail with `cli_not_logged_in` while it is false; null when it cannot be told.',
  })
  logged_in!: boolean | null;

  @ApiProperty({ type: String, nullable: true, example: 'claude.ai' })
  auth_method!: string | null;
}

export class OrchestratorHealthDto {
  @ApiProperty({
    example: true,
    description: 'false on an API-only instance (ORCHESTRATOR_ENABLED=false)',
  })
  enabled!: boolean;

  @ApiProperty({
    example: 'api-1@host:4242:9f86d081',
    description: 'This instance as a lease owner',
  })
  owner!: string;

  @ApiProperty({ type: 'integer', example: 1, description: 'Tasks running on this instance now' })
  running!: number;

  @ApiProperty({
    type: 'integer',
    example: 2,
    description: 'Most tasks that ran here at once since start',
  })
  peak!: number;

  @ApiProperty({ type: 'integer', example: 2, description: 'MAX_CONCURRENT_TASKS' })
  limit!: number;
}

export class WorkspacesHealthDto {
  @ApiProperty({ example: '/srv/cta/data/workspaces', description: 'WORKSPACES_DIR' })
  dir!: string;

  @ApiProperty({ type: 'integer', example: 3, description: 'Task workspaces on disk' })
  count!: number;

  @ApiProperty({ type: 'integer', example: 52428800, description: 'Disk they use, bytes' })
  disk_bytes!: number;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 21474836480,
    description: 'WORKSPACES_MAX_GB in bytes; null: no limit',
  })
  max_bytes!: number | null;

  @ApiProperty({
    example: false,
    description: 'At or over the limit: tasks that need a new workspace wait (`workspace_quota`)',
  })
  over_quota!: boolean;

  @ApiProperty({
    format: 'date-time',
    example: '2026-11-25T06:00:00.000Z',
    description:
      "When the oldest of the workspaces' measurements was taken (each every 30 s while a task works in it, else every 10 minutes)",
  })
  measured_at!: string;
}

export class HealthResponseDto {
  @ApiProperty({
    enum: ['ok', 'error', 'draining'],
    example: 'ok',
    description:
      '"error" (HTTP 503) when the database is down; "draining" (HTTP 503) while the server shuts down after SIGTERM and takes no new tasks',
  })
  status!: 'ok' | 'error' | 'draining';

  @ApiProperty({ type: DatabaseHealthDto })
  database!: DatabaseHealthDto;

  @ApiProperty({
    type: ClaudeCliHealthDto,
    description: 'A missing CLI is reported here but does not fail the check',
  })
  claude_cli!: ClaudeCliHealthDto;

  @ApiProperty({ type: OrchestratorHealthDto })
  orchestrator!: OrchestratorHealthDto;

  @ApiProperty({ type: WorkspacesHealthDto })
  workspaces!: WorkspacesHealthDto;
}

export class LivenessResponseDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status!: 'ok';
}

/** The terminus report: every check under `details`, the failing ones also under `error`. */
export class ReadinessResponseDto {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'], example: 'ok' })
  status!: 'ok' | 'error' | 'shutting_down';

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Checks that are up',
    example: { database: { status: 'up' } },
  })
  info!: Record<string, unknown>;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Checks that are down',
    example: {},
  })
  error!: Record<string, unknown>;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Every check: database, migrations, orchestrator, claude_cli',
    example: {
      database: { status: 'up' },
      migrations: { status: 'up' },
      orchestrator: { status: 'up', enabled: true },
      claude_cli: { status: 'up', version: '2.1.197', logged_in: true },
    },
  })
  details!: Record<string, unknown>;
}
