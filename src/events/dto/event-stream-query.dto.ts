import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { QueryInteger } from 'src/common';

/** `GET /api/v1/tasks/{id}/events` query. */
export class TaskEventStreamQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description:
      'Send only events with a larger id (what a reconnecting client already has); the `Last-Event-ID` header wins over it. Default 0: every event of the task, then the live ones. An id past the newest event stored is taken as the newest.',
    example: 0,
  })
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after_id?: number;
}

/** `GET /api/v1/events` query. */
export class EventStreamQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description:
      'Send only events with a larger id; the `Last-Event-ID` header wins over it. Default: from now on. An id past the newest event stored is taken as the newest.',
    example: 0,
  })
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after_id?: number;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only the tasks of this session' })
  @IsOptional()
  @IsUUID()
  session_id?: string;
}
