import { ApiProperty } from '@nestjs/swagger';

export class DatabaseHealthDto {
  @ApiProperty({ enum: ['up', 'down'], example: 'up' })
  status!: 'up' | 'down';

  @ApiProperty({ example: 'better-sqlite3' })
  type!: string;

  @ApiProperty({ type: String, nullable: true, example: null })
  error!: string | null;
}

export class ClaudeCliHealthDto {
  @ApiProperty({ example: 'claude' })
  command!: string;

  @ApiProperty({ example: true })
  available!: boolean;

  @ApiProperty({ type: String, nullable: true, example: '2.1.197' })
  version!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'e.g. "not found at claude"',
  })
  error!: string | null;
}

export class HealthResponseDto {
  @ApiProperty({
    enum: ['ok', 'error'],
    example: 'ok',
    description: '"error" (and HTTP 503) only when the database is down',
  })
  status!: 'ok' | 'error';

  @ApiProperty({ type: DatabaseHealthDto })
  database!: DatabaseHealthDto;

  @ApiProperty({
    type: ClaudeCliHealthDto,
    description: 'A missing CLI is reported here but does not fail the check',
  })
  claude_cli!: ClaudeCliHealthDto;
}
