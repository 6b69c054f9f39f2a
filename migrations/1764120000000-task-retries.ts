import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { columns } from 'migrations/columns';

/**
 * Retries: a task made by `POST /tasks/{id}/retry` names the task it retries (`retry_of`), and
 * that task names its retry (`retried_by`, set once). Existing rows have neither.
 */
export class TaskRetries1764120000000 implements MigrationInterface {
  name = 'TaskRetries1764120000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = columns(queryRunner);
    await queryRunner.addColumns(
      'tasks',
      [c.varchar('retry_of', 36), c.varchar('retried_by', 36)].map(
        (options) => new TableColumn(options),
      ),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('tasks', 'retried_by');
    await queryRunner.dropColumn('tasks', 'retry_of');
  }
}
