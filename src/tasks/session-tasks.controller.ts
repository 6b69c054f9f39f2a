import { Controller, Delete, Get, HttpCode, Param, Query } from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Principal, RequireScope } from 'src/access';
import { Audited } from 'src/audit';
import { API_PREFIX, ApiErrorResponses, ErrorCode, UuidParamPipe } from 'src/common';
import { SessionsService } from 'src/sessions';
import { TaskPageDto } from 'src/tasks/dto/task-response.dto';
import { SessionTaskListQueryDto } from 'src/tasks/dto/session-task-list-query.dto';
import { TasksService } from 'src/tasks/tasks.service';

/**
 * The session routes that concern its tasks: listing them, and deleting the session with them
 * (refused while one runs). They live here because the Sessions module knows nothing of tasks.
 */
@ApiTags('sessions')
@Controller(`${API_PREFIX}/sessions`)
export class SessionTasksController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly tasks: TasksService,
  ) {}

  @Get(':id/tasks')
  @RequireScope('tasks:read')
  @ApiOperation({
    operationId: 'sessions_listTasks',
    summary: "List a session's tasks, newest first",
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: TaskPageDto })
  @ApiErrorResponses('read', ErrorCode.InvalidId, ErrorCode.SessionNotFound)
  async listTasks(
    @Param('id', UuidParamPipe) id: string,
    @Query() query: SessionTaskListQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<TaskPageDto> {
    await this.sessions.findVisible(id, principal);
    return this.tasks.list({ ...query, session_id: id }, principal);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('tasks:write')
  @Audited('session.delete', 'session')
  @ApiOperation({
    operationId: 'sessions_remove',
    summary: 'Delete a session and its tasks (409 while one of them is running)',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrorResponses(
    'write',
    ErrorCode.InvalidId,
    ErrorCode.Forbidden,
    ErrorCode.SessionNotFound,
    ErrorCode.SessionHasActiveTasks,
  )
  async remove(@Param('id', UuidParamPipe) id: string): Promise<void> {
    await this.tasks.removeSession(id);
  }
}
