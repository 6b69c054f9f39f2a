import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { columns } from 'migrations/columns';

/**
 * `idempotency_keys`: the `Idempotency-Key` of a creating request (hashed with its scope), the
 * hash of its body, whether it is still in progress, and the answer to replay to retries; kept
 * for 24 hours.
 */
export class IdempotencyKeys1764090000000 implements MigrationInterface {
  name = 'IdempotencyKeys1764090000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = columns(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'idempotency_keys',
        columns: [
          { ...c.varchar('key_hash', 64, false), isPrimary: true },
          c.varchar('request_hash', 64, false),
          c.varchar('state', 16, false),
          { name: 'response_status', type: 'int', isNullable: true },
          c.longText('response_body'),
          c.timestamp('created_at', false),
          c.timestamp('expires_at', false),
        ],
        indices: [{ name: 'IDX_idempotency_keys_expires_at', columnNames: ['expires_at'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('idempotency_keys');
  }
}
