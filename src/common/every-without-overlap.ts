/** True for 1, 10, 100, ...: the failures in a row that are reported. */
const isPowerOfTen = (n: number): boolean => /^10*$/.test(String(n));

/**
 * Runs `job` every `ms` (and at once with `now`), never two runs at once: a tick while the last
 * run is still going starts nothing. A job stuck on a database that does not answer thus fails
 * once, in one `onError` call, not once for every tick it hung through; and a job that fails run
 * after run (the database away for a while) is reported at its 1st, 10th, 100th, ... failure in a
 * row (`inARow`), not every `ms`. Returns the interval (for `SchedulerRegistry`).
 */
export function everyWithoutOverlap(
  ms: number,
  job: () => Promise<unknown>,
  onError: (error: unknown, inARow: number) => void,
  { now = false }: { now?: boolean } = {},
): NodeJS.Timeout {
  let running = false;
  let failures = 0;
  const tick = (): void => {
    if (running) return;
    running = true;
    // Called at once; a job that throws rather than rejects is reported the same way.
    new Promise((resolve) => resolve(job()))
      .then(
        () => (failures = 0),
        (error: unknown) => {
          failures += 1;
          if (isPowerOfTen(failures)) onError(error, failures);
        },
      )
      .finally(() => (running = false));
  };
  if (now) tick();
  return setInterval(tick, ms);
}
