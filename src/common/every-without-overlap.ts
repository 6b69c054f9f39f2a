/**
 * Runs `job` every `ms` (and at once with `now`), never two runs at once: a tick while the last
 * run is still going starts nothing. A job stuck on a database that does not answer thus fails
 * once, in one `onError` call, not once for every tick it hung through. Returns the interval
 * (for `SchedulerRegistry`).
 */
export function everyWithoutOverlap(
  ms: number,
  job: () => Promise<unknown>,
  onError: (error: unknown) => void,
  { now = false }: { now?: boolean } = {},
): NodeJS.Timeout {
  let running = false;
  const tick = (): void => {
    if (running) return;
    running = true;
    // Called at once; a job that throws rather than rejects is reported the same way.
    new Promise((resolve) => resolve(job())).catch(onError).finally(() => (running = false));
  };
  if (now) tick();
  return setInterval(tick, ms);
}
