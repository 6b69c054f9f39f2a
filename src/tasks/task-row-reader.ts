import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RowReader } from 'src/database';
import { Task } from 'src/tasks/task.entity';

/**
 * THE HOT READS OF ONE TASK ROW (its status summary on every poll, its owner on every request
 * about it): a `RowReader` by id.
 */
@Injectable()
export class TaskRowReader extends RowReader<Task> {
  constructor(@InjectDataSource() dataSource: DataSource) {
    super(dataSource, Task, 'id');
  }
}
