import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsInt,
  IsNumber,
  IsPositive,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  Min,
} from 'class-validator';
import { IsOptionalNotNull, NoNulCharacter } from 'src/common';
import { AutoRespondProperty, GitRefProperty, HumanTimeoutProperty } from 'src/sessions';

export const DESCRIPTION_MAX_LENGTH = 20000;

/**
 * Body of `POST /api/v1/tasks`. Unknown fields are rejected. `max_iterations`, `max_pauses` and
 * `max_cost_usd` default to MAX_ITERATIONS / MAX_PAUSES / MAX_COST_USD_PER_TASK and may not exceed
 * MAX_ITERATIONS_LIMIT / MAX_PAUSES_LIMIT / MAX_COST_USD_LIMIT (checked by the service against
 * the configured limits).
 */
export class CreateTaskDto {
  @ApiProperty({ format: 'uuid', example: '3f1d2a4e-9a7b-4a51-9a0f-0c8d6f1e2b3c' })
  @IsUUID('all')
  session_id!: string;

  @ApiProperty({
    example: 'Create a calculator function',
    maxLength: DESCRIPTION_MAX_LENGTH,
    pattern: '\\S',
  })
  @IsString()
  @Matches(/\S/, { message: 'description must not be blank' })
  @NoNulCharacter('description')
  @MaxLength(DESCRIPTION_MAX_LENGTH)
  description!: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    description:
      'Agent turns allowed (default MAX_ITERATIONS = 20, at most MAX_ITERATIONS_LIMIT = 100 unless configured otherwise)',
    example: 20,
  })
  @IsOptionalNotNull()
  @IsInt()
  @Min(1)
  max_iterations?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description:
      "Simulated-human interventions allowed (default MAX_PAUSES = 5, at most MAX_PAUSES_LIMIT = 50 unless configured otherwise). With auto_respond false, the answers a person gives do not count; the simulated human's reply given when nobody answered in time does",
    example: 5,
  })
  @IsOptionalNotNull()
  @IsInt()
  @Min(0)
  max_pauses?: number;

  @GitRefProperty(
    "What the task's workspace starts from: a branch, tag, remote branch or commit (sessions with isolation `worktree`); default: the session's base_ref, else the commit checked out in the project now. Resolved to `base_commit` at once",
  )
  base_ref?: string | null;
  @ApiPropertyOptional({
    exclusiveMinimum: true,
    minimum: 0,
    description:
      'Cost budget in USD: after every agent turn, a task whose cost reached it stops FAILED with reason `budget_exceeded` (default MAX_COST_USD_PER_TASK = 10, at most MAX_COST_USD_LIMIT = 100 unless configured otherwise)',
    example: 2.5,
  })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  max_cost_usd?: number;

  @ApiPropertyOptional({
    description:
      "The generated tests must fail or error at the base commit (run there in a scratch checkout) before the task may complete; false for a change tests cannot show (documentation). Default: the session's require_failing_tests, else REQUIRE_FAILING_TESTS",
    example: true,
  })
  @IsOptionalNotNull()
  @IsBoolean()
  require_failing_tests?: boolean;

  @ApiPropertyOptional({
    description:
      'Deleting, renaming or skipping existing tests, or running fewer regression tests than at the base, does not block completion (it is still recorded in the evidence). Default false',
    example: false,
  })
  @IsOptionalNotNull()
  @IsBoolean()
  allow_test_changes?: boolean;

  @AutoRespondProperty(
    "False: when the agent asks a question or stops short, the task waits for a person (PAUSED, reason waiting_for_human, holding no concurrency slot) until a message (POST /tasks/{id}/messages) resumes it. Default: the session's auto_respond, else true",
  )
  auto_respond?: boolean | null;

  @HumanTimeoutProperty(
    "With auto_respond false: after this many seconds without a message the simulated human answers and the task goes on (an intervention: with none left under max_pauses, the task fails max_pauses_reached instead). Default: the session's human_timeout_seconds, else no limit",
  )
  human_timeout_seconds?: number | null;
}
