import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { NoNulCharacter } from 'src/common';

export const MESSAGE_MAX_LENGTH = 20000;

/** Body of `POST /api/v1/tasks/{id}/messages`. */
export class TaskMessageDto {
  @ApiProperty({
    example: 'Please keep the old function signature.',
    maxLength: MESSAGE_MAX_LENGTH,
  })
  @IsString()
  @Matches(/\S/, { message: 'content must not be blank' })
  @NoNulCharacter('content')
  @MaxLength(MESSAGE_MAX_LENGTH)
  content!: string;
}
