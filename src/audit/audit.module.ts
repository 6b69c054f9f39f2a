import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditController } from 'src/audit/audit.controller';
import { AuditDenialsService } from 'src/audit/audit-denials.service';
import { AuditEvent } from 'src/audit/audit-event.entity';
import { AuditInterceptor } from 'src/audit/audit.interceptor';
import { AuditService } from 'src/audit/audit.service';

/**
 * The audit trail: `audit_events`, written by `@Audited` routes (through the interceptor), by the
 * record of requests refused with 401/403, and by the key command line; read by admins at
 * `GET /api/v1/audit`.
 */
@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent])],
  controllers: [AuditController],
  providers: [
    AuditService,
    AuditDenialsService,
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
  ],
  exports: [AuditService],
})
export class AuditModule {}
