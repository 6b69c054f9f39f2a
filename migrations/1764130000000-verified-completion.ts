import { MigrationInterface, QueryRunner, Table, TableColumn, TableColumnOptions } from 'typeorm';
import { columns } from 'migrations/columns';

/**
 * Verified completion. Sessions get `require_failing_tests` (their tasks' default; null: the
 * server's REQUIRE_FAILING_TESTS); tasks get `require_failing_tests` and `allow_test_changes` (as
 * resolved when created) and `verification` (the evidence, JSON). `regression_baselines` keeps
 * one regression run per project, base commit and command, reused by later tasks on that commit.
 */
export class VerifiedCompletion1764130000000 implements MigrationInterface {
  name = 'VerifiedCompletion1764130000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = columns(queryRunner);
    const flag = (name: string, value: boolean): TableColumnOptions => ({
      name,
      type: 'boolean',
      default: value,
    });
    await queryRunner.addColumn(
      'sessions',
      new TableColumn({ name: 'require_failing_tests', type: 'boolean', isNullable: true }),
    );
    await queryRunner.addColumns(
      'tasks',
      [
        flag('require_failing_tests', true),
        flag('allow_test_changes', false),
        c.longText('verification'),
      ].map((options) => new TableColumn(options)),
    );
    await queryRunner.createTable(
      new Table({
        name: 'regression_baselines',
        columns: [
          { ...c.varchar('id', 64, false), isPrimary: true },
          c.varchar('base_commit', 64, false),
          c.varchar('command', 2000, false),
          c.longText('result', false),
          c.timestamp('created_at', false),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('regression_baselines');
    for (const name of ['verification', 'allow_test_changes', 'require_failing_tests']) {
      await queryRunner.dropColumn('tasks', name);
    }
    await queryRunner.dropColumn('sessions', 'require_failing_tests');
  }
}
