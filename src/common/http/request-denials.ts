import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { Observable, Subject } from 'rxjs';

/** A request refused with 401 or 403, or answered not found for another key's object. */
export interface RequestDenial {
  req: Request;
  status: number;
  code: string;
  /** Answered as not found, though the object exists: it belongs to another key. */
  hidden: boolean;
}

/**
 * Every request answered 401 or 403 is reported here (by the exception filter, and by the checks
 * that run before Nest's routing: the Host check and the /docs gate), and every not-found that
 * hid another key's object (`hidden`, by the exception filter), so the audit trail can record
 * each one without the request pipeline depending on it.
 */
@Injectable()
export class RequestDenials {
  private readonly denials = new Subject<RequestDenial>();
  readonly denied$: Observable<RequestDenial> = this.denials.asObservable();

  report(req: Request, status: number, code: string, hidden = false): void {
    if (hidden || status === 401 || status === 403) {
      this.denials.next({ req, status, code, hidden });
    }
  }
}
