import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsNumber, IsPositive, Min } from 'class-validator';
import { IsOptionalNotNull } from 'src/common';

/**
 * Body of `POST /api/v1/tasks/{id}/retry`: the new task's limits (default: the retried task's,
 * within the same configured maxima), whether it may change existing tests, and whether it
 * continues the retried task's conversation.
 */
export class RetryTaskDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    description: "Default: the retried task's",
    example: 20,
  })
  @IsOptionalNotNull()
  @IsInt()
  @Min(1)
  max_iterations?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description: "Default: the retried task's",
    example: 5,
  })
  @IsOptionalNotNull()
  @IsInt()
  @Min(0)
  max_pauses?: number;

  @ApiPropertyOptional({
    exclusiveMinimum: true,
    minimum: 0,
    description: "USD; default: the retried task's budget",
    example: 10,
  })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  max_cost_usd?: number;

  @ApiPropertyOptional({
    description:
      "Let the change edit what existing tests check (see the task's allow_test_changes); default: the retried task's. A task that failed test_changes_needed is retried with true when its task means to change what existing tests check",
    example: true,
  })
  @IsOptionalNotNull()
  @IsBoolean()
  allow_test_changes?: boolean;

  @ApiPropertyOptional({
    default: false,
    description:
      "Resume the retried task's agent conversation (its first prompt goes to the same conversation) instead of starting a new one; a conversation the CLI no longer has is replaced by a new one",
  })
  @IsOptionalNotNull()
  @IsBoolean()
  continue_conversation?: boolean;
}
