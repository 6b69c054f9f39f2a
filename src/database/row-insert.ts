import { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import type { SqlStep } from 'src/database/atomic-writer';

/**
 * HOT INSERTS OF ONE ROW as a plain `INSERT INTO <table> (<columns>) VALUES (?, ...)` step for
 * `AtomicWriter`, for rows written on every request (a task, an audit event). Every column but a
 * generated key is written, its value converted as TypeORM writes it (column transformers, then
 * the driver's conversion of dates and booleans); the statement text is built once, so the
 * database prepares it once. A repository's `insert`/`save` built the statement on every call and
 * read the row back afterwards, most of a task creation's CPU.
 */
export class RowInsert<E extends ObjectLiteral> {
  private readonly columns: ColumnMetadata[];
  private readonly sql: string;

  constructor(
    private readonly dataSource: DataSource,
    entity: EntityTarget<E>,
  ) {
    const metadata = dataSource.getMetadata(entity);
    const names = new Set<string>();
    // A relation's join column that is also a property's column appears once.
    this.columns = metadata.columns.filter((column) => {
      if (column.isGenerated || names.has(column.databaseName)) return false;
      names.add(column.databaseName);
      return true;
    });
    const escape = (name: string) => dataSource.driver.escape(name);
    this.sql = `INSERT INTO ${escape(metadata.tableName)} (${this.columns
      .map((column) => escape(column.databaseName))
      .join(', ')}) VALUES (${this.columns.map(() => '?').join(', ')})`;
  }

  /**
   * The INSERT of `row`, which must have a value (null included) for every column written: a
   * missing one throws (a bug in the caller), where a repository would have written its default.
   */
  step(row: Partial<E>): SqlStep {
    return {
      sql: this.sql,
      params: this.columns.map((column) => {
        const value: unknown = column.getEntityValue(row);
        if (value === undefined) {
          throw new Error(`${this.sql}: no value for ${column.propertyName}`);
        }
        return this.dataSource.driver.preparePersistentValue(value, column) as unknown;
      }),
    };
  }
}
