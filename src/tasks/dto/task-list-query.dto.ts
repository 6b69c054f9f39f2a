import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsEnum, IsOptional, IsUUID } from 'class-validator';
import { PaginationQueryDto } from 'src/common';
import { TaskStatus } from 'src/tasks/task-status';

/** `GET /api/v1/tasks` query: pagination plus optional filters. */
export class TaskListQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({ enum: TaskStatus, example: TaskStatus.Pending })
  @IsOptional()
  @IsEnum(TaskStatus)
  status?: TaskStatus;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all')
  session_id?: string;
}
