import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * A person's message sent with `interrupt` (`interrupt_requested`): the task's owner ends the
 * agent turn under way, like `cancel_requested` but for one turn; the next turn clears it.
 */
export class InterruptRequested1764160000000 implements MigrationInterface {
  name = 'InterruptRequested1764160000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'tasks',
      new TableColumn({ name: 'interrupt_requested', type: 'boolean', default: false }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('tasks', 'interrupt_requested');
  }
}
