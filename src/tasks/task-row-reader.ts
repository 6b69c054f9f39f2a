import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RowReader } from 'src/database';
import { Task } from 'src/tasks/task.entity';

/**
 * THE HOT READS OF ONE TASK ROW (its status summary on every poll, its owner on every request
 * about it, the whole row when a task is claimed): a `RowReader` by id.
 */
@Injectable()
export class TaskRowReader extends RowReader<Task> {
  /** Every column's property: the whole entity, as `findOneBy` reads it. */
  private readonly everyColumn: readonly Extract<keyof Task, string>[];

  constructor(@InjectDataSource() dataSource: DataSource) {
    super(dataSource, Task, 'id');
    this.everyColumn = dataSource
      .getMetadata(Task)
      .columns.map((column) => column.propertyName as Extract<keyof Task, string>);
  }

  /**
   * The task with every column, as `findOneBy` gives it (without relations), or null. Outside any
   * transaction of the caller's (on MySQL a pooled connection of its own).
   */
  async task(id: string): Promise<Task | null> {
    const row = await this.read(id, this.everyColumn);
    return row === null ? null : Object.assign(new Task(), row);
  }
}
