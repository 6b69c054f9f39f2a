import { Body, Controller, Param, Post } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal, RequireScope } from 'src/access';
import { Audited } from 'src/audit';
import { API_PREFIX, ApiErrorResponses, ErrorCode, UuidParamPipe } from 'src/common';
import { RetryTaskDto } from 'src/tasks/dto/retry-task.dto';
import { TaskResponseDto } from 'src/tasks/dto/task-response.dto';
import { toTaskResponse } from 'src/tasks/task.mapper';
import { TaskRetryService } from 'src/tasks/task-retry.service';

@ApiTags('tasks')
@Controller(`${API_PREFIX}/tasks`)
export class TaskRetryController {
  constructor(private readonly retries: TaskRetryService) {}

  @Post(':id/retry')
  @RequireScope('tasks:write')
  @Audited('task.retry', 'task')
  @ApiOperation({
    operationId: 'tasks_retry',
    summary: 'Retry a FAILED or CANCELLED task as a new task',
    description:
      "A new PENDING task in the same session with the same description and limits (the body may change them), linked both ways (`retry_of`, `retried_by`). `continue_conversation: true` resumes the old task's agent conversation. 409 `task_not_retryable` for a task in another status or retried already; 409 `git_config_changed` (naming the files) for a task that failed on a change to the repository's git configuration that is still there.",
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiBody({ type: RetryTaskDto, required: false })
  @ApiCreatedResponse({ type: TaskResponseDto })
  // The new task is made as a created one is (`TasksService.createWith`): its checks' codes too.
  @ApiErrorResponses(
    'write',
    ErrorCode.InvalidId,
    ErrorCode.ProjectPathInvalid,
    ErrorCode.Forbidden,
    ErrorCode.ProjectPathNotAllowed,
    ErrorCode.TaskNotFound,
    ErrorCode.SessionNotFound,
    ErrorCode.TaskNotRetryable,
    ErrorCode.WorkspaceUnavailable,
    ErrorCode.GitConfigChanged,
    ErrorCode.QueueFull,
    ErrorCode.ShuttingDown,
  )
  async retry(
    @Param('id', UuidParamPipe) id: string,
    @Body() dto: RetryTaskDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<TaskResponseDto> {
    return toTaskResponse(await this.retries.retry(id, dto, principal));
  }
}
