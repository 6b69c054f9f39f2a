import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ErrorCode } from 'src/common/errors/domain-error';

/** Every 4xx/5xx answer has this body. */
export class ErrorResponseDto {
  /**
   * A named enum (a schema of its own), so a generated client types it as the closed set of codes
   * the server sends, not as any string.
   */
  @ApiProperty({
    enum: ErrorCode,
    enumName: 'ErrorCode',
    description: 'Stable machine-readable error code',
    example: ErrorCode.ValidationFailed,
  })
  code!: ErrorCode;

  @ApiProperty({
    description: 'Human-readable explanation',
    example: 'Invalid request: description: description must be a string',
  })
  message!: string;

  @ApiPropertyOptional({
    description: 'Extra structured information (e.g. per-field validation errors)',
    type: 'object',
    additionalProperties: true,
    example: { errors: [{ field: 'description', errors: ['description must be a string'] }] },
  })
  details?: Record<string, unknown>;

  @ApiProperty({
    description: 'Id of the request (echoed in the X-Request-Id header)',
    example: '0f6c3c9e-2a41-4c43-a0c6-62d38ff1c8e1',
  })
  request_id!: string;
}
