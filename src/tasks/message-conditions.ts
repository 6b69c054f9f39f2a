/** Conditions on a task row about a person's messages to it (SQL over the `tasks` row). */
const noMessageAfterSql = (after: string): string =>
  `NOT EXISTS (SELECT 1 FROM claude_interactions WHERE task_id = tasks.id AND kind = 'human' AND id > ${after})`;

/** A task row's condition: no message from a person stored after the record `:sinceId`. */
export const NO_MESSAGE_SINCE_SQL = noMessageAfterSql(':sinceId');

/** A task row's condition: no message from a person stored after the record `id`. */
export function noMessageAfter(id: number): string {
  if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`not a record id: ${id}`);
  return noMessageAfterSql(String(id));
}

/**
 * A write conditional on no message after those read (a turn's prompt, a task's end with its
 * `messages_undelivered` record) found a person's message stored since (the write was not made):
 * the writer reads the messages again and writes with them.
 */
export class LateMessageError extends Error {
  constructor(readonly taskId: string) {
    super(`A message to task ${taskId} arrived while a write that lists its messages was made`);
    this.name = 'LateMessageError';
  }
}
