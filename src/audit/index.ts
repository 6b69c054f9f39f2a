export { AUDIT_ACTIONS } from 'src/audit/audit-actions';
export type { AuditAction, AuditTarget } from 'src/audit/audit-actions';
export { AuditEvent } from 'src/audit/audit-event.entity';
export { AuditModule } from 'src/audit/audit.module';
export { AuditService } from 'src/audit/audit.service';
export type { AuditEntry } from 'src/audit/audit.service';
export { Audited } from 'src/audit/audited.decorator';
