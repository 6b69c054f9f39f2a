import { AuditEvent } from 'src/audit/audit-event.entity';
import { AuditAction } from 'src/audit/audit-actions';
import { AuditEventResponseDto } from 'src/audit/dto/audit-event-response.dto';

export function toAuditEventResponse(event: AuditEvent): AuditEventResponseDto {
  return {
    id: event.id,
    created_at: event.createdAt.toISOString(),
    actor: event.actor,
    actor_key_id: event.actorKeyId,
    actor_key_prefix: event.actorKeyPrefix,
    action: event.action as AuditAction,
    target_type: event.targetType,
    target_id: event.targetId,
    status: event.status,
    ip: event.ip,
    request_id: event.requestId,
    method: event.method,
    path: event.path,
    details: event.details,
  };
}
