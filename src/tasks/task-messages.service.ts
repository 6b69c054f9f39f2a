import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DomainError, ErrorCode } from 'src/common';
import { PreparedReads } from 'src/database';
import { ClaudeInteraction } from 'src/tasks/claude-interaction.entity';
import { NOT_WAITING_FOR_HUMAN_SQL } from 'src/tasks/human-wait';
import { HumanWaits } from 'src/tasks/human-waits.service';
import { TaskInterruptSignal } from 'src/tasks/task-interrupt-signal';
import { NewInteraction, TaskEventLog } from 'src/tasks/task-event-log.service';
import { isTerminal, TaskStatus, TERMINAL_STATUSES } from 'src/tasks/task-status';
import { TasksService } from 'src/tasks/tasks.service';

/** A person's message to a task, not yet given to its agent. */
export interface HumanMessage {
  id: number;
  content: string;
  /** Sent with `interrupt`: the agent turn under way is to end for it. */
  interrupt: boolean;
}

/** Whether a `human` record's data (JSON text, as stored) says it was sent with `interrupt`. */
function sentWithInterrupt(data: unknown): boolean {
  if (typeof data !== 'string' || !data.includes('"interrupt"')) return false;
  try {
    return (JSON.parse(data) as { interrupt?: unknown }).interrupt === true;
  } catch {
    return false;
  }
}

/** What a turn's prompt takes: the messages no turn was given, and how far they were read. */
export interface WaitingMessages {
  /** Oldest first. */
  messages: HumanMessage[];
  /**
   * The newest of the task's latest turn prompt and the messages (0 for none): a message stored
   * after it was not read (`noMessageAfter`).
   */
  readThrough: number;
}

/** The records that start an agent turn: messages stored before one of them were delivered by it. */
const TURN_PROMPTS = ['prompt', 'simulated_human'] as const;
const TURN_PROMPT_KINDS = TURN_PROMPTS.map((kind) => `'${kind}'`).join(', ');

const LAST_TURN_PROMPT_SQL = (taskId: string): string =>
  `COALESCE((SELECT MAX(p.id) FROM claude_interactions p WHERE p.task_id = ${taskId} AND p.kind IN ` +
  `(${TURN_PROMPT_KINDS})), 0)`;

/** The latest turn prompt (its id only) and every message after it, in one read. */
const WAITING_SQL =
  `SELECT id, kind, CASE WHEN kind = 'human' THEN content END AS content, ` +
  `CASE WHEN kind = 'human' THEN data END AS data FROM claude_interactions WHERE task_id = ? ` +
  `AND kind IN ('human', ${TURN_PROMPT_KINDS}) AND id >= ${LAST_TURN_PROMPT_SQL('?')} ORDER BY id`;

/**
 * Most messages a task holds that no agent turn has taken yet: a turn's prompt carries them all,
 * so more wait for the next turn (each message is at most 20 000 characters).
 */
export const MAX_UNDELIVERED_MESSAGES = 20;

/** A task row's condition: fewer than MAX_UNDELIVERED_MESSAGES messages no turn has taken. */
const ROOM_FOR_A_MESSAGE_SQL =
  `(SELECT COUNT(*) FROM claude_interactions h WHERE h.task_id = tasks.id AND h.kind = 'human' ` +
  `AND h.id > ${LAST_TURN_PROMPT_SQL('tasks.id')}) < ${MAX_UNDELIVERED_MESSAGES}`;

/**
 * The record that says which messages from a person (`ids`) no turn took, written before a
 * task's end so that whoever sent them knows the agent never read them.
 */
export function undeliveredMessagesRecord(
  ids: readonly number[],
  iteration: number,
): NewInteraction {
  return {
    kind: 'system',
    iteration,
    content: `${ids.length} message(s) from a person were not given to the agent: the task ended before another turn.`,
    data: { type: 'messages_undelivered', human_message_ids: [...ids] },
  };
}

function taskFinished(id: string, status: TaskStatus, cancelRequested = false): DomainError {
  return new DomainError(
    ErrorCode.TaskFinished,
    cancelRequested && !isTerminal(status)
      ? `Task ${id} is being cancelled; it takes no messages (retry it instead)`
      : `Task ${id} is ${status}; a finished task takes no messages (retry it instead)`,
    { status, cancel_requested: cancelRequested },
  );
}

/**
 * MESSAGES FROM A PERSON. `send` stores a `human` record through the event log, only while the
 * task is not finished (one conditional write). A message is delivered by the next agent turn
 * that starts after it: `undelivered` is every `human` record after the task's latest turn
 * prompt, oldest first, so nothing else needs to be marked and a run that resumes after a
 * restart finds the same ones. A message to a task waiting for a person (`waiting_for_human`)
 * also sends it back to the queue, in the write that stores it (`HumanWaits.answer`), to resume
 * with the message as its next turn's prompt. One sent
 * with `interrupt` also sets `interrupt_requested` in the same write, and tells a run on this
 * instance at once: the run ends the agent turn under way (if one is, and it started before the
 * message), and its next turn carries the message.
 */
@Injectable()
export class TaskMessages {
  private readonly reads: PreparedReads;

  constructor(
    private readonly tasks: TasksService,
    private readonly events: TaskEventLog,
    private readonly waits: HumanWaits,
    private readonly interrupts: TaskInterruptSignal,
    @InjectRepository(ClaudeInteraction)
    private readonly interactions: Repository<ClaudeInteraction>,
  ) {
    this.reads = new PreparedReads(interactions.manager.connection);
  }

  /**
   * Stores the message; 409 `task_finished` for a finished task, or one being cancelled (no turn
   * would take it), 409 `messages_pending` while MAX_UNDELIVERED_MESSAGES wait for a turn (one
   * conditional write: concurrent sends cannot pass the cap). Returns its record.
   */
  async send(taskId: string, content: string, interrupt = false): Promise<ClaudeInteraction> {
    const task = await this.tasks.findOne(taskId);
    if (isTerminal(task.status) || task.cancelRequested) {
      throw taskFinished(taskId, task.status, task.cancelRequested);
    }
    const record: NewInteraction = {
      kind: 'human',
      iteration: task.iteration,
      content,
      data: { source: 'api', ...(interrupt ? { interrupt: true } : {}) },
    };
    const patch = interrupt ? { interruptRequested: true } : {};
    // A task that waits for a person is sent back to the queue in the write that stores the
    // message; any other is only noted. It may begin or end its wait meanwhile: then the other
    // write is the one that fits.
    let stored: ClaudeInteraction | null = null;
    for (let round = 0; round < 2 && stored === null; round += 1) {
      stored =
        (await this.events.noteWhere({
          taskId,
          where:
            `status NOT IN (:...finished) AND cancel_requested = 0 AND ${ROOM_FOR_A_MESSAGE_SQL} ` +
            `AND ${NOT_WAITING_FOR_HUMAN_SQL}`,
          params: { finished: [...TERMINAL_STATUSES] },
          patch,
          record,
        })) ??
        (await this.waits.answer(
          taskId,
          task.iteration,
          record,
          `cancel_requested = 0 AND ${ROOM_FOR_A_MESSAGE_SQL}`,
          patch,
        ));
    }
    if (stored === null) {
      const now = await this.tasks.findOne(taskId);
      if (isTerminal(now.status) || now.cancelRequested) {
        throw taskFinished(taskId, now.status, now.cancelRequested);
      }
      throw new DomainError(
        ErrorCode.MessagesPending,
        `Task ${taskId} holds ${MAX_UNDELIVERED_MESSAGES} messages its agent has not taken yet; send more once its next turn has begun`,
        { max_undelivered_messages: MAX_UNDELIVERED_MESSAGES },
      );
    }
    if (interrupt) this.interrupts.interruptRequested(taskId);
    return stored;
  }

  /**
   * The id of the task's newest record (0 for none): a write conditional on no message after it
   * (`NO_MESSAGE_SINCE_SQL`) cannot miss one sent meanwhile.
   */
  async latestRecordId(taskId: string): Promise<number> {
    const rows = await this.interactions.query<{ id: number | string | null }[]>(
      'SELECT MAX(id) AS id FROM claude_interactions WHERE task_id = ?',
      [taskId],
    );
    return Number(rows[0]?.id ?? 0);
  }

  /**
   * The record to write before the end of a task no run holds (`undeliveredMessagesRecord`), in a
   * list: empty when every message was given to a turn.
   */
  async undeliveredNote(taskId: string, iteration: number): Promise<NewInteraction[]> {
    const ids = (await this.undelivered(taskId)).map((m) => m.id);
    return ids.length === 0 ? [] : [undeliveredMessagesRecord(ids, iteration)];
  }

  /** The task's messages no agent turn has been given yet, oldest first. */
  async undelivered(taskId: string): Promise<HumanMessage[]> {
    return (await this.waiting(taskId)).messages;
  }

  /**
   * The task's messages no agent turn has been given yet and how far they were read (one query:
   * every turn asks, and a run's end; through a statement prepared once on SQLite, not TypeORM's
   * query runner). A turn's prompt write is conditional on no message after `readThrough`:
   * one stored between this read and that write would otherwise count as given to the turn.
   */
  async waiting(taskId: string): Promise<WaitingMessages> {
    type Row = { id: number | string; kind: string; content: string | null; data: unknown };
    const rows = await this.reads.all<Row>(WAITING_SQL, [taskId, taskId]);
    const messages = rows
      .filter((row) => row.kind === 'human')
      .map((row) => ({
        id: Number(row.id),
        content: row.content ?? '',
        interrupt: sentWithInterrupt(row.data),
      }));
    return { messages, readThrough: Number(rows.at(-1)?.id ?? 0) };
  }
}
