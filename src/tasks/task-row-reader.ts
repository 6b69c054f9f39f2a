import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { hydrateRow } from 'src/database';
import { TaskColumns } from 'src/tasks/task-columns';
import { Task } from 'src/tasks/task.entity';

/**
 * THE HOT READS OF ONE TASK ROW (its status summary on every poll, its owner on every request
 * about it) as plain `SELECT <columns> FROM tasks WHERE id = ?`. The statement text for a set of
 * properties is built once and kept, so the driver reuses its prepared statement (TypeORM's
 * better-sqlite3 driver caches statements by text, MySQL prepares each text once); values are
 * converted as TypeORM reads them (driver conversion, then column transformers). Going through a
 * repository's `findOne` rebuilt the same query on every call and spent most of the read there.
 */
@Injectable()
export class TaskRowReader {
  private readonly columns: TaskColumns;
  private readonly statements = new Map<string, { sql: string; columns: ColumnMetadata[] }>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.columns = new TaskColumns(dataSource);
  }

  /** The task's `properties`, or null when there is no such task. */
  async read<K extends keyof Task>(
    id: string,
    properties: readonly K[],
  ): Promise<Pick<Task, K> | null> {
    const statement = this.statement(properties);
    const rows = await this.dataSource.query<Record<string, unknown>[]>(statement.sql, [id]);
    if (rows.length === 0) return null;
    return hydrateRow(this.dataSource, rows[0], statement.columns) as Pick<Task, K>;
  }

  private statement(properties: readonly (keyof Task)[]): {
    sql: string;
    columns: ColumnMetadata[];
  } {
    const key = properties.join(',');
    let statement = this.statements.get(key);
    if (statement === undefined) {
      const columns = properties.map((property) => this.columns.column(property));
      const escape = (name: string) => this.dataSource.driver.escape(name);
      statement = {
        sql: `SELECT ${columns.map((c) => escape(c.databaseName)).join(', ')} FROM ${escape(this.columns.tableName)} WHERE ${escape('id')} = ?`,
        columns,
      };
      this.statements.set(key, statement);
    }
    return statement;
  }
}
