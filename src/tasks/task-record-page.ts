import { FindOptionsOrder, FindOptionsWhere, MoreThan, Repository } from 'typeorm';

/** A page of a task's records by id: those above `after_id`, oldest first, and how many there are. */
export interface TaskRecordPage<R> {
  items: R[];
  next_after_id: number;
  total: number;
}

/**
 * One page of a task's records of one table (interactions, test cases), as the API answers it: up
 * to `limit` rows with ids above `after_id` in id order, the cursor for the next page (the last id,
 * or `after_id` again when the page is empty) and the task's count of them.
 */
export async function taskRecordPage<E extends { id: number; taskId: string }, R>(
  rows: Repository<E>,
  taskId: string,
  query: { after_id: number; limit: number },
  toResponse: (row: E) => R,
): Promise<TaskRecordPage<R>> {
  const ofTask = { taskId } as FindOptionsWhere<E>;
  const [items, total] = await Promise.all([
    rows.find({
      where: { ...ofTask, id: MoreThan(query.after_id) } as FindOptionsWhere<E>,
      order: { id: 'ASC' } as FindOptionsOrder<E>,
      take: query.limit,
    }),
    rows.countBy(ofTask),
  ]);
  return {
    items: items.map(toResponse),
    next_after_id: items.length > 0 ? items[items.length - 1].id : query.after_id,
    total,
  };
}
