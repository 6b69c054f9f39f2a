import { Repository } from 'typeorm';
import { Clock } from 'src/common';
import {
  ClaudeInteraction,
  isTerminal,
  Task,
  TaskRowReader,
  toInteractionResponse,
} from 'src/tasks';
import { TaskStreamEndDto } from 'src/events/dto/stream-event.dto';
import { TailRow, TailSource } from 'src/events/event-tail';
import { TaskEventReads } from 'src/events/task-event-reads';

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

  async end(): Promise<TaskStreamEndDto | null> {
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

/**
 * How long an id may be missing below newer events before a global stream takes it for one that
 * never comes (a write rolled back, a task deleted) and sends what follows it.
 */
export const MISSING_ID_WAIT_MS = 5000;

/**
 * The events of every task the filter lets through, each with its `task_id`; never over.
 *
 * Where ids are handed out at insert and seen at commit (MySQL: `idsInCommitOrder` false), two
 * tasks' writes may commit out of id order: a lower id shows after a higher one was read, and a
 * cursor past the higher one would skip it for good. (A task's own stream cannot: its writes take
 * its row's lock one after the other.) So such a stream sends an event only once every id below
 * it is there, or the newer event has been stored MISSING_ID_WAIT_MS ago (no write takes so long
 * to commit: the missing id will not come).
 */
export class GlobalEventSource implements TailSource {
  constructor(
    private readonly interactions: Repository<ClaudeInteraction>,
    private readonly filter: GlobalStreamFilter,
    private readonly idsInCommitOrder: boolean,
    /** The database's time, as the events' `created_at` were stamped by whichever instance. */
    private readonly clock: Clock,
  ) {}

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
    const rows = await this.settled(afterId, await query.getMany());
    return rows.map((row) => ({
      id: row.id,
      data: { task_id: row.taskId, ...toInteractionResponse(row) },
    }));
  }

  end(): Promise<null> {
    return Promise.resolve(null);
  }

  /**
   * Of `rows` (ascending, above `afterId`), those below the first id still missing that may yet
   * come: one above every event (of any task) stored MISSING_ID_WAIT_MS ago or earlier. Only the
   * ids of that recent stretch are looked at.
   */
  private async settled(afterId: number, rows: ClaudeInteraction[]): Promise<ClaudeInteraction[]> {
    if (this.idsInCommitOrder) return rows;
    const cutoff = new Date(this.clock.nowMs() - MISSING_ID_WAIT_MS);
    const recent = rows.findIndex((row) => row.createdAt > cutoff);
    if (recent === -1) return rows;
    // Below the newest event stored before the cutoff, nothing more comes: from there on.
    const older = await this.interactions
      .createQueryBuilder('i')
      .select('i.id', 'id')
      .where('i.id > :afterId AND i.id < :first AND i.created_at <= :cutoff', {
        afterId,
        first: rows[recent].id,
        cutoff,
      })
      .orderBy('i.id', 'DESC')
      .limit(1)
      .getRawOne<{ id: number | string }>();
    const from = Math.max(recent === 0 ? afterId : rows[recent - 1].id, Number(older?.id ?? 0));
    const ids = await this.interactions
      .createQueryBuilder('i')
      .select('i.id', 'id')
      .where('i.id > :from AND i.id <= :to', { from, to: rows[rows.length - 1].id })
      .orderBy('i.id', 'ASC')
      .getRawMany<{ id: number | string }>();
    let next = from + 1;
    for (const { id } of ids) {
      if (Number(id) !== next) break;
      next += 1;
    }
    return rows.filter((row) => row.id < next);
  }
}
