import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { columns } from 'migrations/columns';

/**
 * Times a task was taken back because its lease ran out while its owner was not seen to live
 * (`lease_expiries`): an owner on another host cannot be seen to die, so a task that crashes its
 * server is bounded by this count (twice MAX_TASK_ATTEMPTS) where `restarts` cannot see it.
 */
export class LeaseExpiries1764200000000 implements MigrationInterface {
  name = 'LeaseExpiries1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'tasks',
      new TableColumn(columns(queryRunner).int('lease_expiries')),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('tasks', 'lease_expiries');
  }
}
