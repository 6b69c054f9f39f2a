import { FindOptionsOrder, FindOptionsWhere, In, Repository } from 'typeorm';

/**
 * Most stored text (bytes of its long columns, as the database counts them) one page of a task's
 * records carries: an interaction holds up to 256 KiB of content and 64 KiB of data, so 500 of
 * them could make a 160 MB answer, built whole in memory, for any reader asking again and again.
 * The records past it wait for the next page; the first always comes.
 */
export const RECORD_PAGE_MAX_BYTES = 4 * 1024 * 1024;

/** A page of a task's records by id: those above `after_id`, oldest first, and how many there are. */
export interface TaskRecordPage<R> {
  items: R[];
  next_after_id: number;
  /** Whether records with larger ids were stored when the page was read. */
  has_more: boolean;
  total: number;
}

/** One table of a task's records (interactions, test cases) and how to weigh a row. */
export interface TaskRecords<E extends { id: number; taskId: string }> {
  rows: Repository<E>;
  /** SQL for a row's size in bytes, on alias `r`: its long text columns' lengths summed. */
  sizeSql: string;
}

/**
 * The ids of up to `limit` of the task's records in `order` (above `afterId` when given) whose
 * sizes add up to at most RECORD_PAGE_MAX_BYTES (the first whatever its size), and whether more
 * followed them. Sizes are read first, without the rows' text.
 */
export async function recordIdsWithin<E extends { id: number; taskId: string }>(
  records: TaskRecords<E>,
  taskId: string,
  order: 'ASC' | 'DESC',
  limit: number,
  afterId?: number,
): Promise<{ ids: number[]; more: boolean }> {
  const query = records.rows
    .createQueryBuilder('r')
    .select('r.id', 'id')
    .addSelect(records.sizeSql, 'size')
    .where('r.task_id = :taskId', { taskId })
    .orderBy('r.id', order)
    .limit(limit + 1);
  if (afterId !== undefined) query.andWhere('r.id > :afterId', { afterId });
  const sizes = await query.getRawMany<{ id: number | string; size: number | string | null }>();
  const ids: number[] = [];
  let bytes = 0;
  for (const row of sizes.slice(0, limit)) {
    bytes += Number(row.size ?? 0);
    if (ids.length > 0 && bytes > RECORD_PAGE_MAX_BYTES) break;
    ids.push(Number(row.id));
  }
  return { ids, more: sizes.length > ids.length };
}

/** The records of `ids`, in `order`. */
export function recordsOf<E extends { id: number; taskId: string }>(
  records: TaskRecords<E>,
  ids: readonly number[],
  order: 'ASC' | 'DESC',
): Promise<E[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return records.rows.find({
    where: { id: In([...ids]) } as FindOptionsWhere<E>,
    order: { id: order } as FindOptionsOrder<E>,
  });
}

/**
 * One page of a task's records of one table (interactions, test cases), as the API answers it: up
 * to `limit` rows with ids above `after_id` in id order, no more than RECORD_PAGE_MAX_BYTES of them
 * (`has_more` says whether more follow), the cursor for the next page (the last id, or `after_id`
 * again when the page is empty) and the task's count of them.
 */
export async function taskRecordPage<E extends { id: number; taskId: string }, R>(
  records: TaskRecords<E>,
  taskId: string,
  query: { after_id: number; limit: number },
  toResponse: (row: E) => R,
): Promise<TaskRecordPage<R>> {
  const [{ ids, more }, total] = await Promise.all([
    recordIdsWithin(records, taskId, 'ASC', query.limit, query.after_id),
    records.rows.countBy({ taskId } as FindOptionsWhere<E>),
  ]);
  const items = await recordsOf(records, ids, 'ASC');
  return {
    items: items.map(toResponse),
    next_after_id: items.length > 0 ? items[items.length - 1].id : query.after_id,
    has_more: more,
    total,
  };
}
