import { firstValueFrom } from 'rxjs';
import { ClockPort, ProcessPort, RunLog } from 'src/orchestrator/run/run-ports';

/** How often a lingering process group is looked at while waiting for it to end. */
const POLL_MS = 50;

/**
 * THE PROCESS GROUP A RUN HAS RUNNING NOW (the CLI of a turn, or a test command). Its id is
 * stored on the task (`process_group_id`) while it runs, so a server that restarts after a crash
 * can end it. When a step ends, or the run is stopped, `settle` waits for the group to be gone
 * and ends it when it lingers, so nothing of a task outlives its step.
 */
export class ProcessTracker {
  private pgid: number | null = null;

  constructor(
    private readonly log: RunLog,
    private readonly processes: ProcessPort,
    private readonly clock: ClockPort,
    private readonly killGraceMs: number,
  ) {}

  get running(): boolean {
    return this.pgid !== null;
  }

  /** A step spawned group `pgid`: remember it, on the task too. */
  async started(pgid: number): Promise<void> {
    this.pgid = pgid;
    await this.log.update({ processGroupId: pgid });
  }

  /**
   * Ends the group now (SIGINT first: the CLI ends its turn as with Ctrl-C, keeping its
   * conversation), for a turn a person interrupted; `settle` then finds it gone.
   */
  async interrupt(): Promise<void> {
    const pgid = this.pgid;
    if (pgid !== null && this.processes.isGroupAlive(pgid)) {
      await this.processes.endGroup(pgid, this.killGraceMs);
    }
  }

  /**
   * Waits until the group is gone (its own runner ends it: the CLI runner after the result line,
   * `runProcess` on unsubscribe), ending it after two grace periods; then forgets it. The caller
   * clears `process_group_id` with its next write.
   */
  async settle(): Promise<void> {
    const pgid = this.pgid;
    if (pgid === null) return;
    const deadline = this.clock.nowMs() + 2 * this.killGraceMs + 2000;
    while (this.processes.isGroupAlive(pgid) && this.clock.nowMs() < deadline) {
      await firstValueFrom(this.clock.delay(POLL_MS));
    }
    if (this.processes.isGroupAlive(pgid)) await this.processes.endGroup(pgid, this.killGraceMs);
    this.pgid = null;
  }
}
