/** Samples `sample` every `everyMs` until `stop` settles. */
export async function every(
  everyMs: number,
  stop: Promise<unknown>,
  sample: () => Promise<void>,
): Promise<void> {
  let done = false;
  void stop.finally(() => (done = true));
  while (!done) {
    await sample();
    await Promise.race([new Promise((r) => setTimeout(r, everyMs)), stop.catch(() => undefined)]);
  }
}

/**
 * The server's own event-loop delay p99 in ms: prom-client's `nodejs_eventloop_lag_p99_seconds`
 * from `/metrics` (10 ms resolution, reset at each scrape).
 */
export async function scrapeLoopP99(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = /^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text);
  if (line === null) throw new Error('no nodejs_eventloop_lag_p99_seconds in /metrics');
  return Number(line[1]) * 1000;
}
