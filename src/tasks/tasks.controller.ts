import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Principal, RequireScope } from 'src/access';
import { Audited } from 'src/audit';
import { API_PREFIX, ApiErrorResponses, ErrorCode, UuidParamPipe } from 'src/common';
import {
  CurrentIdempotencyClaim,
  IDEMPOTENCY_ERRORS,
  IdempotencyClaim,
  Idempotent,
} from 'src/idempotency';
import { CreateTaskDto } from 'src/tasks/dto/create-task.dto';
import { InteractionPageDto, InteractionPageQueryDto } from 'src/tasks/dto/interaction-page.dto';
import {
  TaskDetailResponseDto,
  TaskPageDto,
  TaskResponseDto,
  TaskStatusResponseDto,
} from 'src/tasks/dto/task-response.dto';
import { TaskListQueryDto } from 'src/tasks/dto/task-list-query.dto';
import { TaskVerificationResponseDto } from 'src/tasks/dto/task-verification.dto';
import { TestCasePageDto, TestCasePageQueryDto } from 'src/tasks/dto/test-case-page.dto';
import { toTaskResponse } from 'src/tasks/task.mapper';
import { TasksService } from 'src/tasks/tasks.service';

@ApiTags('tasks')
@Controller(`${API_PREFIX}/tasks`)
export class TasksController {
  constructor(private readonly tasks: TasksService) {}

  @Post()
  @Idempotent()
  @RequireScope('tasks:write')
  @Audited('task.create', 'task', ['session_id'])
  @ApiOperation({
    operationId: 'tasks_create',
    summary: 'Create a task',
    description:
      "Stores the task as PENDING in its session (one the key owns; admins: any); the queue starts it. 400 `project_path_invalid` (403 `project_path_not_allowed`) when the session's project_path breaks the project_path rules as they are now (stored before a rule existed, or its directory changed since). 400 `validation_failed` (`base_ref`) when the task would start from a branch longer than 255 characters, the longest `target_branch` (the branch checked out in the project, or the one base_ref names): name a commit or a tag as base_ref. 409 `git_config_changed` (`details.files`; `details.failed_task` when the key may see that task) while the repository's git configuration still holds a change that failed one of its tasks `git_config_changed`: undo it, or delete that task to accept it (another key's task is not named: its owner or an administrator has to act). 429 `queue_full` when too many tasks are queued.",
  })
  @ApiCreatedResponse({ type: TaskResponseDto })
  @ApiErrorResponses(
    'write',
    ErrorCode.ProjectPathInvalid,
    ErrorCode.Forbidden,
    ErrorCode.ProjectPathNotAllowed,
    ErrorCode.SessionNotFound,
    ErrorCode.WorkspaceUnavailable,
    ErrorCode.GitConfigChanged,
    ErrorCode.QueueFull,
    ErrorCode.ShuttingDown,
    ...IDEMPOTENCY_ERRORS,
  )
  async create(
    @Body() dto: CreateTaskDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentIdempotencyClaim() claim: IdempotencyClaim | null,
  ): Promise<TaskResponseDto> {
    return toTaskResponse(await this.tasks.create(dto, principal, undefined, claim));
  }

  @Get()
  @RequireScope('tasks:read')
  @ApiOperation({
    operationId: 'tasks_list',
    summary:
      "List tasks, newest first, filtered by status and session (the key's own; every one for admins)",
  })
  @ApiOkResponse({ type: TaskPageDto })
  @ApiErrorResponses('read')
  async list(
    @Query() query: TaskListQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<TaskPageDto> {
    return this.tasks.list(query, principal);
  }

  @Get(':id')
  @RequireScope('tasks:read')
  @ApiOperation({
    operationId: 'tasks_findOne',
    summary: 'Get full task details: the latest 500 interactions and the latest 100 test cases',
    description:
      '`interactions_total` and `test_cases_total` count them all; page through them with `/interactions` and `/test-cases`.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: TaskDetailResponseDto })
  @ApiErrorResponses('read', ErrorCode.InvalidId, ErrorCode.TaskNotFound)
  async findOne(@Param('id', UuidParamPipe) id: string): Promise<TaskDetailResponseDto> {
    return this.tasks.getDetails(id);
  }

  @Get(':id/interactions')
  @RequireScope('tasks:read')
  @ApiOperation({
    operationId: 'tasks_interactions',
    summary: "Page through a task's interactions, oldest first",
    description:
      'A cursor over the monotonic interaction ids: pass `next_after_id` as `after_id` for the next page. Polling with the last id seen follows a running task.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: InteractionPageDto })
  @ApiErrorResponses('read', ErrorCode.InvalidId, ErrorCode.TaskNotFound)
  async interactions(
    @Param('id', UuidParamPipe) id: string,
    @Query() query: InteractionPageQueryDto,
  ): Promise<InteractionPageDto> {
    return this.tasks.listInteractions(id, query);
  }

  @Get(':id/test-cases')
  @RequireScope('tasks:read')
  @ApiOperation({
    operationId: 'tasks_testCases',
    summary: "Page through a task's test cases, oldest first",
    description:
      'A cursor over the monotonic test case ids: pass `next_after_id` as `after_id` for the next page.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: TestCasePageDto })
  @ApiErrorResponses('read', ErrorCode.InvalidId, ErrorCode.TaskNotFound)
  async testCases(
    @Param('id', UuidParamPipe) id: string,
    @Query() query: TestCasePageQueryDto,
  ): Promise<TestCasePageDto> {
    return this.tasks.listTestCases(id, query);
  }

  @Get(':id/status')
  @RequireScope('tasks:read')
  @ApiOperation({ operationId: 'tasks_status', summary: 'Get the task status summary' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: TaskStatusResponseDto })
  @ApiErrorResponses('read', ErrorCode.InvalidId, ErrorCode.TaskNotFound)
  // Not `async`: the service's promise as it is, one promise fewer on the route polled most.
  status(@Param('id', UuidParamPipe) id: string): Promise<TaskStatusResponseDto> {
    return this.tasks.getStatus(id);
  }

  @Get(':id/verification')
  @RequireScope('tasks:read')
  @ApiOperation({
    operationId: 'tasks_verification',
    summary: "Get the evidence behind a task's verdict",
    description:
      'Base and head commits; the regression baseline, the generated tests on the change and at the base commit, the regression run (and its rerun): command, exit code, duration, counts, output excerpt; pre-existing and new failures, flaky tests, weakened tests, what was not checked, and the verdict with its reason.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: TaskVerificationResponseDto })
  @ApiErrorResponses('read', ErrorCode.InvalidId, ErrorCode.TaskNotFound)
  async verification(@Param('id', UuidParamPipe) id: string): Promise<TaskVerificationResponseDto> {
    return this.tasks.getVerification(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('tasks:write')
  @Audited('task.delete', 'task')
  @ApiOperation({
    operationId: 'tasks_remove',
    summary: 'Delete a task that is PENDING or finished (409 otherwise)',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrorResponses(
    'write',
    ErrorCode.InvalidId,
    ErrorCode.Forbidden,
    ErrorCode.TaskNotFound,
    ErrorCode.TaskNotDeletable,
  )
  async remove(@Param('id', UuidParamPipe) id: string): Promise<void> {
    await this.tasks.remove(id);
  }
}
