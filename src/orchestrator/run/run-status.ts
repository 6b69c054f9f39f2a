import { MessageGuard, NewInteraction, StatusReason, TaskPatch, TaskStatus } from 'src/tasks';
import { RunLog } from 'src/orchestrator/run/run-ports';
import { RunState } from 'src/orchestrator/run/run-state';

/**
 * A status change a step asked for after the run was stopped (`RunStatus.stopSteps`): refused. The
 * step was cut off and nobody waits for it; the run's own end says what became of the task.
 */
export class RunStoppedError extends Error {
  constructor(to: TaskStatus) {
    super(`the run was stopped: a cut-off step's change to ${to} is not made`);
    this.name = 'RunStoppedError';
  }
}

/** Who changes the status: a step of the run, or the run's own end (`settle`, `onError`). */
export type StatusWriter = 'step' | 'run';

/**
 * A run's status changes, through the event log (transition table, `status` record). The status
 * the run believes in (`state.status`) changes only once the write succeeded; `settled()` waits for
 * a write still in flight (a stop can cut a step off in the middle of one). A step cut off by a
 * stop may still go on (an unsubscribed async step runs to its end: a commit finishing, then the
 * COMPLETED it leads to): once the run acts on the stop (`stopSteps`), its changes are refused.
 */
export class RunStatus {
  private inFlight: Promise<unknown> = Promise.resolve();
  private stepsStopped = false;

  constructor(
    private readonly state: RunState,
    private readonly log: RunLog,
  ) {}

  /**
   * To `to` (the task stays live); only the reason and `patch` when it already is there.
   * `records` are appended first, in the same write (with `guard`: see `RunLog.write`).
   */
  async moveTo(
    to: TaskStatus,
    reason: StatusReason,
    patch: TaskPatch = {},
    records: readonly NewInteraction[] = [],
    guard?: MessageGuard,
  ): Promise<void> {
    this.checkStep(to);
    if (to === this.state.status) {
      await this.log.write(records, { ...patch, statusReason: reason }, guard);
      return;
    }
    await this.track(to, () =>
      this.log.changeStatus(
        { from: this.state.status, to, reason, iteration: this.state.iteration },
        patch,
        records,
        guard,
      ),
    );
  }

  /**
   * Lets go of the task: to PENDING (re-queued), PAUSED (waiting for a person) or a terminal
   * status. Its phase becomes `queued` or `done` unless `patch` names one. `records` are appended
   * first, in the same write (with `guard`: see `RunLog.write`).
   */
  async release(
    to: TaskStatus,
    reason: StatusReason,
    patch: TaskPatch = {},
    by: StatusWriter = 'step',
    records: readonly NewInteraction[] = [],
    guard?: MessageGuard,
  ): Promise<void> {
    if (by === 'step') this.checkStep(to);
    await this.track(to, () =>
      this.log.release(
        { from: this.state.status, to, reason, iteration: this.state.iteration },
        { phase: to === TaskStatus.Pending ? 'queued' : 'done', ...patch },
        records,
        guard,
      ),
    );
  }

  /**
   * The run acts on a stop: from now on a step's status change is refused (`RunStoppedError`);
   * only the run's own end (`by: 'run'`) changes the status.
   */
  stopSteps(): void {
    this.stepsStopped = true;
  }

  private checkStep(to: TaskStatus): void {
    if (this.stepsStopped) throw new RunStoppedError(to);
  }

  /** Resolves once no status write is in flight (whatever its result). */
  async settled(): Promise<void> {
    await this.inFlight;
  }

  /** Runs a status write; `state.status` becomes `to` when it succeeds, before `settled()` resolves. */
  private track(to: TaskStatus, write: () => Promise<void>): Promise<void> {
    const done = write().then(() => {
      this.state.status = to;
    });
    this.inFlight = done.catch(() => undefined);
    return done;
  }
}
