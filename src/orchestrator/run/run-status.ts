import { NewInteraction, StatusReason, TaskPatch, TaskStatus } from 'src/tasks';
import { RunLog } from 'src/orchestrator/run/run-ports';
import { RunState } from 'src/orchestrator/run/run-state';

/**
 * A run's status changes, through the event log (transition table, `status` record). The status
 * the run believes in (`state.status`) changes only once the write succeeded; `settled()` waits for
 * a write still in flight (a stop can cut a step off in the middle of one).
 */
export class RunStatus {
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly state: RunState,
    private readonly log: RunLog,
  ) {}

  /**
   * To `to` (the task stays live); only the reason and `patch` when it already is there.
   * `records` are appended first, in the same write.
   */
  async moveTo(
    to: TaskStatus,
    reason: StatusReason,
    patch: TaskPatch = {},
    records: readonly NewInteraction[] = [],
  ): Promise<void> {
    if (to === this.state.status) {
      await this.log.write(records, { ...patch, statusReason: reason });
      return;
    }
    await this.track(to, () =>
      this.log.changeStatus(
        { from: this.state.status, to, reason, iteration: this.state.iteration },
        patch,
        records,
      ),
    );
  }

  /**
   * Lets go of the task: to PENDING (re-queued), PAUSED (waiting for a person) or a terminal
   * status. Its phase becomes `queued` or `done` unless `patch` names one.
   */
  async release(to: TaskStatus, reason: StatusReason, patch: TaskPatch = {}): Promise<void> {
    await this.track(to, () =>
      this.log.release(
        { from: this.state.status, to, reason, iteration: this.state.iteration },
        { phase: to === TaskStatus.Pending ? 'queued' : 'done', ...patch },
      ),
    );
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
