import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { Observable, Subject } from 'rxjs';

/** A request refused with 401 or 403, as it is answered. */
export interface RequestDenial {
  req: Request;
  status: number;
  code: string;
}

/**
 * Every request answered 401 or 403 is reported here (by the exception filter, and by the checks
 * that run before Nest's routing: the Host check and the /docs gate), so the audit trail can
 * record each one without the request pipeline depending on it.
 */
@Injectable()
export class RequestDenials {
  private readonly denials = new Subject<RequestDenial>();
  readonly denied$: Observable<RequestDenial> = this.denials.asObservable();

  report(req: Request, status: number, code: string): void {
    if (status === 401 || status === 403) this.denials.next({ req, status, code });
  }
}
