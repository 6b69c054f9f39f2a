/**
 * PROCESS GROUPS KNOWN TO BE GONE: the groups the spawn helper found empty as their child was
 * over (the 'c' frame, `spawn-helper.ts`). An empty group cannot be joined again, so until a new process
 * takes its id (a child started with that pid) it stays gone; asking `kill(-pgid, 0)` again
 * costs an exception in Node, and the run asks after each of its steps. An entry is kept for
 * KEPT_MS (far less than the system takes to hand out a pid again) and at most MAX_KEPT of them.
 */
const KEPT_MS = 10_000;
const MAX_KEPT = 4096;

/** pgid -> when it was found gone (ms). */
const gone = new Map<number, number>();

export const goneGroups = {
  /** The group `pgid` was found empty now. */
  note(pgid: number): void {
    gone.delete(pgid);
    gone.set(pgid, Date.now());
    if (gone.size > MAX_KEPT) gone.delete(gone.keys().next().value as number);
  },

  /** A process with id `pid` started: a group of that id may exist again. */
  forget(pid: number): void {
    gone.delete(pid);
  },

  /** True while `pgid` is known to be gone. */
  has(pgid: number): boolean {
    const at = gone.get(pgid);
    if (at === undefined) return false;
    if (Date.now() - at <= KEPT_MS) return true;
    gone.delete(pgid);
    return false;
  },
};
