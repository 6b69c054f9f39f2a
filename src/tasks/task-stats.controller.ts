import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal, RequireScope } from 'src/access';
import { API_PREFIX, ApiErrorResponses } from 'src/common';
import { TaskStatsQueryDto, TaskStatsResponseDto } from 'src/tasks/dto/task-stats.dto';
import { TaskStatsService } from 'src/tasks/task-stats.service';

@ApiTags('stats')
@Controller(`${API_PREFIX}/stats`)
export class TaskStatsController {
  constructor(private readonly stats: TaskStatsService) {}

  @Get()
  @RequireScope('tasks:read')
  @ApiOperation({
    operationId: 'stats_get',
    summary:
      'Numbers over finished tasks: by status and reason, verified-completion rate, turns, test rounds and time to green, cost per verified task',
    description:
      "The key's own tasks (every task for an admin), optionally of one session and finished within [since, until).",
  })
  @ApiOkResponse({ type: TaskStatsResponseDto })
  @ApiErrorResponses('read')
  async get(
    @Query() query: TaskStatsQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<TaskStatsResponseDto> {
    return this.stats.stats(query, principal);
  }
}
