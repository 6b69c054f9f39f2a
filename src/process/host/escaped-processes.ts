import { isAtOrUnder, isZombie, processStat } from 'src/process/process-group';
import { isHelperSession, markedProcesses } from 'src/process/server-processes';

/** How far up its parents a process is followed to a child of the host or of a spawn helper. */
const MAX_ANCESTORS = 64;

/**
 * PROCESSES THAT OUTLIVE THEIR TASK'S RUN. Ending a child's process group ends everything it
 * started, except what left the group: for a session of its own (`setsid`: a daemon, a dev server,
 * a background job a test suite starts), or for another group in the same session (`setpgid`: a
 * shell's job control). Every child carries its directory and the server's pid (`childMarks`), so
 * once a task has let go of its directory the process host looks for such processes there and ends
 * them (`ProcessHost`, on `release`).
 *
 * A process marked so is left alone while it is in a session of the server's own making (the
 * host's, a spawn helper's (`isHelperSession`), or one that a child of the host leads: without a
 * group leader each child leads a session, `group-leader.ts`) and runs under the server's running
 * children: in a group the host knows of (those it runs, stops or was told of), below a live child
 * of the host or of a spawn helper (its parents lead there), or in a group led by such a process.
 * Those are the server's running children and what they run (a `git` call for a diff in a finished
 * task's workspace, and a hook it runs with job control; the next task's work in a project that
 * tasks share); a process that left them, whose parent died and left it to init, is ended. Not
 * found: one that dropped its marks (`env -i`).
 */
export interface EscapeSearch {
  /** The server whose children these are (their `CTA_SERVER_PID`). */
  serverPid: number;
  /** The directories let go of: processes marked with one of them, or a directory under one. */
  released: readonly string[];
  /** The directories still supervised: a process marked with one of them, or under one, stays. */
  supervised: readonly string[];
  /** Process groups of the host's children: running, being stopped, or adopted. */
  hostGroups: ReadonlySet<number>;
}

/**
 * The processes marked with a released directory that no longer run under the server's running
 * children, each with that directory.
 */
export function escapedProcesses(search: EscapeSearch): { pid: number; dir: string }[] {
  const { serverPid, released, supervised, hostGroups } = search;
  const releasedAbove = (dir: string): string | undefined =>
    released.find((r) => isAtOrUnder(dir, r));
  const marked = markedProcesses(
    serverPid,
    (dir) => releasedAbove(dir) !== undefined && !supervised.some((s) => isAtOrUnder(dir, s)),
  );
  if (marked.length === 0) return [];
  const own = processStat('self');
  const helpers = new Map<number, boolean>();
  const isHelper = (pid: number): boolean => {
    let helper = helpers.get(pid);
    if (helper === undefined) {
      helper = isHelperSession(pid, serverPid);
      helpers.set(pid, helper);
    }
    return helper;
  };
  const ourSession = (session: number): boolean =>
    session === own?.session || hostGroups.has(session) || isHelper(session);
  /** Whether `pid` is this host, a spawn helper, or a live process below one of them. */
  const runsUnder = (pid: number): boolean => {
    for (let depth = 0; pid > 1 && depth < MAX_ANCESTORS; depth += 1) {
      if (pid === process.pid || isHelper(pid)) return true;
      const stat = processStat(pid);
      if (stat === null || isZombie(stat.state)) return false;
      pid = stat.ppid;
    }
    return false;
  };
  /**
   * A group the server runs: the session leader's own (the host's, a helper's before its child's
   * `setpgid`, a host child's that leads its session), the host's, one of the host's children's,
   * or one led by a live process that runs under the host or a helper.
   */
  const runningGroup = (pgrp: number, session: number): boolean => {
    if (pgrp === session || pgrp === own?.pgrp || hostGroups.has(pgrp)) return true;
    const leader = processStat(pgrp);
    return (
      leader !== null && !isZombie(leader.state) && leader.pgrp === pgrp && runsUnder(leader.ppid)
    );
  };
  return marked.flatMap(({ pid, dir }) => {
    const stat = processStat(pid);
    const spared =
      stat === null ||
      (ourSession(stat.session) && (runningGroup(stat.pgrp, stat.session) || runsUnder(stat.ppid)));
    if (spared) return [];
    return [{ pid, dir: releasedAbove(dir)! }];
  });
}
