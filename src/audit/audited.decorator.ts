import { SetMetadata } from '@nestjs/common';
import { AuditAction, AuditTarget } from 'src/audit/audit-actions';

export const AUDITED = 'audit:action';

export interface AuditedRoute {
  action: AuditAction;
  target: AuditTarget;
  /** Request body fields copied into the row's details (never free text or secrets). */
  bodyFields: readonly string[];
}

/**
 * The route's successful calls are recorded in the audit trail: the action, its target (the
 * `:id` path parameter, or the `id` of the object the route returns) and the principal, address,
 * request id, method and path of the request.
 */
export const Audited = (
  action: AuditAction,
  target: AuditTarget,
  bodyFields: readonly string[] = [],
): MethodDecorator => SetMetadata(AUDITED, { action, target, bodyFields } satisfies AuditedRoute);
