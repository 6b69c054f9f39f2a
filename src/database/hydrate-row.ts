import { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/**
 * A raw row of a hand-built SELECT as the entity's properties, each value converted as TypeORM
 * reads it (the driver's conversion, then the column's transformer). The row is an object keyed
 * by column name, or the values in the order of `columns` (better-sqlite3's `raw` rows, which
 * skip building an object per row).
 */
export function hydrateRow(
  dataSource: DataSource,
  row: Record<string, unknown> | readonly unknown[],
  columns: readonly ColumnMetadata[],
): Record<string, unknown> {
  const entity: Record<string, unknown> = {};
  const byPosition = Array.isArray(row);
  columns.forEach((column, index) => {
    entity[column.propertyName] = dataSource.driver.prepareHydratedValue(
      byPosition ? row[index] : (row as Record<string, unknown>)[column.databaseName],
      column,
    );
  });
  return entity;
}
