import { Body, Controller, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { RequireScope } from 'src/access';
import { Audited } from 'src/audit';
import { API_PREFIX, ApiErrorResponses, ErrorCode, UuidParamPipe } from 'src/common';
import { TaskMessageDto } from 'src/tasks/dto/task-message.dto';
import { InteractionResponseDto } from 'src/tasks/dto/task-response.dto';
import { toInteractionResponse } from 'src/tasks/task.mapper';
import { TaskMessages } from 'src/tasks/task-messages.service';

@ApiTags('messages')
@Controller(`${API_PREFIX}/tasks`)
export class TaskMessagesController {
  constructor(private readonly messages: TaskMessages) {}

  @Post(':id/messages')
  @RequireScope('tasks:write')
  @Audited('task.message', 'task')
  @ApiOperation({
    operationId: 'messages_send',
    summary: 'Send a message to the agent of a task',
    description:
      "Stores a `human` interaction. The task's next agent turn gets the messages sent since its last turn began, in order, ahead of the simulated human's prompt. A task PAUSED `waiting_for_human` resumes with them. With `interrupt: true` the agent turn under way is ended at once (as with Ctrl-C, the conversation kept) and the next turn starts with the messages. 409 `task_finished` for a COMPLETED, FAILED or CANCELLED task; 409 `messages_pending` while 20 messages wait for the next turn.",
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiCreatedResponse({ type: InteractionResponseDto })
  @ApiErrorResponses(
    'write',
    ErrorCode.InvalidId,
    ErrorCode.Forbidden,
    ErrorCode.TaskNotFound,
    ErrorCode.TaskFinished,
    ErrorCode.MessagesPending,
  )
  async send(
    @Param('id', UuidParamPipe) id: string,
    @Body() dto: TaskMessageDto,
  ): Promise<InteractionResponseDto> {
    return toInteractionResponse(await this.messages.send(id, dto.content, dto.interrupt ?? false));
  }
}
