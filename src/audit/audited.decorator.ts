import { SetMetadata } from '@nestjs/common';
import { AuditAction, AuditTarget } from 'src/audit/audit-actions';

export const AUDITED = 'audit:action';

export interface AuditedRoute {
  action: AuditAction;
  target: AuditTarget;
  /** Request body fields copied into the row's details (never free text or secrets). */
  bodyFields: readonly string[];
  /**
   * Fields of the route's answer copied into the row's details, after the body's (a field in
   * both is the answer's): what the call did that the request left to the server (a merge's
   * branch and commits), still on record once what it acted on is deleted.
   */
  resultFields: readonly string[];
}

/**
 * The route's successful calls are recorded in the audit trail: the action, its target (the
 * `:id` path parameter, or the `id` of the object the route returns) and the principal, address,
 * request id, method and path of the request, with the body's and the answer's fields it names.
 */
export const Audited = (
  action: AuditAction,
  target: AuditTarget,
  bodyFields: readonly string[] = [],
  resultFields: readonly string[] = [],
): MethodDecorator =>
  SetMetadata(AUDITED, { action, target, bodyFields, resultFields } satisfies AuditedRoute);
