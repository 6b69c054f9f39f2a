import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from 'src/common/dto/api-error-responses.decorator';
import { API_PREFIX } from 'src/common/http/api-paths';
import { UuidParamPipe } from 'src/common/http/uuid-param.pipe';
import { TaskCancellationService } from 'src/tasks/orchestrator/task-cancellation.service';
import { TaskResponseDto } from 'src/tasks/dto/task-response.dto';
import { toTaskResponse } from 'src/tasks/task.mapper';

@ApiTags('tasks')
@Controller(`${API_PREFIX}/tasks`)
export class TaskCancelController {
  constructor(private readonly cancellation: TaskCancellationService) {}

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel a task',
    description:
      'A PENDING task becomes CANCELLED at once and never starts. A running task gets ' +
      '`cancel_requested: true`; its agent or test processes are ended and it becomes CANCELLED ' +
      'within seconds (poll its status). Repeating the call is harmless. A task that already ' +
      'COMPLETED or FAILED cannot be cancelled (409 `task_not_cancellable`).',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrorResponses(400, 404, 409)
  async cancel(@Param('id', UuidParamPipe) id: string): Promise<TaskResponseDto> {
    return toTaskResponse(await this.cancellation.cancel(id));
  }
}
