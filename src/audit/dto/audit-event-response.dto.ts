import { ApiProperty } from '@nestjs/swagger';
import type { Page } from 'src/common';
import { AUDIT_ACTIONS, type AuditAction } from 'src/audit/audit-actions';

export class AuditEventResponseDto {
  @ApiProperty({ type: 'integer', example: 42 })
  id!: number;

  @ApiProperty({ format: 'date-time', example: '2026-11-25T06:00:00.000Z' })
  created_at!: string;

  @ApiProperty({
    enum: ['key', 'local', 'monitor', 'anonymous', 'cli'],
    description:
      'Who: an API key, the local operator (keys not required), the metrics token, an unidentified client, or the command line',
    example: 'key',
  })
  actor!: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: null })
  actor_key_id!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'cta_3f9a1c2b7d4e' })
  actor_key_prefix!: string | null;

  @ApiProperty({ enum: AUDIT_ACTIONS, example: 'task.create' })
  action!: AuditAction;

  @ApiProperty({
    type: String,
    nullable: true,
    enum: ['api_key', 'session', 'task'],
    example: 'task',
  })
  target_type!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '9b2e7c1a-5d4f-4e3b-8a6c-1f2d3e4a5b6c' })
  target_id!: string | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 201,
    description: 'HTTP status answered',
  })
  status!: number | null;

  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' })
  ip!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '0f6c3c9e-2a41-4c43-a0c6-62d38ff1c8e1' })
  request_id!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'POST' })
  method!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '/api/v1/tasks' })
  path!: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, example: null })
  details!: Record<string, unknown> | null;
}

export class AuditEventPageDto implements Page<AuditEventResponseDto> {
  @ApiProperty({ type: [AuditEventResponseDto] })
  items!: AuditEventResponseDto[];

  @ApiProperty({ type: 'integer', example: 1 })
  total!: number;

  @ApiProperty({ type: 'integer', example: 20 })
  limit!: number;

  @ApiProperty({ type: 'integer', example: 0 })
  offset!: number;
}
