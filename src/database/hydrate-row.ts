import { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/**
 * A raw row of a hand-built SELECT as the entity's properties, each value converted as TypeORM
 * reads it (the driver's conversion, then the column's transformer).
 */
export function hydrateRow(
  dataSource: DataSource,
  row: Record<string, unknown>,
  columns: readonly ColumnMetadata[],
): Record<string, unknown> {
  const entity: Record<string, unknown> = {};
  for (const column of columns) {
    entity[column.propertyName] = dataSource.driver.prepareHydratedValue(
      row[column.databaseName],
      column,
    );
  }
  return entity;
}
