import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { columns } from 'migrations/columns';

/**
 * Test rounds of a task refused for changing existing tests (`test_change_refusals`): at the
 * second the task fails `test_changes_needed` instead of spending its turns, and a run resumed
 * on another server counts on from the stored figure.
 */
export class TestChangeRefusals1764150000000 implements MigrationInterface {
  name = 'TestChangeRefusals1764150000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'tasks',
      new TableColumn(columns(queryRunner).int('test_change_refusals')),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('tasks', 'test_change_refusals');
  }
}
