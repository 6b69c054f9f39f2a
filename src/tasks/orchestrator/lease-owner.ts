import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** Owners created in this process (several apps can share one process, e.g. in tests). */
const ownersInThisProcess = new Set<string>();

/**
 * Who holds a task's lease: `[instance@]host:pid:nonce`. The nonce makes every server process
 * a new owner, even when a container gives it the same pid as the process that died.
 */
export function makeOwnerId(instanceId: string | undefined, pid = process.pid): string {
  const nonce = randomBytes(4).toString('hex');
  const base = `${hostname()}:${pid}:${nonce}`;
  const owner = instanceId ? `${instanceId}@${base}` : base;
  if (pid === process.pid) ownersInThisProcess.add(owner);
  return owner;
}

export interface ParsedOwner {
  host: string;
  pid: number;
}

const OWNER = /(?:^|@)([^@:]+):(\d+):[0-9a-f]+$/;

export function parseOwner(owner: string): ParsedOwner | null {
  const match = OWNER.exec(owner);
  return match ? { host: match[1], pid: Number(match[2]) } : null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when `owner` certainly no longer runs: it names this host and either this very pid but
 * was not created in this process (we are a new process that got the same pid), or a pid that
 * does not exist. Its lease can be taken
 * back at once instead of waiting for it to expire.
 */
export function isOwnerGoneLocally(owner: string, self: string): boolean {
  if (owner === self) return false;
  const parsed = parseOwner(owner);
  if (!parsed || parsed.host !== hostname()) return false;
  if (parsed.pid === process.pid) return !ownersInThisProcess.has(owner);
  return !pidAlive(parsed.pid);
}

/** True when `owner` ran on this host, so a process group it recorded may be ours to end. */
export function ownerIsOnThisHost(owner: string): boolean {
  return parseOwner(owner)?.host === hostname();
}
