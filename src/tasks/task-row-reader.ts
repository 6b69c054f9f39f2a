import type { Statement } from 'better-sqlite3';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { hydrateRow, sqliteConnectionOf } from 'src/database';
import { TaskColumns } from 'src/tasks/task-columns';
import { Task } from 'src/tasks/task.entity';

interface RowStatement {
  sql: string;
  columns: ColumnMetadata[];
  /** The statement prepared on the SQLite connection, answering rows as arrays; undefined on MySQL. */
  prepared?: Statement;
}

/**
 * THE HOT READS OF ONE TASK ROW (its status summary on every poll, its owner on every request
 * about it) as plain `SELECT <columns> FROM tasks WHERE id = ?`. The statement text for a set of
 * properties is built once and kept, so the driver reuses its prepared statement (TypeORM's
 * better-sqlite3 driver caches statements by text, MySQL prepares each text once); values are
 * converted as TypeORM reads them (driver conversion, then column transformers). Going through a
 * repository's `findOne` rebuilt the same query on every call and spent most of the read there.
 * On SQLite the statement is prepared once on the connection itself and run without TypeORM's
 * query runner (its logging, events and result wrapping were a fifth of a status read's CPU),
 * its rows as arrays of values;
 * MySQL reads go through `DataSource.query`.
 */
@Injectable()
export class TaskRowReader {
  private readonly columns: TaskColumns;
  private readonly statements = new Map<string, RowStatement>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.columns = new TaskColumns(dataSource);
  }

  /** The task's `properties`, or null when there is no such task. */
  async read<K extends keyof Task>(
    id: string,
    properties: readonly K[],
  ): Promise<Pick<Task, K> | null> {
    const statement = this.statement(properties);
    const row = statement.prepared
      ? (statement.prepared.get(id) as unknown[] | undefined)
      : (await this.dataSource.query<Record<string, unknown>[]>(statement.sql, [id]))[0];
    if (row === undefined) return null;
    return hydrateRow(this.dataSource, row, statement.columns) as Pick<Task, K>;
  }

  private statement(properties: readonly (keyof Task)[]): RowStatement {
    const key = properties.join(',');
    let statement = this.statements.get(key);
    if (statement === undefined) {
      const columns = properties.map((property) => this.columns.column(property));
      const escape = (name: string) => this.dataSource.driver.escape(name);
      const sql = `SELECT ${columns.map((c) => escape(c.databaseName)).join(', ')} FROM ${escape(this.columns.tableName)} WHERE ${escape('id')} = ?`;
      statement = {
        sql,
        columns,
        prepared: sqliteConnectionOf(this.dataSource)?.prepare(sql).raw(true),
      };
      this.statements.set(key, statement);
    }
    return statement;
  }
}
