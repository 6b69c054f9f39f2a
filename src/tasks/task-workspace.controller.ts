import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Res,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiBody,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, Principal, RequireScope } from 'src/access';
import { Audited } from 'src/audit';
import { API_PREFIX, ApiErrorResponses, ErrorCode, UuidParamPipe } from 'src/common';
import {
  MergeTaskDto,
  TaskDiffQueryDto,
  TaskDiffResponseDto,
  TaskMergeResponseDto,
} from 'src/tasks/dto/task-workspace.dto';
import { toTaskDiffResponse } from 'src/tasks/task.mapper';
import { TaskWorkspaceService } from 'src/tasks/task-workspace.service';

@ApiTags('tasks')
@Controller(`${API_PREFIX}/tasks`)
export class TaskWorkspaceController {
  constructor(private readonly workspaces: TaskWorkspaceService) {}

  @Get(':id/diff')
  @RequireScope('tasks:read')
  @ApiOperation({
    operationId: 'tasks_diff',
    summary: "The task's change against its base commit",
    description:
      "Per file: status and lines added and removed, and the unified diff (what `git diff <base_commit> <head_commit>` prints). While the task runs, the workspace's files as they are now; after it ended, its head commit. Past DIFF_MAX_BYTES (in bytes) the patch holds whole files only, test files first, then the smallest changes: a file that does not fit in what is left is left out and the files after it still tried, so a large file does not crowd out the rest (`truncated`, `omitted_files` and `note` say so). `?format=patch` answers the raw patch as text/x-diff (the `X-Diff-Truncated` header says whether it was cut). 409 `workspace_unavailable` for a task that works in place; 409 `diff_too_large` for a change whose list of files alone is longer than 16 MiB (some 100,000 files), to be read with git.",
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiExtraModels(TaskDiffResponseDto)
  @ApiOkResponse({
    description: 'The diff as JSON, or (`format=patch`) the raw patch',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(TaskDiffResponseDto) } },
      'text/x-diff': { schema: { type: 'string' } },
    },
  })
  @ApiErrorResponses(
    'read',
    ErrorCode.InvalidId,
    ErrorCode.TaskNotFound,
    ErrorCode.WorkspaceUnavailable,
    ErrorCode.DiffTooLarge,
  )
  async diff(
    @Param('id', UuidParamPipe) id: string,
    @Query() query: TaskDiffQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TaskDiffResponseDto | StreamableFile> {
    const { task, diff, live } = await this.workspaces.diff(id);
    if (query.format === 'json') return toTaskDiffResponse(task, diff, live);
    res.setHeader('X-Diff-Truncated', String(diff.truncated));
    return new StreamableFile(diff.patch, { type: 'text/x-diff; charset=utf-8' });
  }

  @Post(':id/merge')
  @HttpCode(200)
  @RequireScope('tasks:write')
  @Audited(
    'task.merge',
    'task',
    ['target_branch', 'strategy', 'expected_target_commit'],
    ['target_branch', 'strategy', 'merge_commit', 'previous_commit', 'already_merged'],
  )
  @ApiOperation({
    operationId: 'tasks_merge',
    summary: "Merge a COMPLETED task's branch",
    description:
      "Merges the task's head commit into `target_branch` (default: the task's target_branch) with `strategy` `merge` (default), `squash` or `fast_forward`, without a working tree. When the target is checked out in the project's working tree, that tree is updated too, and the merge is refused (409 `working_tree_dirty`) while it has uncommitted changes, or untracked files (ignored ones too) where the merge adds files. A target that is a symbolic ref is 400 `merge_target_invalid` (`details.symbolic_ref_to`). A conflict is 409 `merge_conflict` listing the files, and changes nothing. Only the reviewed change (the diff from `base_commit` to `head_commit`) is merged: 409 `merge_refused` with `details.reason` `base_not_in_target` when the target does not hold `base_commit` (a task based on another branch, a target reset since: git would bring in the commits between them too), `head_not_from_base` when `head_commit` does not descend from `base_commit`, `target_changed` when `expected_target_commit` is given and the target is elsewhere, `target_being_rebased` / `target_being_bisected` while a worktree of the repository rebases or bisects the target; also `target_in_workspace`, `target_moved`, `worktree_locked`, `worktree_lock_stale`, `worktree_update_interrupted`, `merge_interrupted`. 409 `git_config_changed` (`details.files`) when the repository's git configuration, hooks or `info/` files changed since the task's workspace was set up. The task records `merged_at`, `merge_commit` and `merged_into`.",
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiBody({ type: MergeTaskDto, required: false })
  @ApiOkResponse({ type: TaskMergeResponseDto })
  @ApiErrorResponses(
    'write',
    ErrorCode.InvalidId,
    ErrorCode.MergeTargetInvalid,
    ErrorCode.Forbidden,
    ErrorCode.TaskNotFound,
    ErrorCode.WorkspaceUnavailable,
    ErrorCode.TaskNotMergeable,
    ErrorCode.MergeConflict,
    ErrorCode.MergeNotFastForward,
    ErrorCode.WorkingTreeDirty,
    ErrorCode.MergeRefused,
    ErrorCode.GitConfigChanged,
  )
  async merge(
    @Param('id', UuidParamPipe) id: string,
    @Body() dto: MergeTaskDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<TaskMergeResponseDto> {
    return this.workspaces.merge(id, dto, principal);
  }
}
