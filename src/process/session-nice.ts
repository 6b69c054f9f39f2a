import { readFileSync, writeFileSync } from 'node:fs';

/** The most a niceness can be. */
const MAX_NICE = 19;

/** The niceness `steps` nicer than `nice`, at most 19: a process's, or a session's. */
export function nicerBy(nice: number, steps: number): number {
  return Math.min(MAX_NICE, nice + steps);
}

const AUTOGROUP_LINE = /^\/autogroup-\d+ nice (-?\d+)\s*$/;

/** The niceness of the scheduling group of `pid`'s session; 0 where there is none. */
export function sessionNiceOf(pid: number | 'self'): number {
  try {
    const match = AUTOGROUP_LINE.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

/** Past the kernel's limit of one change every 100 ms for a process without CAP_SYS_ADMIN. */
const RETRY_MS = 150;

/**
 * A SESSION'S SHARE OF A BUSY MACHINE. With Linux's autogroup scheduling (on by default) every
 * session is one scheduling group, and the groups share the cores by the group's own niceness
 * (`/proc/<pid>/autogroup`), whatever the niceness of the processes in them. So a session of
 * children niced 10 still weighs as much as the server's session: when 200 agents and their test
 * runs kept both cores busy, the server's thread waited 160–290 ms a second for a core
 * (test/bench/RESULTS.md). Giving the children's session the niceness its processes have makes
 * CHILD_NICE hold between the sessions too.
 *
 * Makes the scheduling group of `pid`'s session `steps` nicer than that of `than`'s session (at
 * most 19), best effort. Where there is no autogroup scheduling (the file is not there) nothing
 * changes. A refusal (EAGAIN: the kernel takes one change every 100 ms from a process without
 * CAP_SYS_ADMIN) is tried once more, 150 ms later; the change holds for every process of the
 * session, those started in between too.
 */
export function makeSessionNicer(pid: number | 'self', than: number | 'self', steps: number): void {
  if (steps <= 0) return;
  const nice = nicerBy(sessionNiceOf(than), steps);
  if (!writeSessionNice(pid, nice)) {
    setTimeout(() => writeSessionNice(pid, nice), RETRY_MS).unref();
  }
}

function writeSessionNice(pid: number | 'self', nice: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
    return true;
  } catch {
    return false;
  }
}
