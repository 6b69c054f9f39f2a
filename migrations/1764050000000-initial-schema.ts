import { MigrationInterface, QueryRunner, Table, TableColumnOptions } from 'typeorm';

/**
 * The whole schema, written against the dialect-neutral queryRunner API so it runs unchanged on
 * SQLite and MySQL/MariaDB. Only column types branch per dialect: MySQL gets `datetime(3)` and
 * `longtext` (agent output can be megabytes) and utf8mb4 text columns whatever the database's
 * default charset; SQLite gets `datetime` and `text`.
 */
export class InitialSchema1764050000000 implements MigrationInterface {
  name = 'InitialSchema1764050000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.driver.options.type === 'mysql';
    const longText = mysql ? 'longtext' : 'text';
    const timestamp = (name: string, isNullable = false): TableColumnOptions =>
      mysql
        ? { name, type: 'datetime', precision: 3, isNullable }
        : { name, type: 'datetime', isNullable };
    const uuid = (name: string, isPrimary = false): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: '36',
      isPrimary,
    });
    const int = (name: string, isNullable = false): TableColumnOptions =>
      isNullable ? { name, type: 'int', isNullable } : { name, type: 'int', default: 0 };
    const increments = (name: string): TableColumnOptions => ({
      name,
      type: 'integer',
      isPrimary: true,
      isGenerated: true,
      generationStrategy: 'increment',
    });
    const cascadeToTasks = {
      columnNames: ['task_id'],
      referencedTableName: 'tasks',
      referencedColumnNames: ['id'],
      onDelete: 'CASCADE',
    };

    const createTable = async (table: Table): Promise<void> => {
      if (mysql) {
        for (const column of table.columns) {
          if (/char|text/.test(column.type)) {
            column.charset = 'utf8mb4';
            column.collation = 'utf8mb4_unicode_ci';
          }
        }
      }
      await queryRunner.createTable(table);
    };

    await createTable(
      new Table({
        name: 'sessions',
        columns: [
          uuid('id', true),
          { name: 'name', type: 'varchar', length: '200', isNullable: true },
          { name: 'project_path', type: 'varchar', length: '700' },
          { name: 'test_command', type: 'varchar', length: '2000', isNullable: true },
          { name: 'regression_command', type: 'varchar', length: '2000', isNullable: true },
          timestamp('created_at'),
          timestamp('updated_at'),
        ],
        indices: [{ name: 'IDX_sessions_created_at', columnNames: ['created_at'] }],
      }),
    );

    await createTable(
      new Table({
        name: 'tasks',
        columns: [
          uuid('id', true),
          uuid('session_id'),
          { name: 'project_path', type: 'varchar', length: '700' },
          { name: 'description', type: 'text' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'status_reason', type: 'varchar', length: '40', isNullable: true },
          { name: 'phase', type: 'varchar', length: '32', isNullable: true },
          int('iteration'),
          int('pause_count'),
          { name: 'max_iterations', type: 'int' },
          { name: 'max_pauses', type: 'int' },
          { name: 'claude_session_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'result_summary', type: longText, isNullable: true },
          { name: 'error_message', type: 'text', isNullable: true },
          { name: 'last_agent_message', type: longText, isNullable: true },
          int('tests_passed'),
          int('tests_failed'),
          int('tests_total'),
          { name: 'cost_usd', type: 'double', default: 0 },
          int('input_tokens'),
          int('output_tokens'),
          int('attempt'),
          { name: 'lease_owner', type: 'varchar', length: '200', isNullable: true },
          timestamp('lease_expires_at', true),
          { name: 'cancel_requested', type: 'boolean', default: false },
          int('process_group_id', true),
          timestamp('created_at'),
          timestamp('started_at', true),
          timestamp('completed_at', true),
          timestamp('updated_at'),
        ],
        foreignKeys: [
          {
            name: 'FK_tasks_session_id',
            columnNames: ['session_id'],
            referencedTableName: 'sessions',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
        indices: [
          { name: 'IDX_tasks_status_created_at', columnNames: ['status', 'created_at'] },
          { name: 'IDX_tasks_session_id_created_at', columnNames: ['session_id', 'created_at'] },
          { name: 'IDX_tasks_project_path_status', columnNames: ['project_path', 'status'] },
          { name: 'IDX_tasks_created_at', columnNames: ['created_at'] },
        ],
      }),
    );

    await createTable(
      new Table({
        name: 'claude_interactions',
        columns: [
          increments('id'),
          uuid('task_id'),
          { name: 'kind', type: 'varchar', length: '32' },
          int('iteration'),
          { name: 'content', type: longText },
          { name: 'data', type: longText, isNullable: true },
          { name: 'cost_usd', type: 'double', isNullable: true },
          int('input_tokens', true),
          int('output_tokens', true),
          timestamp('created_at'),
        ],
        foreignKeys: [{ name: 'FK_claude_interactions_task_id', ...cascadeToTasks }],
        indices: [{ name: 'IDX_claude_interactions_task_id_id', columnNames: ['task_id', 'id'] }],
      }),
    );

    await createTable(
      new Table({
        name: 'test_cases',
        columns: [
          increments('id'),
          uuid('task_id'),
          int('iteration'),
          { name: 'kind', type: 'varchar', length: '16' },
          { name: 'name', type: 'varchar', length: '1000' },
          { name: 'file_path', type: 'varchar', length: '2048', isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          int('duration_ms'),
          { name: 'output', type: longText },
          timestamp('created_at'),
        ],
        foreignKeys: [{ name: 'FK_test_cases_task_id', ...cascadeToTasks }],
        indices: [{ name: 'IDX_test_cases_task_id', columnNames: ['task_id'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('test_cases');
    await queryRunner.dropTable('claude_interactions');
    await queryRunner.dropTable('tasks');
    await queryRunner.dropTable('sessions');
  }
}
