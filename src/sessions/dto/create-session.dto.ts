import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export const SESSION_NAME_MAX_LENGTH = 200;
export const COMMAND_MAX_LENGTH = 2000;

/** Body of `POST /api/v1/sessions`. Unknown fields are rejected. */
export class CreateSessionDto {
  @ApiProperty({
    description:
      'Absolute path of an existing project directory (inside ALLOWED_PROJECT_ROOTS when set); stored as its canonical real path',
    example: '/tmp/myproject',
    maxLength: 4096,
  })
  @IsString()
  @MinLength(1)
  @MaxLength(4096)
  project_path!: string;

  @ApiPropertyOptional({
    type: String,
    description: 'Display name',
    example: 'calculator',
    maxLength: SESSION_NAME_MAX_LENGTH,
    nullable: true,
  })
  @IsOptional()
  @IsString()
  @MaxLength(SESSION_NAME_MAX_LENGTH)
  name?: string | null;

  @ApiPropertyOptional({
    type: String,
    description: 'Command that runs the generated tests (split into argv, never run by a shell)',
    example: 'npx jest',
    maxLength: COMMAND_MAX_LENGTH,
    nullable: true,
  })
  @IsOptional()
  @IsString()
  @Matches(/\S/, { message: 'test_command must not be blank' })
  @MaxLength(COMMAND_MAX_LENGTH)
  test_command?: string | null;

  @ApiPropertyOptional({
    type: String,
    description: "Command that runs the project's own regression suite",
    example: 'npm test',
    maxLength: COMMAND_MAX_LENGTH,
    nullable: true,
  })
  @IsOptional()
  @IsString()
  @Matches(/\S/, { message: 'regression_command must not be blank' })
  @MaxLength(COMMAND_MAX_LENGTH)
  regression_command?: string | null;
}
