import type { Logger } from '@nestjs/common';

/** True for 1, 10, 100, ...: the failures in a row that are reported though nothing changed. */
const isPowerOfTen = (n: number): boolean => /^10*$/.test(String(n));

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** What a periodic job's failures are reported through. */
export interface JobReports {
  /** A failure: the first of a row, one whose message differs from the last reported, or the 10th, 100th, ... in a row. */
  failed(error: unknown, inARow: number): void;
  /** The first run that succeeded after `failures` in a row. */
  recovered(failures: number): void;
}

/** Reports that go to `logger`: `<what> failed (N in a row): ...`, `<what> works again ...`. */
export function loggedReports(logger: Pick<Logger, 'error' | 'log'>, what: string): JobReports {
  return {
    failed: (error, inARow) =>
      logger.error(`${what} failed (${inARow} in a row): ${String(error)}`),
    recovered: (failures) =>
      logger.log(`${what} works again after ${failures} failure(s) in a row`),
  };
}

/**
 * Runs `job` every `ms` (and at once with `now`), never two runs at once: a tick while the last
 * run is still going starts nothing. A job stuck on a database that does not answer thus fails
 * once, in one report, not once for every tick it hung through; and a job that fails run after
 * run the same way (the database away for a while) is reported at its 1st, 10th, 100th, ...
 * failure in a row (`inARow`), not every `ms`, and once more when it runs again. Returns the
 * interval (for `SchedulerRegistry`).
 */
export function everyWithoutOverlap(
  ms: number,
  job: () => Promise<unknown>,
  reports: JobReports,
  { now = false }: { now?: boolean } = {},
): NodeJS.Timeout {
  let running = false;
  let failures = 0;
  let lastReported = '';
  const tick = (): void => {
    if (running) return;
    running = true;
    // Called at once; a job that throws rather than rejects is reported the same way.
    new Promise((resolve) => resolve(job()))
      .then(
        () => {
          if (failures > 0) reports.recovered(failures);
          failures = 0;
        },
        (error: unknown) => {
          failures += 1;
          const message = messageOf(error);
          if (failures === 1 || message !== lastReported || isPowerOfTen(failures)) {
            lastReported = message;
            reports.failed(error, failures);
          }
        },
      )
      .finally(() => (running = false));
  };
  if (now) tick();
  return setInterval(tick, ms);
}
