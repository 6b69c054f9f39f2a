import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * Tasks by why they are in their status, newest first: a new task looks for its repository's
 * tasks that failed `git_config_changed` (`GitConfigQuarantine`), few among all the failed ones.
 */
export class StatusReasonIndex1764180000000 implements MigrationInterface {
  name = 'StatusReasonIndex1764180000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'tasks',
      new TableIndex({
        name: 'IDX_tasks_status_reason_created_at',
        columnNames: ['status_reason', 'created_at'],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('tasks', 'IDX_tasks_status_reason_created_at');
  }
}
