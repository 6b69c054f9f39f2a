import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { columns } from 'migrations/columns';

/**
 * API keys (`api_keys`: a name, the public prefix, a SHA-256 hash of the whole key, scopes, an
 * optional expiry, revocation and last use) and who owns what: `sessions.owner_key_id` (the key
 * that created the session) and `tasks.owner_key_id` (copied from its session), both null for
 * objects created while keys were not required. `tasks(owner_key_id, status)` serves the per-key
 * queue cap and the owner-filtered lists.
 */
export class ApiKeysAndOwnership1764100000000 implements MigrationInterface {
  name = 'ApiKeysAndOwnership1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = columns(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          c.uuidKey('id'),
          c.varchar('name', 100, false),
          c.varchar('prefix', 16, false),
          c.varchar('key_hash', 64, false),
          c.varchar('scopes', 100, false),
          c.varchar('created_by_key_id', 36),
          c.timestamp('created_at', false),
          c.timestamp('expires_at'),
          c.timestamp('revoked_at'),
          c.timestamp('last_used_at'),
        ],
        indices: [{ name: 'UQ_api_keys_prefix', columnNames: ['prefix'], isUnique: true }],
      }),
    );
    await queryRunner.addColumn('sessions', new TableColumn(c.varchar('owner_key_id', 36)));
    await queryRunner.addColumn('tasks', new TableColumn(c.varchar('owner_key_id', 36)));
    await queryRunner.createIndex(
      'sessions',
      new TableIndex({
        name: 'IDX_sessions_owner_key_id_created_at',
        columnNames: ['owner_key_id', 'created_at'],
      }),
    );
    await queryRunner.createIndex(
      'tasks',
      new TableIndex({
        name: 'IDX_tasks_owner_key_id_status',
        columnNames: ['owner_key_id', 'status'],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('tasks', 'IDX_tasks_owner_key_id_status');
    await queryRunner.dropIndex('sessions', 'IDX_sessions_owner_key_id_created_at');
    await queryRunner.dropColumn('tasks', 'owner_key_id');
    await queryRunner.dropColumn('sessions', 'owner_key_id');
    await queryRunner.dropTable('api_keys');
  }
}
