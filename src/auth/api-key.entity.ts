import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { Scope, SCOPES } from 'src/access';
import { TIMESTAMP_COLUMN } from 'src/database';

/**
 * An API key. The key itself is shown once, when it is created; only its SHA-256 hash is stored
 * (the key is 256 random bits, so a hash is as good as a slow KDF and lets a request be checked
 * with one indexed lookup by prefix and one constant-time comparison).
 */
@Entity({ name: 'api_keys' })
@Index('UQ_api_keys_prefix', ['prefix'], { unique: true })
export class ApiKey {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  /** The key's public part (`cta_` + 12 hex digits): shown in lists and logs, used to find it. */
  @Column({ type: 'varchar', length: 16 })
  prefix!: string;

  /** SHA-256 of the whole key, hex. */
  @Column({ name: 'key_hash', type: 'varchar', length: 64 })
  keyHash!: string;

  /** Comma-separated scopes (`admin`, `tasks:write`, `tasks:read`). */
  @Column({ type: 'varchar', length: 100 })
  scopes!: string;

  /** The admin key that created it; null when created on the command line or without keys. */
  @Column({ name: 'created_by_key_id', type: 'varchar', length: 36, nullable: true })
  createdByKeyId!: string | null;

  @Column({ name: 'created_at', ...TIMESTAMP_COLUMN })
  createdAt!: Date;

  @Column({ name: 'expires_at', ...TIMESTAMP_COLUMN, nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'revoked_at', ...TIMESTAMP_COLUMN, nullable: true })
  revokedAt!: Date | null;

  /** Updated at most once a minute per key. */
  @Column({ name: 'last_used_at', ...TIMESTAMP_COLUMN, nullable: true })
  lastUsedAt!: Date | null;
}

/** The scopes stored on a key (unknown words ignored). */
export function keyScopes(key: Pick<ApiKey, 'scopes'>): Scope[] {
  return key.scopes.split(',').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
}
