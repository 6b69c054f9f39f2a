import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';
import { Clock, DomainError, ErrorCode } from 'src/common';
import { EntityColumns, isUniqueViolation, SqlStep } from 'src/database';
import { IdempotencyKey } from 'src/idempotency/idempotency-key.entity';

/** How long a key and its answer are kept. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * A request still "in progress" after this long was cut off (its server died before its creation
 * committed, which would have stored the answer): a retry takes over.
 */
export const ABANDONED_AFTER_MS = 60_000;
/** How often expired keys are deleted (on the way, by a request). */
const CLEANUP_EVERY_MS = 10 * 60_000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** What a request carrying an `Idempotency-Key` does. */
export type IdempotencyOutcome =
  | { kind: 'replay'; status: number; body: unknown }
  | {
      kind: 'proceed';
      /**
       * The statement that stores the answer for the retries to come, for the creating service to
       * run in the transaction that writes the new row (`IdempotencyClaim`).
       */
      answer(status: number, body: unknown): SqlStep;
      /**
       * The request failed: forget the key, so a retry runs it again. A key whose answer was
       * stored, its creation committed, is kept.
       */
      abandon(): Promise<void>;
    };

/** A stable JSON text of `value`: object keys sorted, so equal bodies hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * IDEMPOTENT CREATION. A creating request may carry `Idempotency-Key: <any 1-255 visible ASCII
 * characters>`. The first request with a key runs and its successful answer is kept for 24
 * hours; a retry with the same key and body gets that answer again (nothing is created twice);
 * the same key with another body is 422 `idempotency_key_reused`; a retry while the first is
 * still running is 409 `idempotency_request_in_progress`. The answer is stored in the transaction
 * that creates the row (`IdempotencyClaim`), so a creation is never repeated once committed, even
 * when its request failed afterwards or its server died before answering. A request that fails
 * before its creation committed leaves no trace, so its retry runs again. Keys are scoped by
 * method, route and caller (the API key; else the local operator), so one caller's key never
 * answers, or reveals, another's request.
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger(IdempotencyService.name);
  private lastCleanupMs = 0;
  private readonly columns: EntityColumns<IdempotencyKey>;
  private readonly answerSql: string;

  constructor(
    @InjectRepository(IdempotencyKey) private readonly keys: Repository<IdempotencyKey>,
    private readonly clock: Clock,
  ) {
    const dataSource = keys.manager.connection;
    this.columns = new EntityColumns(dataSource, IdempotencyKey);
    const name = (property: string) =>
      dataSource.driver.escape(this.columns.column(property).databaseName);
    this.answerSql =
      `UPDATE ${dataSource.driver.escape(this.columns.tableName)} SET ${name('state')} = ?, ` +
      `${name('responseStatus')} = ?, ${name('responseBody')} = ? ` +
      `WHERE ${name('keyHash')} = ? AND ${name('createdAt')} = ? AND ${name('state')} = ?`;
  }

  async begin(scope: string, key: string, body: unknown): Promise<IdempotencyOutcome> {
    if (!KEY_PATTERN.test(key)) {
      throw new DomainError(
        ErrorCode.ValidationFailed,
        'Idempotency-Key must be 1 to 255 visible ASCII characters',
      );
    }
    this.cleanUpNowAndThen();
    const keyHash = sha256(`${scope}\0${key}`);
    const requestHash = sha256(canonical(body));
    for (;;) {
      const now = this.clock.now();
      try {
        await this.keys.insert({
          keyHash,
          requestHash,
          state: 'in_progress',
          responseStatus: null,
          responseBody: null,
          createdAt: now,
          expiresAt: new Date(now.getTime() + IDEMPOTENCY_KEY_TTL_MS),
        });
        return this.proceed(keyHash, now);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
      const stored = await this.keys.findOneBy({ keyHash });
      if (stored === null) continue;
      if (stored.expiresAt.getTime() <= now.getTime()) {
        await this.keys.delete({ keyHash, createdAt: stored.createdAt });
        continue;
      }
      if (stored.requestHash !== requestHash) {
        throw new DomainError(
          ErrorCode.IdempotencyKeyReused,
          'This Idempotency-Key was already used with a different request body',
        );
      }
      if (stored.state === 'done') {
        return {
          kind: 'replay',
          status: stored.responseStatus ?? 200,
          body:
            stored.responseBody === null ? undefined : (JSON.parse(stored.responseBody) as unknown),
        };
      }
      if (now.getTime() - stored.createdAt.getTime() < ABANDONED_AFTER_MS) {
        throw new DomainError(
          ErrorCode.IdempotencyRequestInProgress,
          'A request with this Idempotency-Key is still in progress; retry in a moment',
        );
      }
      const taken = await this.keys.update(
        { keyHash, createdAt: stored.createdAt, state: 'in_progress' },
        { createdAt: now },
      );
      if (taken.affected) return this.proceed(keyHash, now);
    }
  }

  private proceed(keyHash: string, startedAt: Date): IdempotencyOutcome {
    return {
      kind: 'proceed',
      // Fenced by the start time, as the takeover above changes it: a request whose key was
      // taken over stores nothing, and its creation is rolled back.
      answer: (status, body) => ({
        sql: this.answerSql,
        params: [
          'done',
          status,
          body === undefined ? null : JSON.stringify(body),
          keyHash,
          this.keys.manager.connection.driver.preparePersistentValue(
            startedAt,
            this.columns.column('createdAt'),
          ) as unknown,
          'in_progress',
        ],
        required: true,
      }),
      abandon: async () => {
        await this.keys.delete({ keyHash, createdAt: startedAt, state: 'in_progress' });
      },
    };
  }

  private cleanUpNowAndThen(): void {
    const now = this.clock.nowMs();
    if (now - this.lastCleanupMs < CLEANUP_EVERY_MS) return;
    this.lastCleanupMs = now;
    this.keys.delete({ expiresAt: LessThan(new Date(now)) }).catch((error: unknown) => {
      this.logger.warn(`Deleting expired idempotency keys failed: ${String(error)}`);
    });
  }
}
