import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { RequireScope } from 'src/access';
import { Audited } from 'src/audit';
import { API_PREFIX, ApiErrorResponses, ErrorCode, UuidParamPipe } from 'src/common';
import { TaskCancellationService } from 'src/orchestrator/task-cancellation.service';
import { TaskResponseDto, toTaskResponse } from 'src/tasks';

@ApiTags('tasks')
@Controller(`${API_PREFIX}/tasks`)
export class TaskCancelController {
  constructor(private readonly cancellation: TaskCancellationService) {}

  @Post(':id/cancel')
  @HttpCode(200)
  @RequireScope('tasks:write')
  @Audited('task.cancel', 'task')
  @ApiOperation({
    operationId: 'tasks_cancel',
    summary: 'Cancel a task',
    description:
      'A PENDING task becomes CANCELLED at once and never starts. A running task gets ' +
      '`cancel_requested: true`; its agent or test processes are ended and it becomes CANCELLED ' +
      'within seconds (poll its status). Repeating the call is harmless. A task that already ' +
      'COMPLETED or FAILED cannot be cancelled (409 `task_not_cancellable`).',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrorResponses(
    'write',
    ErrorCode.InvalidId,
    ErrorCode.Forbidden,
    ErrorCode.TaskNotFound,
    ErrorCode.TaskNotCancellable,
  )
  async cancel(@Param('id', UuidParamPipe) id: string): Promise<TaskResponseDto> {
    return toTaskResponse(await this.cancellation.cancel(id));
  }
}
