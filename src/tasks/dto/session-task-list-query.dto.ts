import { OmitType } from '@nestjs/swagger';
import { TaskListQueryDto } from 'src/tasks/dto/task-list-query.dto';

/** `GET /api/v1/sessions/{id}/tasks` query: the task list's, minus `session_id` (the path's). */
export class SessionTaskListQueryDto extends OmitType(TaskListQueryDto, ['session_id'] as const) {}
