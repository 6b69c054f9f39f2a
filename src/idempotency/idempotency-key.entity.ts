import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { LONG_TEXT_COLUMN, TIMESTAMP_COLUMN } from 'src/database';

/** One `Idempotency-Key` a client sent with a creating request, and the answer it got. */
@Entity({ name: 'idempotency_keys' })
@Index('IDX_idempotency_keys_expires_at', ['expiresAt'])
export class IdempotencyKey {
  /** sha256 of the scope (method, route, caller) and the key: fixed length, any key allowed. */
  @PrimaryColumn({ name: 'key_hash', type: 'varchar', length: 64 })
  keyHash!: string;

  /** sha256 of the request body (canonical JSON): the same key with another body is refused. */
  @Column({ name: 'request_hash', type: 'varchar', length: 64 })
  requestHash!: string;

  @Column({ type: 'varchar', length: 16 })
  state!: 'in_progress' | 'done';

  @Column({ name: 'response_status', type: 'int', nullable: true })
  responseStatus!: number | null;

  /** The JSON the first request answered, replayed to every retry. */
  @Column({ name: 'response_body', ...LONG_TEXT_COLUMN, nullable: true })
  responseBody!: string | null;

  @Column({ name: 'created_at', ...TIMESTAMP_COLUMN })
  createdAt!: Date;

  @Column({ name: 'expires_at', ...TIMESTAMP_COLUMN })
  expiresAt!: Date;
}
