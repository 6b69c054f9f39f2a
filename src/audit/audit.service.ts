import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Request } from 'express';
import { FindOptionsWhere, Repository } from 'typeorm';
import { Principal, principalOf, RequestWithPrincipal } from 'src/access';
import { Clock, pathWithoutQuery, requestIdOf } from 'src/common';
import { AtomicWriter, RowInsert } from 'src/database';
import { SecretScrubber } from 'src/logging';
import { AuditAction, AuditTarget } from 'src/audit/audit-actions';
import { AuditActor, AuditEvent } from 'src/audit/audit-event.entity';
import { AuditQueryDto } from 'src/audit/dto/audit-query.dto';

/** One entry of the trail, before it is stored. */
export interface AuditEntry {
  action: AuditAction;
  target?: { type: AuditTarget; id: string } | null;
  details?: Record<string, unknown> | null;
}

const PATH_MAX = 500;

/**
 * `value` with every string in it (deeply, in arrays and objects) scrubbed as the log is
 * (`SecretScrubber`); anything else as it is.
 */
function scrubbed(value: unknown, scrubber: SecretScrubber): unknown {
  if (typeof value === 'string') return scrubber.scrub(value);
  if (Array.isArray(value)) return value.map((v) => scrubbed(v, scrubber));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubbed(v, scrubber)]));
  }
  return value;
}

function actorOf(principal: Principal | null): AuditActor {
  return principal === null ? 'anonymous' : principal.kind;
}

/**
 * THE AUDIT TRAIL (`audit_events`): who did what, when, from where. Rows are only ever added; an
 * admin reads them through `GET /api/v1/audit`. Routes record through `@Audited` (after they
 * succeeded); refused requests (401/403) are recorded as `request.denied`; the command line
 * records the keys it creates and revokes. What a row keeps of the caller's own text (the path, a
 * request id it sent, a route's `:id`, the body fields recorded, a key's name) goes through the
 * log's `SecretScrubber` first: a key sent in a path (`/api/v1/sessions/<key>`) is kept as the
 * request log keeps it, its prefix and `[REDACTED]`.
 */
@Injectable()
export class AuditService {
  private readonly rows: RowInsert<AuditEvent>;

  constructor(
    @InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>,
    private readonly writer: AtomicWriter,
    private readonly clock: Clock,
    private readonly scrubber: SecretScrubber,
  ) {
    this.rows = new RowInsert(events.manager.connection, AuditEvent);
  }

  /** Records an action taken through an HTTP request, with its status. */
  async recordRequest(req: Request, status: number, entry: AuditEntry): Promise<void> {
    const principal = principalOf(req as RequestWithPrincipal);
    await this.insert({
      actor: actorOf(principal),
      actorKeyId: principal?.keyId ?? null,
      actorKeyPrefix: principal?.keyPrefix ?? null,
      status,
      ip: (req.ip ?? req.socket?.remoteAddress ?? '').slice(0, 64) || null,
      requestId: this.scrubber.scrub(requestIdOf(req)).slice(0, 128),
      method: this.scrubber.scrub(req.method).slice(0, 10),
      // Scrubbed whole, then cut: a key cut in two would no longer be recognised.
      path: this.scrubber.scrub(pathWithoutQuery(req)).slice(0, PATH_MAX),
      ...this.fields(entry),
    });
  }

  /** Records an action taken on the command line (`npm run api-key`). */
  async recordCli(entry: AuditEntry): Promise<void> {
    await this.insert({
      actor: 'cli',
      actorKeyId: null,
      actorKeyPrefix: null,
      status: null,
      ip: null,
      requestId: null,
      method: null,
      path: null,
      ...this.fields(entry),
    });
  }

  /** A page of the trail, newest first. */
  async list(query: AuditQueryDto): Promise<[AuditEvent[], number]> {
    const where: FindOptionsWhere<AuditEvent> = {};
    if (query.action) where.action = query.action;
    if (query.actor_key_id) where.actorKeyId = query.actor_key_id.toLowerCase();
    if (query.target_id) where.targetId = query.target_id.toLowerCase();
    return this.events.findAndCount({
      where,
      order: { id: 'DESC' },
      take: query.limit,
      skip: query.offset,
    });
  }

  private fields(
    entry: AuditEntry,
  ): Pick<AuditEvent, 'action' | 'targetType' | 'targetId' | 'details'> {
    return {
      action: entry.action,
      targetType: entry.target?.type ?? null,
      targetId: entry.target ? this.scrubber.scrub(entry.target.id).slice(0, 64) : null,
      details:
        entry.details === undefined || entry.details === null
          ? null
          : (scrubbed(entry.details, this.scrubber) as Record<string, unknown>),
    };
  }

  private async insert(row: Omit<AuditEvent, 'id' | 'createdAt'>): Promise<void> {
    await this.writer.run([this.rows.step({ ...row, createdAt: this.clock.now() })]);
  }
}
