import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsString, Matches, MaxLength } from 'class-validator';
import { IsOptionalNotNull, NoNulCharacter } from 'src/common';

export const MESSAGE_MAX_LENGTH = 20000;

/** Body of `POST /api/v1/tasks/{id}/messages`. */
export class TaskMessageDto {
  @ApiProperty({
    example: 'Please keep the old function signature.',
    maxLength: MESSAGE_MAX_LENGTH,
    pattern: '\\S',
  })
  @IsString()
  @Matches(/\S/, { message: 'content must not be blank' })
  @NoNulCharacter('content')
  @MaxLength(MESSAGE_MAX_LENGTH)
  content!: string;

  @ApiPropertyOptional({
    default: false,
    description:
      'End the agent turn under way now (the CLI is interrupted as with Ctrl-C; its conversation is kept), so that the next turn starts at once with this message instead of after the current one. It changes nothing while no agent turn runs (the tests run, or the task waits): the next turn takes the message as always',
  })
  @IsOptionalNotNull()
  @IsBoolean()
  interrupt?: boolean;
}
