import { isAtOrUnder, isZombie, processStat } from 'src/process/process-group';
import { isHelperSession, markedProcesses } from 'src/process/server-processes';

/**
 * PROCESSES THAT OUTLIVE THEIR TASK'S RUN. Ending a child's process group ends everything it
 * started, except what left the group: for a session of its own (`setsid`: a daemon, a dev server,
 * a background job a test suite starts), or for another group in the same session (`setpgid`: a
 * shell's job control). Every child carries its directory and the server's pid (`childMarks`), so
 * once a task has let go of its directory the process host looks for such processes there and ends
 * them (`ProcessHost`, on `release`).
 *
 * A process marked so is left alone while it is in a group the server runs: one of the host's
 * children's (those it runs, stops or was told of), or one led by a live child of the host or of a
 * spawn helper (`isHelperSession`), in a session of the server's own making (the host's, a spawn
 * helper's, or one that a child of the host leads: without a group leader each child leads a
 * session, `group-leader.ts`). Those are the server's running children, such as a `git` call for a
 * diff in a finished task's workspace, or the next task's work in a project that tasks share; a
 * process that left them is ended. Not found: one that dropped its marks (`env -i`).
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
 * The processes marked with a released directory that are in no process group the server runs,
 * each with that directory.
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
  const helperSessions = new Map<number, boolean>();
  const isHelper = (session: number): boolean => {
    let helper = helperSessions.get(session);
    if (helper === undefined) {
      helper = isHelperSession(session, serverPid);
      helperSessions.set(session, helper);
    }
    return helper;
  };
  const ourSession = (session: number): boolean =>
    session === own?.session || hostGroups.has(session) || isHelper(session);
  /**
   * A group the server runs in one of its sessions: the session leader's own (the host's, a
   * helper's before its child's `setpgid`, a host child's that leads its session), the host's,
   * one of the host's children's, or one led by a live child of the host or of the helper.
   */
  const runningGroup = (pgrp: number, session: number): boolean => {
    if (pgrp === session || pgrp === own?.pgrp || hostGroups.has(pgrp)) return true;
    const leader = processStat(pgrp);
    return (
      leader !== null &&
      !isZombie(leader.state) &&
      leader.pgrp === pgrp &&
      (leader.ppid === process.pid || (leader.ppid === session && isHelper(session)))
    );
  };
  return marked.flatMap(({ pid, dir }) => {
    const stat = processStat(pid);
    if (stat === null || (ourSession(stat.session) && runningGroup(stat.pgrp, stat.session))) {
      return [];
    }
    return [{ pid, dir: releasedAbove(dir)! }];
  });
}
