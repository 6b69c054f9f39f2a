import { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { ClaudeInteraction, Task } from 'src/tasks';

/** A statement text and the columns it reads, in order. */
interface Statement {
  sql: string;
  columns: ColumnMetadata[];
}

/**
 * THE TWO READS A TASK'S STREAM MAKES ON EVERY WAKE-UP (its events after an id, then whether the
 * task is over) as plain SQL whose text is built once, so the driver keeps it prepared
 * (better-sqlite3's driver caches statements by text; MySQL gets the same text each time). Values
 * are converted as TypeORM reads them (driver conversion, then column transformers). A
 * repository's `find`/`findOne` rebuilt each query on every call: ten times the CPU of the read,
 * paid once per printed line by every stream of the task.
 */
export class TaskEventReads {
  private readonly page: Statement;
  private readonly status: Statement;

  constructor(private readonly dataSource: DataSource) {
    const interactions = dataSource.getMetadata(ClaudeInteraction);
    const tasks = dataSource.getMetadata(Task);
    const escape = (name: string) => dataSource.driver.escape(name);
    const columnsOf = (metadata: typeof tasks, properties: readonly string[]) =>
      properties.map((property) => {
        const column = metadata.findColumnWithPropertyName(property);
        if (column === undefined) throw new Error(`${metadata.name} has no column ${property}`);
        return column;
      });
    const pageColumns = interactions.columns;
    const idColumn = escape(columnsOf(interactions, ['id'])[0].databaseName);
    const taskColumn = escape(columnsOf(interactions, ['taskId'])[0].databaseName);
    this.page = {
      sql: `SELECT ${pageColumns.map((c) => escape(c.databaseName)).join(', ')} FROM ${escape(interactions.tableName)} WHERE ${taskColumn} = ? AND ${idColumn} > ? ORDER BY ${idColumn} ASC LIMIT ?`,
      columns: pageColumns,
    };
    const statusColumns = columnsOf(tasks, ['status', 'statusReason']);
    this.status = {
      sql: `SELECT ${statusColumns.map((c) => escape(c.databaseName)).join(', ')} FROM ${escape(tasks.tableName)} WHERE ${escape(columnsOf(tasks, ['id'])[0].databaseName)} = ?`,
      columns: statusColumns,
    };
  }

  /** Up to `limit` of the task's interactions with ids above `afterId`, ascending. */
  async after(taskId: string, afterId: number, limit: number): Promise<ClaudeInteraction[]> {
    const rows = await this.read(this.page, [taskId, afterId, limit]);
    return rows.map((row) => Object.assign(new ClaudeInteraction(), row));
  }

  /** The task's status and its reason; null when there is no such task. */
  async statusOf(taskId: string): Promise<Pick<Task, 'status' | 'statusReason'> | null> {
    const [row] = await this.read(this.status, [taskId]);
    return row === undefined ? null : (row as Pick<Task, 'status' | 'statusReason'>);
  }

  private async read(statement: Statement, params: unknown[]): Promise<Record<string, unknown>[]> {
    const rows = await this.dataSource.query<Record<string, unknown>[]>(statement.sql, params);
    return rows.map((row) => {
      const entity: Record<string, unknown> = {};
      for (const column of statement.columns) {
        entity[column.propertyName] = this.dataSource.driver.prepareHydratedValue(
          row[column.databaseName],
          column,
        );
      }
      return entity;
    });
  }
}
