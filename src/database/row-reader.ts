import type { Statement } from 'better-sqlite3';
import { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { EntityColumns } from 'src/database/entity-columns';
import { hydrateRow } from 'src/database/hydrate-row';
import { sqliteConnectionOf } from 'src/database/sqlite-connection';

interface RowStatement {
  sql: string;
  columns: ColumnMetadata[];
  /** Prepared on the SQLite connection, answering rows as arrays; undefined on MySQL. */
  prepared?: Statement;
}

/**
 * HOT READS OF ONE ROW by a unique column, as plain `SELECT <columns> FROM <table> WHERE <column>
 * = ?`, for reads made on every request (a task's status and owner, an API key by its prefix).
 * The statement for a set of properties is built once and kept; values are converted as TypeORM
 * reads them (driver conversion, then column transformers). A repository's `findOneBy` rebuilt
 * the same query on every call and spent most of the read there. On SQLite the statement is
 * prepared once on the connection itself and run without TypeORM's query runner (its logging,
 * events and result wrapping were a fifth of a status read's CPU), its rows as arrays of values;
 * on MySQL it goes through `DataSource.query` (which prepares each text once).
 */
export class RowReader<E extends ObjectLiteral> {
  private readonly columns: EntityColumns<E>;
  private readonly statements = new Map<string, RowStatement>();
  /** The same statements by the properties array itself: a constant list is found without a join. */
  private readonly statementsByList = new WeakMap<readonly string[], RowStatement>();

  constructor(
    private readonly dataSource: DataSource,
    entity: EntityTarget<E>,
    private readonly by: keyof E & string,
  ) {
    this.columns = new EntityColumns(dataSource, entity);
  }

  /** The row's `properties` where `by` is `value`, or null when there is no such row. */
  async read<K extends keyof E & string>(
    value: string,
    properties: readonly K[],
  ): Promise<Pick<E, K> | null> {
    const statement = this.statement(properties);
    const row = statement.prepared
      ? (statement.prepared.get(value) as unknown[] | undefined)
      : (await this.dataSource.query<Record<string, unknown>[]>(statement.sql, [value]))[0];
    if (row === undefined) return null;
    return hydrateRow(this.dataSource, row, statement.columns) as Pick<E, K>;
  }

  /**
   * On SQLite, the row's `properties` as stored, in their order and not converted (for a caller
   * that converts them itself), or undefined when there is no such row. SQLite only.
   */
  storedRow(value: string, properties: readonly (keyof E & string)[]): unknown[] | undefined {
    const { prepared } = this.statement(properties);
    if (prepared === undefined) throw new Error('storedRow reads a SQLite database only');
    return prepared.get(value) as unknown[] | undefined;
  }

  private statement(properties: readonly string[]): RowStatement {
    let statement = this.statementsByList.get(properties);
    if (statement === undefined) {
      statement = this.statementByKey(properties);
      this.statementsByList.set(properties, statement);
    }
    return statement;
  }

  private statementByKey(properties: readonly string[]): RowStatement {
    const key = properties.join(',');
    let statement = this.statements.get(key);
    if (statement === undefined) {
      const columns = properties.map((property) => this.columns.column(property));
      const escape = (name: string) => this.dataSource.driver.escape(name);
      const sql = `SELECT ${columns.map((c) => escape(c.databaseName)).join(', ')} FROM ${escape(this.columns.tableName)} WHERE ${escape(this.columns.column(this.by).databaseName)} = ?`;
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
