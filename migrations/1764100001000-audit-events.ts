import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { columns } from 'migrations/columns';

/**
 * The audit trail: one row per key creation and revocation, session and task creation, cancel,
 * deletion, message and merge, and per request refused with 401 or 403: who (the key), what
 * (`action`, the target), when, and from where (client address, request id, method and path).
 */
export class AuditEvents1764100001000 implements MigrationInterface {
  name = 'AuditEvents1764100001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = columns(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          c.increments('id'),
          c.timestamp('created_at', false),
          c.varchar('actor', 16, false),
          c.varchar('actor_key_id', 36),
          c.varchar('actor_key_prefix', 16),
          c.varchar('action', 40, false),
          c.varchar('target_type', 20),
          c.varchar('target_id', 64),
          c.nullableInt('status'),
          c.varchar('ip', 64),
          c.varchar('request_id', 128),
          c.varchar('method', 10),
          c.varchar('path', 500),
          c.longText('details'),
        ],
        indices: [
          { name: 'IDX_audit_events_created_at', columnNames: ['created_at'] },
          { name: 'IDX_audit_events_action', columnNames: ['action', 'id'] },
          { name: 'IDX_audit_events_actor_key_id', columnNames: ['actor_key_id', 'id'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_events');
  }
}
