import { Observable, ReplaySubject, Subject } from 'rxjs';

/** Why a running task's pipeline was stopped from outside. */
export type StopSignal = 'cancel' | 'shutdown' | 'lease_lost';

/**
 * The handle the orchestrator keeps per running task to stop its pipeline: `stop` emits on
 * `stopped$`, which the run's steps are taken until; the first signal wins. `interrupt` asks the
 * run to end its agent turn under way (a person's message sent with `interrupt`): the run decides
 * whether there is one to end.
 */
export class TaskRunControl {
  private signal: StopSignal | null = null;
  private readonly stopped = new ReplaySubject<StopSignal>(1);
  readonly stopped$: Observable<StopSignal> = this.stopped.asObservable();
  private readonly interrupts = new Subject<void>();
  readonly interrupt$: Observable<void> = this.interrupts.asObservable();

  interrupt(): void {
    this.interrupts.next();
  }

  stop(signal: StopSignal): void {
    if (this.signal !== null) return;
    this.signal = signal;
    this.stopped.next(signal);
  }

  get reason(): StopSignal | null {
    return this.signal;
  }
}
