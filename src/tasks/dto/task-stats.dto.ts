import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { IsDateTime } from 'src/common';
import { STATUS_REASONS, type StatusReason, TaskStatus } from 'src/tasks/task-status';

/** `GET /api/v1/stats` query: which finished tasks. */
export class TaskStatsQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Only the tasks of this session' })
  @IsOptional()
  @IsUUID('all')
  session_id?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Only tasks finished at or after this time',
  })
  @IsOptional()
  @IsDateTime()
  since?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Only tasks finished before this time' })
  @IsOptional()
  @IsDateTime()
  until?: string;
}

export class DistributionDto {
  @ApiProperty({ type: 'integer', example: 3 })
  count!: number;

  @ApiProperty({ type: Number, nullable: true, example: 2.5 })
  mean!: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 2 })
  median!: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 4 })
  max!: number | null;
}

export class StatusReasonCountDto {
  @ApiProperty({ enum: TaskStatus })
  status!: TaskStatus;

  @ApiProperty({ enum: STATUS_REASONS, nullable: true })
  reason!: StatusReason | null;

  @ApiProperty({ type: 'integer', example: 2 })
  count!: number;
}

/** `GET /api/v1/stats`: finished tasks (COMPLETED, FAILED, CANCELLED) the key may see. */
export class TaskStatsResponseDto {
  @ApiProperty({ type: 'integer', description: 'Finished tasks counted', example: 4 })
  finished!: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { COMPLETED: 3, FAILED: 1 },
  })
  by_status!: Record<string, number>;

  @ApiProperty({ type: [StatusReasonCountDto] })
  by_status_and_reason!: StatusReasonCountDto[];

  @ApiProperty({ type: 'integer', example: 3 })
  completed!: number;

  @ApiProperty({
    type: 'integer',
    description: 'COMPLETED with every check made (reason `verified`)',
    example: 2,
  })
  verified!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'verified / finished',
    example: 0.5,
  })
  verified_completion_rate!: number | null;

  @ApiProperty({ type: DistributionDto, description: 'Agent turns of COMPLETED tasks' })
  turns_to_green!: DistributionDto;

  @ApiProperty({ type: DistributionDto, description: 'Test rounds of COMPLETED tasks' })
  test_rounds_to_green!: DistributionDto;

  @ApiProperty({ type: DistributionDto, description: 'From start to COMPLETED, milliseconds' })
  time_to_green_ms!: DistributionDto;

  @ApiProperty({ example: 0.6 })
  total_cost_usd!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'The cost of every finished task over the verified ones',
    example: 0.3,
  })
  cost_per_verified_task_usd!: number | null;
}
