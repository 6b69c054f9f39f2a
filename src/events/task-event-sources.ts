import { Repository } from 'typeorm';
import {
  ClaudeInteraction,
  isTerminal,
  Task,
  TaskRowReader,
  toInteractionResponse,
} from 'src/tasks';
import { TailRow, TailSource } from 'src/events/event-tail';
import { TaskEventReads } from 'src/events/task-event-reads';

/** What the `end` frame of a task's stream says. */
export interface TaskStreamEnd {
  task_id: string;
  /** The final status; null when the task was deleted. */
  status: string | null;
  status_reason: string | null;
}

/** One task's events, as `GET /tasks/{id}/interactions` shows them; over once it finished. */
export class TaskEventSource implements TailSource {
  constructor(
    private readonly reads: TaskEventReads,
    private readonly rows: TaskRowReader,
    private readonly taskId: string,
  ) {}

  async after(afterId: number, limit: number): Promise<TailRow[]> {
    const rows = await this.reads.after(this.taskId, afterId, limit);
    return rows.map((row) => ({ id: row.id, data: toInteractionResponse(row) }));
  }

  async end(): Promise<TaskStreamEnd | null> {
    const task = await this.rows.read(this.taskId, ['status', 'statusReason']);
    if (task === null) return { task_id: this.taskId, status: null, status_reason: null };
    if (!isTerminal(task.status)) return null;
    return { task_id: this.taskId, status: task.status, status_reason: task.statusReason };
  }
}

/** Which tasks a global stream shows. */
export interface GlobalStreamFilter {
  /** Only tasks of this key (undefined: every task, for admins). */
  ownerKeyId: string | undefined;
  sessionId: string | undefined;
}

/** The events of every task the filter lets through, each with its `task_id`; never over. */
export class GlobalEventSource implements TailSource {
  constructor(
    private readonly interactions: Repository<ClaudeInteraction>,
    private readonly filter: GlobalStreamFilter,
  ) {}

  /** The id of the newest event (where a stream without a cursor starts). */
  async latestId(): Promise<number> {
    const row = await this.interactions
      .createQueryBuilder('i')
      .select('MAX(i.id)', 'max')
      .getRawOne<{ max: number | string | null }>();
    return Number(row?.max ?? 0);
  }

  async after(afterId: number, limit: number): Promise<TailRow[]> {
    const query = this.interactions
      .createQueryBuilder('i')
      .innerJoin(Task, 't', 't.id = i.task_id')
      .where('i.id > :afterId', { afterId })
      .orderBy('i.id', 'ASC')
      .limit(limit);
    if (this.filter.ownerKeyId !== undefined) {
      query.andWhere('t.owner_key_id = :owner', { owner: this.filter.ownerKeyId });
    }
    if (this.filter.sessionId !== undefined) {
      query.andWhere('t.session_id = :session', { session: this.filter.sessionId });
    }
    const rows = await query.getMany();
    return rows.map((row) => ({
      id: row.id,
      data: { task_id: row.taskId, ...toInteractionResponse(row) },
    }));
  }

  end(): Promise<null> {
    return Promise.resolve(null);
  }
}
