import { readFileSync, readlinkSync } from 'node:fs';
import {
  isAtOrUnder,
  isProcessAlive,
  isZombie,
  processStat,
  procPids,
} from 'src/process/process-group';

/**
 * WHICH PROCESSES ON THE MACHINE ARE THE SERVER'S. Every child carries two marks in its
 * environment (`childMarks`): the directory it works in and the pid of the server that started
 * it, so a process that left its group (`setsid`) is still found by its task's directory, and
 * what another server started in the same directory is not. The server's spawn helpers are its
 * children that lead a session of their own and carry no marks (`isHelperSession`); their
 * children are found by working directory in those sessions too, before the process host is told
 * of them (`helperGroupsWorkingIn`).
 */

/** Environment variable that marks every child with the directory it works in. */
const WORK_DIR_MARKER = 'CTA_WORK_DIR';
/** Environment variable that marks every child with the pid of the server that started it. */
const SERVER_PID_MARKER = 'CTA_SERVER_PID';
/** The two marks' entries as they start in an environment (`name=`), looked for in /proc. */
const WORK_DIR_ENTRY = Buffer.from(`${WORK_DIR_MARKER}=`);
const SERVER_PID_ENTRY = Buffer.from(`${SERVER_PID_MARKER}=`);

/** The marks (`processesMarkedWith`) of a child working in `dir` for the server `serverPid`. */
export function childMarks(dir: string, serverPid: number): Record<string, string> {
  return { [WORK_DIR_MARKER]: dir, [SERVER_PID_MARKER]: String(serverPid) };
}

/**
 * Pids of live processes marked (`childMarks`) by server `serverPid` with `dir` or a directory
 * under it: the children of one task carry the directory they work in, so the ones that left their
 * process group (`setsid`) are found too; and the server's pid, so that what another server (or
 * another installation) started in the same directory is not. Only processes whose environment
 * this process may read are seen.
 */
export function processesMarkedWith(dir: string, serverPid: number): number[] {
  return markedProcesses(serverPid, (marked) => isAtOrUnder(marked, dir)).map((p) => p.pid);
}

/**
 * The live processes marked (`childMarks`) by server `serverPid` with a directory `wanted`
 * accepts, each with that directory: one look at the environment of every process this process
 * may read.
 */
export function markedProcesses(
  serverPid: number,
  wanted: (dir: string) => boolean,
): { pid: number; dir: string }[] {
  const found: { pid: number; dir: string }[] = [];
  for (const entry of procPids() ?? []) {
    if (Number(entry) === process.pid) continue;
    const environ = environOf(entry);
    if (environ === null) continue;
    const dir = markerValue(environ, WORK_DIR_ENTRY);
    if (
      dir !== null &&
      wanted(dir) &&
      markerValue(environ, SERVER_PID_ENTRY) === String(serverPid) &&
      isProcessAlive(Number(entry))
    ) {
      found.push({ pid: Number(entry), dir });
    }
  }
  return found;
}

/**
 * True when `session` is led by a spawn helper of server `serverPid`: a live child of the server
 * that leads its own session and does not carry the server's marks. (Where the server is PID 1 or
 * a subreaper, orphans are its children too: one it marked is a child's escaped process.)
 */
export function isHelperSession(session: number, serverPid: number): boolean {
  const stat = processStat(session);
  return stat !== null && leadsHelperSession(session, stat, serverPid);
}

function leadsHelperSession(
  pid: number,
  stat: { state: string; ppid: number; session: number },
  serverPid: number,
): boolean {
  if (isZombie(stat.state) || stat.ppid !== serverPid || stat.session !== pid) return false;
  const environ = environOf(pid);
  return environ !== null && markerValue(environ, SERVER_PID_ENTRY) !== String(serverPid);
}

/**
 * The process groups, in the sessions that the server `serverPid`'s own spawn helpers lead
 * (`isHelperSession`, other than this process), of the live processes working at or under `dir`:
 * the children the server started itself that its process host may not have been told of yet
 * (`local-children.ts`), found without their directory marker.
 */
export function helperGroupsWorkingIn(serverPid: number, dir: string): number[] {
  const live = (procPids() ?? []).flatMap((entry) => {
    const stat = processStat(entry);
    return stat === null || isZombie(stat.state) ? [] : [{ pid: Number(entry), ...stat }];
  });
  const helperSessions = new Set(
    live
      .filter((p) => p.pid !== process.pid && leadsHelperSession(p.pid, p, serverPid))
      .map((p) => p.pid),
  );
  const groups = new Set<number>();
  for (const p of live) {
    if (p.pid === p.session || !helperSessions.has(p.session)) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${p.pid}/cwd`);
    } catch {
      continue;
    }
    if (isAtOrUnder(cwd, dir)) groups.add(p.pgrp);
  }
  return [...groups];
}

/** The environment of process `pid` (NUL-separated), or null when it cannot be read. */
function environOf(pid: string | number): Buffer | null {
  try {
    return readFileSync(`/proc/${pid}/environ`);
  } catch {
    return null;
  }
}

/** The value of the entry that starts with `entry` (`name=`) in a NUL-separated environment. */
function markerValue(environ: Buffer, entry: Buffer): string | null {
  for (let at = environ.indexOf(entry); at !== -1; at = environ.indexOf(entry, at + 1)) {
    if (at !== 0 && environ[at - 1] !== 0) continue;
    const end = environ.indexOf(0, at);
    return environ.toString('utf8', at + entry.length, end === -1 ? environ.length : end);
  }
  return null;
}
