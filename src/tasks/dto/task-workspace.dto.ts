import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsOptionalNotNull } from 'src/common';
import { GitRefProperty } from 'src/sessions';
import {
  FILE_CHANGE_STATUSES,
  MERGE_STRATEGIES,
  type FileChangeStatus,
  type MergeStrategy,
} from 'src/workspaces';
import { TaskResponseDto } from 'src/tasks/dto/task-response.dto';

const EXAMPLE_COMMIT = '64e1b21df1c67110aa908f16852723e32ad6f436';

export const DIFF_FORMATS = ['json', 'patch'] as const;

export type DiffFormat = (typeof DIFF_FORMATS)[number];

/** Query of `GET /api/v1/tasks/{id}/diff`. */
export class TaskDiffQueryDto {
  @ApiPropertyOptional({
    enum: DIFF_FORMATS,
    default: 'json',
    description:
      '`json` (files, line counts and the unified diff) or `patch` (the raw unified diff, text/x-diff)',
  })
  @IsOptional()
  @IsIn(DIFF_FORMATS)
  format: DiffFormat = 'json';
}

export class FileChangeDto {
  @ApiProperty({ example: 'src/multiply.js' })
  path!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'The path before a rename or copy',
  })
  old_path!: string | null;

  @ApiProperty({ enum: FILE_CHANGE_STATUSES, example: 'added' })
  status!: FileChangeStatus;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 7,
    description: 'null for a binary file',
  })
  additions!: number | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 0,
    description: 'null for a binary file',
  })
  deletions!: number | null;

  @ApiProperty({ example: false })
  binary!: boolean;
}

/** `GET /api/v1/tasks/{id}/diff`: the task's change against its base commit. */
export class TaskDiffResponseDto {
  @ApiProperty({ format: 'uuid', example: '9b2e7c1a-5d4f-4e3b-8a6c-1f2d3e4a5b6c' })
  task_id!: string;

  @ApiProperty({ example: EXAMPLE_COMMIT })
  base_commit!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: EXAMPLE_COMMIT,
    description:
      "The commit compared with the base (the task's head_commit); null while the task runs: then the workspace's files as they are now are compared",
  })
  head_commit!: string | null;

  @ApiProperty({
    example: false,
    description: 'The workspace as it is now (the task has not ended)',
  })
  live!: boolean;

  @ApiProperty({ type: [FileChangeDto], description: 'Every changed file (never cut)' })
  files!: FileChangeDto[];

  @ApiProperty({ type: 'integer', example: 7 })
  additions!: number;

  @ApiProperty({ type: 'integer', example: 0 })
  deletions!: number;

  @ApiProperty({
    example: 'diff --git a/src/multiply.js b/src/multiply.js\nnew file mode 100644\n...',
    description:
      'The unified diff, as `git diff <base_commit> <head_commit>` prints it; past DIFF_MAX_BYTES (in bytes) cut to the whole files that fit, test files first, then the smallest changes, the files that do not fit left out (`omitted_files`)',
  })
  patch!: string;

  @ApiProperty({ example: false, description: 'The patch was cut' })
  truncated!: boolean;

  @ApiProperty({
    type: [String],
    example: [],
    description:
      'The files whose diff the cut patch does not hold whole (empty when it was not cut); `files` still lists them with their line counts',
  })
  omitted_files!: string[];

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description:
      'What was cut, when it was; and which files named as source or text git shows as binary (their content not in the patch)',
  })
  note!: string | null;
}

/** Body of `POST /api/v1/tasks/{id}/merge`. */
export class MergeTaskDto {
  @GitRefProperty("The branch to merge into; default: the task's target_branch", false)
  target_branch?: string;

  @ApiPropertyOptional({
    enum: MERGE_STRATEGIES,
    default: 'merge',
    description:
      "`merge`: a merge commit with both histories; `squash`: one commit with the whole change on top of the target; `fast_forward`: the target moves to the task's commit (409 when it cannot)",
  })
  @IsOptionalNotNull()
  @IsIn(MERGE_STRATEGIES)
  strategy?: MergeStrategy;

  @ApiPropertyOptional({
    example: EXAMPLE_COMMIT,
    maxLength: 64,
    description:
      "The target branch's commit as you reviewed against it (the full id): when the target is elsewhere now, nothing is merged (409 `merge_refused`, `target_changed`)",
  })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(64)
  @Matches(/^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/, {
    message: '$property must be a full commit id (40 or 64 hexadecimal digits)',
  })
  expected_target_commit?: string;
}

/** `POST /api/v1/tasks/{id}/merge`: what the merge did, and the task afterwards. */
export class TaskMergeResponseDto {
  @ApiProperty({ example: 'main' })
  target_branch!: string;

  @ApiProperty({ enum: MERGE_STRATEGIES, example: 'merge' })
  strategy!: MergeStrategy;

  @ApiProperty({ example: EXAMPLE_COMMIT, description: "The target branch's new commit" })
  merge_commit!: string;

  @ApiProperty({ example: EXAMPLE_COMMIT, description: "The target branch's commit before" })
  previous_commit!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '/home/me/myproject',
    description: 'The working tree that has the target branch checked out and was updated with it',
  })
  updated_worktree!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description:
      "The task's branch's commit when the branch holds commits after the task's head commit (made after the review): they were not merged, only the head commit was (the task's history says so too)",
  })
  branch_ahead!: string | null;

  @ApiProperty({
    example: false,
    description:
      'The target already held the head commit (merged by hand, or by a merge whose record a restart cut off): nothing changed, merge_commit is the target commit that holds it, and the task is recorded as merged',
  })
  already_merged!: boolean;

  @ApiProperty({ type: TaskResponseDto })
  task!: TaskResponseDto;
}
