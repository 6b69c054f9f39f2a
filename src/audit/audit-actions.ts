/**
 * What the audit trail records. A new kind of action worth recording (a merge, a message) is one
 * more entry here and `@Audited('<action>', '<target>')` on its route.
 */
export const AUDIT_ACTIONS = [
  'api_key.create',
  'api_key.revoke',
  'session.create',
  'session.delete',
  'task.create',
  'task.cancel',
  'task.delete',
  'task.message',
  'task.merge',
  'task.retry',
  'request.denied',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export type AuditTarget = 'api_key' | 'session' | 'task';
