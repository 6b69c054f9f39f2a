import { ApiProperty } from '@nestjs/swagger';
import { SCOPES, type Scope } from 'src/access';
import type { Page } from 'src/common';

/** A key as lists show it: never the key itself. */
export class ApiKeyResponseDto {
  @ApiProperty({ format: 'uuid', example: '5b1f0c2e-8d3a-4f6b-9e7c-2a1d4c6e8f00' })
  id!: string;

  @ApiProperty({ example: 'ci-pipeline' })
  name!: string;

  @ApiProperty({ description: 'The public start of the key', example: 'cta_3f9a1c2b7d4e' })
  prefix!: string;

  @ApiProperty({ enum: SCOPES, isArray: true, example: ['tasks:write'] })
  scopes!: Scope[];

  @ApiProperty({ format: 'date-time', example: '2026-11-25T06:00:00.000Z' })
  created_at!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  expires_at!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  revoked_at!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Last request made with the key (updated at most once a minute)',
    example: null,
  })
  last_used_at!: string | null;
}

/** `POST /api/v1/api-keys`: the key, shown this once. */
export class ApiKeyCreatedResponseDto extends ApiKeyResponseDto {
  @ApiProperty({
    description:
      'The key: send it as `Authorization: Bearer <key>`. Shown only now; only a hash is stored.',
    example: 'cta_3f9a1c2b7d4e_q0Vb3c2pX9sJ1kR7mN4tY6wZ8aE5fH2gL0iU3oP7dSx',
  })
  key!: string;
}

export class ApiKeyPageDto implements Page<ApiKeyResponseDto> {
  @ApiProperty({ type: [ApiKeyResponseDto] })
  items!: ApiKeyResponseDto[];

  @ApiProperty({ type: 'integer', example: 1 })
  total!: number;

  @ApiProperty({ type: 'integer', example: 20 })
  limit!: number;

  @ApiProperty({ type: 'integer', example: 0 })
  offset!: number;
}
