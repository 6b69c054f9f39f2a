import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { API_PREFIX, ApiErrorResponses, UuidParamPipe } from 'src/common';
import { SessionsService } from 'src/sessions';
import { TaskPageDto } from 'src/tasks/dto/task-response.dto';
import { SessionTaskListQueryDto } from 'src/tasks/dto/session-task-list-query.dto';
import { TasksService } from 'src/tasks/tasks.service';

/** `GET /sessions/{id}/tasks`: a session's tasks (here, as the Sessions module knows no tasks). */
@ApiTags('sessions')
@Controller(`${API_PREFIX}/sessions`)
export class SessionTasksController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly tasks: TasksService,
  ) {}

  @Get(':id/tasks')
  @ApiOperation({ summary: "List a session's tasks, newest first" })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: TaskPageDto })
  @ApiErrorResponses(400, 404)
  async listTasks(
    @Param('id', UuidParamPipe) id: string,
    @Query() query: SessionTaskListQueryDto,
  ): Promise<TaskPageDto> {
    await this.sessions.findOne(id);
    return this.tasks.list({ ...query, session_id: id });
  }
}
