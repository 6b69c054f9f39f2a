import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { jsonObjectTransformer, LONG_TEXT_COLUMN, TIMESTAMP_COLUMN } from 'src/database';

/** Who did it: an API key, the local operator (keys not required), the metrics token, nobody known, or the command line. */
export type AuditActor = 'key' | 'local' | 'monitor' | 'anonymous' | 'cli';

/** One action worth keeping a record of (see `AuditAction`), or a request refused with 401/403. */
@Entity({ name: 'audit_events' })
@Index('IDX_audit_events_created_at', ['createdAt'])
@Index('IDX_audit_events_action', ['action', 'id'])
@Index('IDX_audit_events_actor_key_id', ['actorKeyId', 'id'])
export class AuditEvent {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'created_at', ...TIMESTAMP_COLUMN })
  createdAt!: Date;

  @Column({ type: 'varchar', length: 16 })
  actor!: AuditActor;

  @Column({ name: 'actor_key_id', type: 'varchar', length: 36, nullable: true })
  actorKeyId!: string | null;

  @Column({ name: 'actor_key_prefix', type: 'varchar', length: 16, nullable: true })
  actorKeyPrefix!: string | null;

  @Column({ type: 'varchar', length: 40 })
  action!: string;

  @Column({ name: 'target_type', type: 'varchar', length: 20, nullable: true })
  targetType!: string | null;

  @Column({ name: 'target_id', type: 'varchar', length: 64, nullable: true })
  targetId!: string | null;

  /** The HTTP status answered; null for actions outside a request (the command line). */
  @Column({ type: 'int', nullable: true })
  status!: number | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip!: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId!: string | null;

  @Column({ type: 'varchar', length: 10, nullable: true })
  method!: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  path!: string | null;

  @Column({ ...LONG_TEXT_COLUMN, nullable: true, transformer: jsonObjectTransformer })
  details!: Record<string, unknown> | null;
}
