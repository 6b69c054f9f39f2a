import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { concatMap, from, catchError, EMPTY, Subscription } from 'rxjs';
import { RequestDenials } from 'src/common';
import { AuditService } from 'src/audit/audit.service';

/**
 * Records every request answered 401 or 403, and every 404 that hid another key's session or task
 * (`owned_by_another_key`), as `request.denied` with its error code.
 */
@Injectable()
export class AuditDenialsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Audit');
  private subscription?: Subscription;

  constructor(
    private readonly denials: RequestDenials,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.subscription = this.denials.denied$
      .pipe(
        concatMap(({ req, status, code, hidden }) =>
          from(
            this.audit.recordRequest(req, status, {
              action: 'request.denied',
              details: hidden ? { code, owned_by_another_key: true } : { code },
            }),
          ).pipe(
            catchError((error: unknown) => {
              this.logger.error(
                `could not record a denied request: ${error instanceof Error ? error.message : String(error)}`,
              );
              return EMPTY;
            }),
          ),
        ),
      )
      .subscribe();
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }
}
