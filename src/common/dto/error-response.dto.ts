import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { ErrorCode } from 'src/common/errors/domain-error';

/** One field's refusal in a `validation_failed` answer's `details.errors`. */
export class FieldErrorsDto {
  @ApiProperty({
    description: 'The field: a body property, a query parameter or a header',
    example: 'description',
  })
  field!: string;

  @ApiProperty({
    type: [String],
    description: 'Why it was refused (one message: the first rule it breaks)',
    example: ['description must be a string'],
  })
  errors!: string[];
}

/** Every 4xx/5xx answer has this body. */
@ApiExtraModels(FieldErrorsDto)
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

  /** `errors`, the shape every `validation_failed` has, named; other codes' details are their own. */
  @ApiPropertyOptional({
    description:
      "Extra structured information: for `validation_failed`, `errors` lists each field refused with its messages; other codes give their own (e.g. `merge_conflict`'s `files`, `merge_refused`'s `reason`)",
    type: 'object',
    properties: { errors: { type: 'array', items: { $ref: getSchemaPath(FieldErrorsDto) } } },
    additionalProperties: true,
    example: { errors: [{ field: 'description', errors: ['description must be a string'] }] },
  })
  details?: { errors?: FieldErrorsDto[] } & Record<string, unknown>;

  @ApiProperty({
    description: 'Id of the request (echoed in the X-Request-Id header)',
    example: '0f6c3c9e-2a41-4c43-a0c6-62d38ff1c8e1',
  })
  request_id!: string;
}
