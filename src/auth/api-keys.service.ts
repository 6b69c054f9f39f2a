import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, IsNull, Repository } from 'typeorm';
import { Principal, Scope } from 'src/access';
import { Clock, DomainError, ErrorCode, PaginationQueryDto } from 'src/common';
import { RowReader } from 'src/database';
import { ApiKey, keyScopes } from 'src/auth/api-key.entity';
import { generateKeySecret, keyMatches, prefixOf } from 'src/auth/api-key-secret';
import { KeyRevocations } from 'src/auth/key-revocations';

export interface NewApiKey {
  name: string;
  scopes: readonly Scope[];
  expiresAt: Date | null;
  createdByKeyId: string | null;
}

/** Why a presented key was refused. */
export type KeyRefusal = 'invalid' | 'expired' | 'revoked';

export type KeyCheck = { principal: Principal } | { refused: KeyRefusal };

/** What checking a presented key reads of its row. */
const CHECKED_PROPERTIES = [
  'id',
  'prefix',
  'keyHash',
  'scopes',
  'expiresAt',
  'revokedAt',
  'lastUsedAt',
] as const;

/** last_used_at is written at most this often per key. */
const LAST_USED_EVERY_MS = 60_000;

/** While no key exists, "are keys required?" is asked again after this long. */
const NO_KEYS_RECHECK_MS = 1_000;

export function apiKeyNotFound(id: string): DomainError {
  return new DomainError(ErrorCode.ApiKeyNotFound, `API key ${id} not found`);
}

/**
 * API KEYS: created (the key returned once), listed, revoked, and checked for each request. Also
 * answers whether keys are required at all: AUTH_REQUIRED when set, otherwise as soon as any key
 * was ever created (a revoked key still counts, so revoking the last key does not open the
 * server).
 */
@Injectable()
export class ApiKeysService {
  private keysExist = false;
  /** When `required` last read whether keys exist; -Infinity: never. */
  private keysCheckedAt = -Infinity;

  /** The key a request presents, looked up by its prefix on every request. */
  private readonly byPrefix: RowReader<ApiKey>;

  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    @InjectDataSource() dataSource: DataSource,
    private readonly clock: Clock,
    private readonly revocations: KeyRevocations,
  ) {
    this.byPrefix = new RowReader(dataSource, ApiKey, 'prefix');
  }

  /** Creates a key; `key` is the only time the key itself exists outside the client. */
  async create(input: NewApiKey): Promise<{ apiKey: ApiKey; key: string }> {
    const secret = generateKeySecret();
    const apiKey = this.keys.create({
      id: randomUUID(),
      name: input.name,
      prefix: secret.prefix,
      keyHash: secret.hash,
      scopes: [...new Set(input.scopes)].join(','),
      createdByKeyId: input.createdByKeyId,
      createdAt: this.clock.now(),
      expiresAt: input.expiresAt,
      revokedAt: null,
      lastUsedAt: null,
    });
    await this.keys.insert(apiKey);
    this.keysExist = true;
    return { apiKey, key: secret.key };
  }

  async list(page: PaginationQueryDto): Promise<[ApiKey[], number]> {
    return this.keys.findAndCount({
      order: { createdAt: 'DESC', id: 'DESC' },
      take: page.limit,
      skip: page.offset,
    });
  }

  /** The key with this id, or else this prefix; 404 `api_key_not_found`. */
  async findOne(idOrPrefix: string): Promise<ApiKey> {
    const key =
      (await this.keys.findOneBy({ id: idOrPrefix.toLowerCase() })) ??
      (await this.keys.findOneBy({ prefix: idOrPrefix.toLowerCase() }));
    if (!key) throw apiKeyNotFound(idOrPrefix);
    return key;
  }

  /**
   * Revokes a key (at once, for every later request); revoking it again changes nothing but for
   * what the listeners do. Resolves once they are done: in a server, the key's queued and waiting
   * tasks have ended and its running ones were told to stop (`KeyRevocations`).
   */
  async revoke(idOrPrefix: string): Promise<ApiKey> {
    const key = await this.findOne(idOrPrefix);
    await this.keys.update({ id: key.id, revokedAt: IsNull() }, { revokedAt: this.clock.now() });
    await this.revocations.revoked(key.id);
    return this.findOne(key.id);
  }

  /**
   * Checks a presented key: found by its prefix, compared in constant time with the stored hash
   * (also when no key has the prefix), then its revocation and expiry. Records its use.
   */
  async check(presented: string): Promise<KeyCheck> {
    const prefix = prefixOf(presented);
    const key = prefix === null ? null : await this.byPrefix.read(prefix, CHECKED_PROPERTIES);
    if (!keyMatches(presented, key?.keyHash ?? null) || key === null) {
      return { refused: 'invalid' };
    }
    const now = this.clock.nowMs();
    if (key.revokedAt !== null) return { refused: 'revoked' };
    if (key.expiresAt !== null && key.expiresAt.getTime() <= now) return { refused: 'expired' };
    if (key.lastUsedAt === null || now - key.lastUsedAt.getTime() >= LAST_USED_EVERY_MS) {
      await this.keys.update({ id: key.id }, { lastUsedAt: new Date(now) });
    }
    return {
      principal: { kind: 'key', keyId: key.id, keyPrefix: key.prefix, scopes: keyScopes(key) },
    };
  }

  /**
   * Why the key may no longer be used: `revoked` (a key deleted from the table counts so too) or
   * `expired`; null while it may. Asked by open event streams, and of a task's owner key when it
   * is claimed and before each of its steps.
   */
  async refusal(keyId: string): Promise<'revoked' | 'expired' | null> {
    const key = await this.keys.findOneBy({ id: keyId });
    if (key === null || key.revokedAt !== null) return 'revoked';
    if (key.expiresAt !== null && key.expiresAt.getTime() <= this.clock.nowMs()) return 'expired';
    return null;
  }

  /** Keys ever created (revoked ones included). */
  async count(): Promise<number> {
    return this.keys.count();
  }

  /**
   * Whether requests need a key: AUTH_REQUIRED, else whether any key was ever created. When the
   * database cannot say, `orLastKnown` (the monitoring routes) takes the last answer it gave, so
   * `/health` can still report that the database is down; other routes fail with its error, and
   * so do the monitoring routes before any answer was given.
   */
  async required(setting: boolean | undefined, orLastKnown = false): Promise<boolean> {
    const known = this.knownRequired(setting);
    if (known !== undefined) return known;
    const now = this.clock.nowMs();
    try {
      this.keysExist = await this.keys.exists();
    } catch (error) {
      // Never checked (-Infinity): there is no last answer, and "no key needed" would make the
      // request the local (admin) principal.
      if (!orLastKnown || this.keysCheckedAt === -Infinity) throw error;
      return this.keysExist;
    }
    this.keysCheckedAt = now;
    return this.keysExist;
  }

  /**
   * `required`'s answer when it needs no database read (the setting, a key known to exist, or no
   * key at the last check, less than a second ago); undefined when only `required` can tell.
   */
  knownRequired(setting: boolean | undefined): boolean | undefined {
    if (setting !== undefined) return setting;
    if (this.keysExist) return true;
    if (this.clock.nowMs() - this.keysCheckedAt < NO_KEYS_RECHECK_MS) return false;
    return undefined;
  }
}
