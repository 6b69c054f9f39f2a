import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { SCOPES, type Scope } from 'src/access';
import { IsDateTime, NoNulCharacter } from 'src/common';

export const KEY_NAME_MAX_LENGTH = 100;

/** Body of `POST /api/v1/api-keys`. Unknown fields are rejected. */
export class CreateApiKeyDto {
  @ApiProperty({ example: 'ci-pipeline', maxLength: KEY_NAME_MAX_LENGTH, pattern: '\\S' })
  @IsString()
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxLength(KEY_NAME_MAX_LENGTH)
  @NoNulCharacter('name')
  name!: string;

  @ApiProperty({
    enum: SCOPES,
    isArray: true,
    description:
      "`admin` (everything, every key's sessions and tasks, key management, the audit trail), `tasks:write` (create, cancel and delete its own sessions and tasks), `tasks:read` (read its own)",
    example: ['tasks:write'],
    minItems: 1,
    maxItems: SCOPES.length,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SCOPES.length)
  @IsIn(SCOPES, { each: true })
  scopes!: Scope[];

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the key stops working (in the future); none by default',
    example: '2027-01-01T00:00:00.000Z',
  })
  @IsOptional()
  @IsDateTime()
  expires_at?: string | null;
}
