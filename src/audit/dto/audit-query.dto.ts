import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { PaginationQueryDto } from 'src/common';
import { AUDIT_ACTIONS, type AuditAction } from 'src/audit/audit-actions';

/** `GET /api/v1/audit` query: pagination plus optional filters. */
export class AuditQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({ enum: AUDIT_ACTIONS, example: 'task.create' })
  @IsOptional()
  @IsIn(AUDIT_ACTIONS)
  action?: AuditAction;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only what this API key did' })
  @IsOptional()
  @IsUUID('all')
  actor_key_id?: string;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Only what concerned this key, session or task',
  })
  @IsOptional()
  @IsUUID('all')
  target_id?: string;
}
