import { isAtOrUnder, markedProcesses, processStat } from 'src/process/process-group';

/**
 * PROCESSES THAT OUTLIVE THEIR TASK'S RUN. Ending a child's process group ends everything it
 * started, except what left the group for a session of its own (`setsid`: a daemon, a dev server,
 * a background job a test suite starts). Every child carries its directory and the server's pid
 * (`childMarks`), so once a task has let go of its directory the process host looks for such
 * processes there and ends them (`ProcessHost`, on `release`).
 *
 * A process marked so is left alone while it is in a session of the server's own making: the
 * host's, a spawn helper's (a child of the server that leads a session), or one a child of the
 * host leads (without a group leader each child leads a session, `group-leader.ts`). Those are the
 * server's running children, such as a `git` call for a diff in a finished task's workspace, or
 * the next task's work in a project that tasks share; only a process that left them is ended.
 */
export interface EscapeSearch {
  /** The server whose children these are (their `CTA_SERVER_PID`). */
  serverPid: number;
  /** The directories let go of: processes marked with one of them, or a directory under one. */
  released: readonly string[];
  /** The directories still supervised: a process marked with one of them, or under one, stays. */
  supervised: readonly string[];
  /** Process groups the host's children lead now. */
  hostGroups: ReadonlySet<number>;
}

/** The processes that left the server's sessions and are marked with a released directory. */
export function escapedProcesses(search: EscapeSearch): { pid: number; released: string }[] {
  const { serverPid, released, supervised, hostGroups } = search;
  const ownSession = processStat('self')?.session;
  const ours = (session: number): boolean =>
    session === ownSession ||
    hostGroups.has(session) ||
    // A spawn helper: a child of the server that leads its own session.
    processStat(session)?.ppid === serverPid;
  return markedProcesses(serverPid).flatMap(({ pid, dir }) => {
    const from = released.find((r) => isAtOrUnder(dir, r));
    if (from === undefined || supervised.some((s) => isAtOrUnder(dir, s))) return [];
    const session = processStat(pid)?.session;
    return session === undefined || ours(session) ? [] : [{ pid, released: from }];
  });
}
