import { DataSource, EntityMetadata } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { Task } from 'src/tasks/task.entity';

/**
 * The task table's columns by entity property name, looked up once each: what the hand-built
 * UPDATEs of the hot path (`TaskRowSql`) name and how they convert values.
 */
export class TaskColumns {
  private readonly metadata: EntityMetadata;
  private readonly columns = new Map<string, ColumnMetadata>();

  constructor(dataSource: DataSource) {
    this.metadata = dataSource.getMetadata(Task);
  }

  get tableName(): string {
    return this.metadata.tableName;
  }

  /** The column of `property`; throws for a property that is not a column (a bug in the caller). */
  column(property: string): ColumnMetadata {
    let column = this.columns.get(property);
    if (column === undefined) {
      column = this.metadata.findColumnWithPropertyName(property);
      if (column === undefined) throw new Error(`tasks has no column for property ${property}`);
      this.columns.set(property, column);
    }
    return column;
  }
}
