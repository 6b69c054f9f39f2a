import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { QueryInteger } from 'src/common';
import { InteractionResponseDto } from 'src/tasks/dto/task-response.dto';

export const DEFAULT_INTERACTION_PAGE_SIZE = 100;
export const MAX_INTERACTION_PAGE_SIZE = 500;

/** `GET /api/v1/tasks/{id}/interactions` query: a cursor over the monotonic interaction ids. */
export class InteractionPageQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    default: 0,
    description: 'Only interactions with a larger id: pass the previous page’s `next_after_id`',
    example: 0,
  })
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after_id: number = 0;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_INTERACTION_PAGE_SIZE,
    default: DEFAULT_INTERACTION_PAGE_SIZE,
    example: 100,
  })
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(1)
  @Max(MAX_INTERACTION_PAGE_SIZE)
  limit: number = DEFAULT_INTERACTION_PAGE_SIZE;
}

/** One page of a task's interactions, oldest first. */
export class InteractionPageDto {
  @ApiProperty({ type: [InteractionResponseDto], description: 'Ordered by id' })
  items!: InteractionResponseDto[];

  @ApiProperty({
    type: 'integer',
    description:
      'The next page’s `after_id`: the last id of this page, or the `after_id` asked for when the page is empty (poll again with it to follow a running task)',
    example: 100,
  })
  next_after_id!: number;

  @ApiProperty({
    description:
      'Whether more were stored after this page when it was read: a page stops at `limit`, or before it once it holds about 4 MiB of text (the first always comes)',
    example: false,
  })
  has_more!: boolean;

  @ApiProperty({
    type: 'integer',
    description: 'Interactions stored for the task in all',
    example: 250,
  })
  total!: number;
}
