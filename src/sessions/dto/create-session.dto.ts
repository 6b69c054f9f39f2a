import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { IsOptionalNotNull, NoNulCharacter } from 'src/common';
import { GitRefProperty } from 'src/sessions/dto/git-ref.property';
import { AutoRespondProperty, HumanTimeoutProperty } from 'src/sessions/dto/human-wait.properties';
import { ISOLATION_MODES, type Isolation } from 'src/sessions/session.entity';

export const SESSION_NAME_MAX_LENGTH = 200;
export const COMMAND_MAX_LENGTH = 2000;

/** Body of `POST /api/v1/sessions`. Unknown fields are rejected. */
export class CreateSessionDto {
  @ApiProperty({
    description:
      'Absolute path of an existing project directory (inside ALLOWED_PROJECT_ROOTS when set); stored as its canonical real path',
    example: '/tmp/myproject',
    minLength: 1,
    maxLength: 4096,
  })
  @IsString()
  @MinLength(1)
  @MaxLength(4096)
  project_path!: string;

  @ApiPropertyOptional({
    type: String,
    description: 'Display name',
    example: 'calculator',
    maxLength: SESSION_NAME_MAX_LENGTH,
    nullable: true,
  })
  @IsOptional()
  @IsString()
  @MaxLength(SESSION_NAME_MAX_LENGTH)
  @NoNulCharacter('name')
  name?: string | null;

  @ApiPropertyOptional({
    type: String,
    description: 'Command that runs the generated tests (split into argv, never run by a shell)',
    example: 'npx jest',
    maxLength: COMMAND_MAX_LENGTH,
    pattern: '\\S',
    nullable: true,
  })
  @IsOptional()
  @IsString()
  @Matches(/\S/, { message: 'test_command must not be blank' })
  @MaxLength(COMMAND_MAX_LENGTH)
  test_command?: string | null;

  @ApiPropertyOptional({
    type: String,
    description: "Command that runs the project's own regression suite",
    example: 'npm test',
    maxLength: COMMAND_MAX_LENGTH,
    pattern: '\\S',
    nullable: true,
  })
  @IsOptional()
  @IsString()
  @Matches(/\S/, { message: 'regression_command must not be blank' })
  @MaxLength(COMMAND_MAX_LENGTH)
  regression_command?: string | null;

  @ApiPropertyOptional({
    enum: ISOLATION_MODES,
    description:
      '`worktree`: each task works in its own git worktree and branch under WORKSPACES_DIR, and tasks of the repository run side by side (the default for a git repository); `none`: tasks work in the project directory itself, one at a time (the only mode outside git)',
    example: 'worktree',
  })
  @IsOptionalNotNull()
  @IsIn(ISOLATION_MODES)
  isolation?: Isolation;

  @GitRefProperty(
    "What tasks start from unless a task names its own: a branch, tag, remote branch or commit (isolation `worktree`); default: the commit checked out in the project when each task is created. A local branch named here is also where a task's merge goes by default",
  )
  base_ref?: string | null;

  @ApiPropertyOptional({
    type: String,
    description:
      'Command run in each new workspace before the agent starts (split into argv, never run by a shell; SETUP_TIMEOUT_SECONDS); its output is stored as a `setup` interaction, and a failure fails the task with `setup_failed`. Isolation `worktree` only',
    example: 'npm ci',
    maxLength: COMMAND_MAX_LENGTH,
    pattern: '\\S',
    nullable: true,
  })
  @IsOptional()
  @IsString()
  @Matches(/\S/, { message: 'setup_command must not be blank' })
  @MaxLength(COMMAND_MAX_LENGTH)
  setup_command?: string | null;

  @ApiPropertyOptional({
    type: Boolean,
    description:
      "Default of its tasks' require_failing_tests (their generated tests must fail or error at the base commit); default: REQUIRE_FAILING_TESTS",
    nullable: true,
  })
  @IsOptional()
  @IsBoolean()
  require_failing_tests?: boolean | null;

  @AutoRespondProperty(
    "Default of its tasks' auto_respond: false makes them wait for a person (PAUSED, waiting_for_human) when the agent asks a question or stops short; default true (the simulated human answers)",
  )
  auto_respond?: boolean | null;

  @HumanTimeoutProperty(
    "Default of its tasks' human_timeout_seconds: how long a task waits for a person before the simulated human answers; default: no limit",
  )
  human_timeout_seconds?: number | null;
}
