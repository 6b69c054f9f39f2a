import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * The queue's per-project lock: a task that holds a lease stores a key of its project path in
 * `running_project_key`; the unique index lets only one live task per project hold it, across
 * every server instance sharing the database. NULLs (tasks not running) never collide, on
 * SQLite and MySQL/MariaDB alike. `restarts` counts the times a task's server died under it
 * (bounded by MAX_TASK_ATTEMPTS); `attempt` cannot, as graceful shutdowns re-queue too.
 */
export class TaskQueueProjectLock1764060000000 implements MigrationInterface {
  name = 'TaskQueueProjectLock1764060000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'tasks',
      new TableColumn({
        name: 'running_project_key',
        type: 'varchar',
        length: '64',
        isNullable: true,
      }),
    );
    await queryRunner.addColumn(
      'tasks',
      new TableColumn({ name: 'restarts', type: 'int', default: 0 }),
    );
    await queryRunner.createIndex(
      'tasks',
      new TableIndex({
        name: 'UQ_tasks_running_project_key',
        columnNames: ['running_project_key'],
        isUnique: true,
      }),
    );
    await queryRunner.createIndex(
      'tasks',
      new TableIndex({
        name: 'IDX_tasks_status_lease_expires_at',
        columnNames: ['status', 'lease_expires_at'],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('tasks', 'IDX_tasks_status_lease_expires_at');
    await queryRunner.dropIndex('tasks', 'UQ_tasks_running_project_key');
    await queryRunner.dropColumn('tasks', 'restarts');
    await queryRunner.dropColumn('tasks', 'running_project_key');
  }
}
