import { readFileSync, readlinkSync } from 'node:fs';
import { isProcessAlive } from 'src/process/process-group';

/**
 * WHO A PROCESS IS, in a form another process on the same host can check: host, PID namespace,
 * pid and the kernel's start time of that pid (so a recycled pid is never taken for the process
 * that died). Used by owners of things that outlive a crash (leases, lock files). The host is
 * `hostId` (src/config): HOST_ID where set (machines that share a hostname must set it), else the hostname,
 * the same name lease owner ids carry.
 */
export interface ProcessIdentity {
  host: string;
  pidNamespace: string;
  pid: number;
  /** Start time of the pid in clock ticks since boot (`/proc/<pid>/stat`); null without /proc. */
  startTime: string | null;
}

/**
 * The PID namespace this process lives in (its inode), so two containers that share a hostname
 * (host networking) never take each other's pids for their own; '0' where /proc cannot tell.
 */
function readPidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    return '0';
  }
}

const PID_NAMESPACE = readPidNamespace();

export function pidNamespace(): string {
  return PID_NAMESPACE;
}

/** The start time of `pid` (field 22 of `/proc/<pid>/stat`), or null when it cannot be read. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

let current: Omit<ProcessIdentity, 'host'> | null = null;

/**
 * This process on the machine named `host` (`hostId`), looked up once (a lock file is written
 * with it for every git operation on a repository: a read of `/proc/self/stat` each time
 * otherwise).
 */
export function currentProcess(host: string): ProcessIdentity {
  current ??= {
    pidNamespace: PID_NAMESPACE,
    pid: process.pid,
    startTime: processStartTime(process.pid),
  };
  return { host, ...current };
}

/**
 * True when `identity` ran on this machine (named `host`) in this PID namespace: its pid is one
 * we can see.
 */
export function isLocalProcess(identity: ProcessIdentity, host: string): boolean {
  return identity.host === host && identity.pidNamespace === PID_NAMESPACE;
}

/**
 * True when the process `identity` names certainly no longer runs: it ran here (on the machine
 * named `host`), and its pid is gone (or a zombie) or now belongs to a process started at another
 * time. A process elsewhere is never known to be gone.
 */
export function isProcessGone(identity: ProcessIdentity, host: string): boolean {
  if (!isLocalProcess(identity, host)) return false;
  if (!isProcessAlive(identity.pid)) return true;
  const started = processStartTime(identity.pid);
  return identity.startTime !== null && started !== null && started !== identity.startTime;
}
