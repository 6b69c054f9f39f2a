import { Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';

/**
 * Tells the orchestrator that a person's message asked to interrupt a task's agent turn, so a run
 * on this instance acts now instead of at its next look at the database (`interrupt_requested`,
 * which a run on another instance sees). Lives in the Tasks module so the API does not depend on
 * the orchestrator.
 */
@Injectable()
export class TaskInterruptSignal {
  private readonly requested = new Subject<string>();
  readonly requested$: Observable<string> = this.requested.asObservable();

  interruptRequested(taskId: string): void {
    this.requested.next(taskId);
  }
}
