import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { readDatabaseClock } from 'src/database';
import { Clock } from 'src/common/clock';
import { everyWithoutOverlap, loggedReports } from 'src/common/every-without-overlap';

/**
 * How often the database's clock is read again: the monotonic clock the `Clock` keeps time by
 * in between drifts a little, and stops while the machine sleeps.
 */
const EVERY_MS = 30_000;

/** An offset past this is said in the log: a machine whose clock is that wrong wants fixing. */
const WARN_OFFSET_MS = 1000;

/**
 * Sets the `Clock` to the database's clock, read at start (before any task is claimed) and every
 * EVERY_MS after, against the `Clock`'s monotonic clock (a step of this machine's wall clock in
 * between changes nothing). Instances of one MySQL/MariaDB database thus judge leases and
 * deadlines, and stamp what they store, by one clock; a machine's clock set wrong neither takes
 * a healthy task from another instance nor ends a wait for a person early. On SQLite the
 * database's clock is this machine's wall clock, read by SQLite: the `Clock` follows its steps
 * at the next reading. How far this machine's wall clock is from the database's is said in the
 * log when over WARN_OFFSET_MS. A module of its own: it needs the database, and the rest of
 * `common` does not.
 */
@Injectable()
export class ClockSync implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Clock');
  private handle: NodeJS.Timeout | undefined;
  /** The offset last said in the log; null while none was. */
  private warnedMs: number | null = null;

  constructor(
    private readonly clock: Clock,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.measure();
    this.handle = everyWithoutOverlap(
      EVERY_MS,
      () => this.measure(),
      loggedReports(this.logger, "Reading the database's clock"),
    );
  }

  /** Reads the database's clock and follows it. */
  async measure(): Promise<void> {
    const reading = await readDatabaseClock(this.dataSource, () => this.clock.monotonicMs());
    this.clock.follow(reading.offsetMs);
    const offsetMs = Math.round(this.clock.offset());
    const far = Math.abs(offsetMs) > WARN_OFFSET_MS;
    if (far && (this.warnedMs === null || Math.abs(offsetMs - this.warnedMs) > WARN_OFFSET_MS)) {
      this.warnedMs = offsetMs;
      this.logger.warn(
        `This machine's clock is ${(Math.abs(offsetMs) / 1000).toFixed(1)} s ` +
          `${offsetMs > 0 ? 'behind' : 'ahead of'} the database's (offset ${offsetMs} ms): ` +
          "leases, deadlines and stored times follow the database's clock",
      );
    }
    if (!far) this.warnedMs = null;
  }

  onModuleDestroy(): void {
    if (this.handle !== undefined) clearInterval(this.handle);
  }
}
