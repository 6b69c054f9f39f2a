import { ApiProperty } from '@nestjs/swagger';
import type { Page } from 'src/common';
import { ISOLATION_MODES, type Isolation } from 'src/sessions/session.entity';

export class SessionResponseDto {
  @ApiProperty({ format: 'uuid', example: '3f1d2a4e-9a7b-4a51-9a0f-0c8d6f1e2b3c' })
  id!: string;

  @ApiProperty({ type: String, nullable: true, example: 'calculator' })
  name!: string | null;

  @ApiProperty({
    description: 'Canonical real path of the project directory',
    example: '/tmp/myproject',
  })
  project_path!: string;

  @ApiProperty({ type: String, nullable: true, example: 'npx jest' })
  test_command!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'npm test' })
  regression_command!: string | null;

  @ApiProperty({
    enum: ISOLATION_MODES,
    example: 'worktree',
    description: '`worktree`: a git worktree and branch per task; `none`: in the project directory',
  })
  isolation!: Isolation;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'main',
    description: 'What tasks start from; null: the commit checked out when a task is created',
  })
  base_ref!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'npm ci' })
  setup_command!: string | null;

  @ApiProperty({
    type: Boolean,
    nullable: true,
    description: "Default of its tasks' require_failing_tests; null: REQUIRE_FAILING_TESTS",
  })
  require_failing_tests!: boolean | null;

  @ApiProperty({
    type: Boolean,
    nullable: true,
    description: "Default of its tasks' auto_respond; null: true",
  })
  auto_respond!: boolean | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: "Default of its tasks' human_timeout_seconds; null: no limit",
  })
  human_timeout_seconds!: number | null;

  @ApiProperty({ format: 'date-time', example: '2026-11-25T06:00:00.000Z' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-25T06:00:00.000Z' })
  updated_at!: string;
}

export class SessionPageDto implements Page<SessionResponseDto> {
  @ApiProperty({ type: [SessionResponseDto] })
  items!: SessionResponseDto[];

  @ApiProperty({ type: 'integer', example: 1 })
  total!: number;

  @ApiProperty({ type: 'integer', example: 20 })
  limit!: number;

  @ApiProperty({ type: 'integer', example: 0 })
  offset!: number;
}
