import { Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';

/**
 * Tells the orchestrator that a task was queued, so it claims it now instead of at its next poll.
 * Lives in the Tasks module so the API does not depend on the orchestrator.
 */
@Injectable()
export class TaskQueueSignal {
  private readonly queued = new Subject<string>();
  readonly queued$: Observable<string> = this.queued.asObservable();

  taskQueued(taskId: string): void {
    this.queued.next(taskId);
  }
}
