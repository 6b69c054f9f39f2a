import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { columns } from 'migrations/columns';

/**
 * `health_probe`: one row the health check writes to, so it can tell a database that still
 * answers but can no longer store anything (a full disk) from a healthy one.
 */
export class HealthProbe1764090001000 implements MigrationInterface {
  name = 'HealthProbe1764090001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = columns(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'health_probe',
        columns: [{ name: 'id', type: 'int', isPrimary: true }, c.timestamp('checked_at')],
      }),
    );
    await queryRunner.query('INSERT INTO health_probe (id, checked_at) VALUES (1, NULL)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('health_probe');
  }
}
