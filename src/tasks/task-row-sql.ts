import { DataSource } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { EntityColumns, SqlStep } from 'src/database';
import { Task } from 'src/tasks/task.entity';

/**
 * THE TASK ROW'S UPDATE STATEMENTS as plain SQL for the event log's writes. A patch's properties
 * become `column = ?` assignments and its values are converted as TypeORM writes them (column
 * transformers, then the driver's conversion of dates and booleans). The statement text for a set
 * of properties is built once and kept, so the database prepares each shape once; building the
 * same UPDATE through TypeORM's query builder on every write cost the write path most of its time.
 */
export class TaskRowSql {
  private readonly columns: EntityColumns<Task>;
  private readonly assignments = new Map<string, string>();

  constructor(private readonly dataSource: DataSource) {
    this.columns = new EntityColumns(dataSource, Task);
  }

  /**
   * `UPDATE tasks SET <patch> WHERE <where>`; `where` is SQL over column names with `:named`
   * parameters from `params`.
   */
  update(
    patch: QueryDeepPartialEntity<Task>,
    where: string,
    params: Record<string, unknown>,
  ): SqlStep {
    const [condition, conditionParams] = this.dataSource.driver.escapeQueryWithParameters(
      where,
      params,
      {},
    );
    return this.updateWhere(patch, condition, conditionParams as unknown[]);
  }

  /**
   * `UPDATE tasks SET <patch> WHERE <condition>`; `condition` is SQL over column names with `?`
   * placeholders for `conditionParams`, given as the driver binds them (strings and numbers):
   * the hot writes' fences, without the driver's parsing of named parameters on every write.
   */
  updateWhere(
    patch: QueryDeepPartialEntity<Task>,
    condition: string,
    conditionParams: readonly unknown[],
  ): SqlStep {
    const entries = Object.entries(patch).filter(([, value]) => value !== undefined);
    const properties = entries.map(([property]) => property);
    return {
      sql: `UPDATE tasks SET ${this.assignment(properties)} WHERE ${condition}`,
      params: [
        ...entries.map(([property, value]): unknown =>
          this.dataSource.driver.preparePersistentValue(value, this.columns.column(property)),
        ),
        ...conditionParams,
      ],
    };
  }

  private assignment(properties: readonly string[]): string {
    const key = properties.join(',');
    let assignment = this.assignments.get(key);
    if (assignment === undefined) {
      assignment = properties.map((p) => `${this.columns.column(p).databaseName} = ?`).join(', ');
      this.assignments.set(key, assignment);
    }
    return assignment;
  }
}
