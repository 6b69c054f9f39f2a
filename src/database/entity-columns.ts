import { DataSource, EntityMetadata, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/**
 * An entity's columns by property name, looked up once each: what hand-built statements on hot
 * paths (`RowReader`'s SELECTs, the task row's UPDATEs) name and how they convert values.
 */
export class EntityColumns<E extends ObjectLiteral> {
  private readonly metadata: EntityMetadata;
  private readonly columns = new Map<string, ColumnMetadata>();

  constructor(dataSource: DataSource, entity: EntityTarget<E>) {
    this.metadata = dataSource.getMetadata(entity);
  }

  get tableName(): string {
    return this.metadata.tableName;
  }

  /** The column of `property`; throws for a property that is not a column (a bug in the caller). */
  column(property: string): ColumnMetadata {
    let column = this.columns.get(property);
    if (column === undefined) {
      column = this.metadata.findColumnWithPropertyName(property);
      if (column === undefined) {
        throw new Error(`${this.tableName} has no column for property ${property}`);
      }
      this.columns.set(property, column);
    }
    return column;
  }
}
