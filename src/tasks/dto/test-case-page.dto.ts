import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { QueryInteger } from 'src/common';
import { TestCaseResponseDto } from 'src/tasks/dto/task-response.dto';

export const DEFAULT_TEST_CASE_PAGE_SIZE = 100;
export const MAX_TEST_CASE_PAGE_SIZE = 200;

/** `GET /api/v1/tasks/{id}/test-cases` query: a cursor over the monotonic test case ids. */
export class TestCasePageQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    default: 0,
    description: 'Only test cases with a larger id: pass the previous page’s `next_after_id`',
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
    maximum: MAX_TEST_CASE_PAGE_SIZE,
    default: DEFAULT_TEST_CASE_PAGE_SIZE,
    example: 100,
  })
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(1)
  @Max(MAX_TEST_CASE_PAGE_SIZE)
  limit: number = DEFAULT_TEST_CASE_PAGE_SIZE;
}

/** One page of a task's test cases, oldest first. */
export class TestCasePageDto {
  @ApiProperty({ type: [TestCaseResponseDto], description: 'Ordered by id' })
  items!: TestCaseResponseDto[];

  @ApiProperty({
    type: 'integer',
    description:
      'The next page’s `after_id`: the last id of this page, or the `after_id` asked for when the page is empty',
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
    description: 'Test cases stored for the task in all',
    example: 250,
  })
  total!: number;
}
