import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isProcessAlive, pidNamespace } from 'src/process';

/** Owners created in this process (several apps can share one process, e.g. in tests). */
const ownersInThisProcess = new Set<string>();

/** The PID namespace (see `pidNamespace`): pids are comparable only within one. */
const PID_NAMESPACE = pidNamespace();

/**
 * Who holds a task's lease: `[instance@]host:pidns:pid:nonce`. `host` is the machine's hostname
 * unless `HOST_ID` names it (machines that share a hostname must). The nonce makes every server
 * process a new owner, even when a container gives it the same pid as the process that died.
 */
export function makeOwnerId(
  instanceId: string | undefined,
  host: string = hostname(),
  pid = process.pid,
): string {
  const nonce = randomBytes(4).toString('hex');
  const base = `${host}:${PID_NAMESPACE}:${pid}:${nonce}`;
  const owner = instanceId ? `${instanceId}@${base}` : base;
  if (pid === process.pid) ownersInThisProcess.add(owner);
  return owner;
}

export interface ParsedOwner {
  host: string;
  pidNamespace: string;
  pid: number;
}

const OWNER = /(?:^|@)([^@:]+):(\d+):(\d+):[0-9a-f]+$/;

export function parseOwner(owner: string): ParsedOwner | null {
  const match = OWNER.exec(owner);
  return match ? { host: match[1], pidNamespace: match[2], pid: Number(match[3]) } : null;
}

/**
 * True when `owner` ran on the same host, in the same PID namespace, as `self` (this server's
 * own owner id): its pids are pids we can see.
 */
export function ownerIsOnThisHost(owner: string, self: string): boolean {
  const parsed = parseOwner(owner);
  const mine = parseOwner(self);
  return (
    parsed !== null &&
    mine !== null &&
    parsed.host === mine.host &&
    parsed.pidNamespace === PID_NAMESPACE
  );
}

/**
 * True when `owner` certainly no longer runs: it ran here (same host and PID namespace) and
 * either had this very pid but was not created in this process (we are a new process that got
 * the same pid), or had a pid that does not exist any more. Its lease can be taken back at once
 * instead of waiting for it to expire.
 */
export function isOwnerGoneLocally(owner: string, self: string): boolean {
  if (owner === self || !ownerIsOnThisHost(owner, self)) return false;
  const { pid } = parseOwner(owner)!;
  if (pid === process.pid) return !ownersInThisProcess.has(owner);
  return !isProcessAlive(pid);
}

/**
 * What this host can tell of a lease owner: `gone` (it ran here and no longer runs: see
 * `isOwnerGoneLocally`), `alive` (it runs here), or `unseen` (it ran on another host or in another
 * PID namespace, or is not named: dead or stalled, nobody here can tell).
 */
export type OwnerSeen = 'gone' | 'alive' | 'unseen';

export function seeOwner(owner: string | null, self: string): OwnerSeen {
  if (owner === null || !ownerIsOnThisHost(owner, self)) return 'unseen';
  return isOwnerGoneLocally(owner, self) ? 'gone' : 'alive';
}
