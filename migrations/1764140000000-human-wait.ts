import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';
import { columns } from 'migrations/columns';

/**
 * Waiting for a person. Sessions get `auto_respond` and `human_timeout_seconds` (their tasks'
 * defaults; null: the simulated human answers at once). Tasks get both as resolved when created,
 * and, while one waits (PAUSED, `waiting_for_human`), `human_wait` (the question and the
 * simulated human's held reply, JSON) and `human_wait_until` (when the simulated human answers
 * instead; null: never), indexed for the sweep that finds the ones due.
 */
export class HumanWait1764140000000 implements MigrationInterface {
  name = 'HumanWait1764140000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = columns(queryRunner);
    await queryRunner.addColumns('sessions', [
      new TableColumn({ name: 'auto_respond', type: 'boolean', isNullable: true }),
      new TableColumn(c.nullableInt('human_timeout_seconds')),
    ]);
    await queryRunner.addColumns('tasks', [
      new TableColumn({ name: 'auto_respond', type: 'boolean', default: true }),
      new TableColumn(c.nullableInt('human_timeout_seconds')),
      new TableColumn(c.longText('human_wait')),
      new TableColumn(c.timestamp('human_wait_until')),
    ]);
    await queryRunner.createIndex(
      'tasks',
      new TableIndex({ name: 'IDX_tasks_human_wait_until', columnNames: ['human_wait_until'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('tasks', 'IDX_tasks_human_wait_until');
    for (const name of [
      'human_wait_until',
      'human_wait',
      'human_timeout_seconds',
      'auto_respond',
    ]) {
      await queryRunner.dropColumn('tasks', name);
    }
    await queryRunner.dropColumn('sessions', 'human_timeout_seconds');
    await queryRunner.dropColumn('sessions', 'auto_respond');
  }
}
