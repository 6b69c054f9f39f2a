import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { everyWithoutOverlap, loggedReports } from 'src/common';
import { HumanWaits } from 'src/tasks';

const SWEEP_INTERVAL_NAME = 'human-wait-sweep';

/** How often waits are checked for a `human_timeout_seconds` that ran out. */
const SWEEP_INTERVAL_MS = 1000;

/**
 * WAITS FOR A PERSON END. Every second, tasks waiting for a person whose `human_timeout_seconds`
 * ran out go back to the queue (`HumanWaits.resume`, reason `human_timeout`); their run resumes
 * with the reply the simulated human held for them. Every instance sweeps; the resume is
 * conditional, so each wait ends once.
 */
@Injectable()
export class HumanWaitSweeperService implements OnModuleDestroy {
  private readonly logger = new Logger('HumanWaitSweeper');

  constructor(
    private readonly waits: HumanWaits,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  schedule(): void {
    const handle = everyWithoutOverlap(
      SWEEP_INTERVAL_MS,
      () => this.sweep(),
      loggedReports(this.logger, 'Human-wait sweep'),
    );
    this.scheduler.addInterval(SWEEP_INTERVAL_NAME, handle);
  }

  /** One sweep (one at a time: `everyWithoutOverlap`). */
  private async sweep(): Promise<void> {
    for (const task of await this.waits.due()) {
      if (await this.waits.resume(task.id, task.iteration, 'human_timeout')) {
        this.logger.log(`Task ${task.id}: nobody answered in time; the simulated human does`);
      }
    }
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', SWEEP_INTERVAL_NAME)) {
      this.scheduler.deleteInterval(SWEEP_INTERVAL_NAME);
    }
  }
}
