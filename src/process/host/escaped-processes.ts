import { isAtOrUnder, processStat } from 'src/process/process-group';
import { isHelperSession, markedProcesses } from 'src/process/server-processes';

/**
 * PROCESSES THAT OUTLIVE THEIR TASK'S RUN. Ending a child's process group ends everything it
 * started, except what left the group for a session of its own (`setsid`: a daemon, a dev server,
 * a background job a test suite starts). Every child carries its directory and the server's pid
 * (`childMarks`), so once a task has let go of its directory the process host looks for such
 * processes there and ends them (`ProcessHost`, on `release`).
 *
 * A process marked so is left alone while it is in a session of the server's own making: the
 * host's, a spawn helper's (`isHelperSession`), or one that a child of the host leads (without a
 * group leader each child leads a session, `group-leader.ts`: those it runs, stops or was told
 * of). Those are the server's running children, such as a `git`
 * call for a diff in a finished task's workspace, or the next task's work in a project that tasks
 * share; only a process that left them is ended. Not found: a process that only changed its
 * process group (`setpgid`, a shell's job control) and stayed in the session, and one that
 * dropped its marks (`env -i`).
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
 * The processes that left the server's sessions and are marked with a released directory, each
 * with that directory.
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
  const ownSession = processStat('self')?.session;
  const ours = (session: number): boolean =>
    session === ownSession || hostGroups.has(session) || isHelperSession(session, serverPid);
  return marked.flatMap(({ pid, dir }) => {
    const session = processStat(pid)?.session;
    return session === undefined || ours(session) ? [] : [{ pid, dir: releasedAbove(dir)! }];
  });
}
