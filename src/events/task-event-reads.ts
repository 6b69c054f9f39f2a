import { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { hydrateRow } from 'src/database';
import { ClaudeInteraction } from 'src/tasks';

/**
 * THE READ A TASK'S STREAM MAKES ON EVERY WAKE-UP (its events after an id) as plain SQL whose
 * text is built once, so the driver keeps it prepared (better-sqlite3's driver caches statements
 * by text; MySQL gets the same text each time). Values are converted as TypeORM reads them. A
 * repository's `find` rebuilt the query on every call: ten times the CPU of the read, paid once
 * per printed line by every stream of the task. (Whether the task is over is read through
 * `TaskRowReader`, the same way.)
 */
export class TaskEventReads {
  private readonly sql: string;
  private readonly columns: ColumnMetadata[];

  constructor(private readonly dataSource: DataSource) {
    const interactions = dataSource.getMetadata(ClaudeInteraction);
    const name = (property: string): string => {
      const column = interactions.findColumnWithPropertyName(property);
      if (column === undefined) throw new Error(`claude_interactions has no column ${property}`);
      return dataSource.driver.escape(column.databaseName);
    };
    this.columns = interactions.columns;
    const selected = this.columns.map((c) => dataSource.driver.escape(c.databaseName)).join(', ');
    this.sql =
      `SELECT ${selected} FROM ${dataSource.driver.escape(interactions.tableName)} ` +
      `WHERE ${name('taskId')} = ? AND ${name('id')} > ? ORDER BY ${name('id')} ASC LIMIT ?`;
  }

  /** Up to `limit` of the task's interactions with ids above `afterId`, ascending. */
  async after(taskId: string, afterId: number, limit: number): Promise<ClaudeInteraction[]> {
    const rows = await this.dataSource.query<Record<string, unknown>[]>(this.sql, [
      taskId,
      afterId,
      limit,
    ]);
    return rows.map((row) =>
      Object.assign(new ClaudeInteraction(), hydrateRow(this.dataSource, row, this.columns)),
    );
  }
}
