/**
 * How long a condition that must come true may take before a test gives up on it. Not a
 * performance budget: a loaded machine makes things slower, and a wait only fails when something
 * that must happen did not happen at all. (A task's progress is watched more finely by
 * `waitForTerminal`.)
 */
export const GIVE_UP_MS = 120_000;

/** Waits for `check` to come true, polling; throws naming `what` after GIVE_UP_MS. */
export async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  giveUpMs = GIVE_UP_MS,
): Promise<void> {
  const deadline = Date.now() + giveUpMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${giveUpMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
