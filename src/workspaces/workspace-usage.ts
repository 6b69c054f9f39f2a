import { Dir, lstatSync, opendirSync, promises as fs } from 'node:fs';
import { setImmediate } from 'node:timers/promises';
import { basename, join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { Clock, smallDirectoryEntries } from 'src/common';
import { AppConfig } from 'src/config';
import { WorkspaceRoot } from 'src/workspaces/workspace-root';

/** How long the measurement of a workspace a task works in is used before it is walked again. */
const IN_USE_MAX_AGE_MS = 30_000;
/**
 * How long the measurement of a workspace no task of this server works in is used: it changes by
 * hand, or by the task of another server sharing WORKSPACES_DIR (a task's run here measures its
 * workspace again when it ends). Walking every kept workspace (a checkout with its dependencies is
 * tens of thousands of files) every 30 s was a cost that grew with each workspace kept.
 */
const IDLE_MAX_AGE_MS = 10 * 60_000;

export interface WorkspaceUsageSnapshot {
  /** WORKSPACES_DIR (canonical). */
  dir: string;
  /** Workspace directories in it. */
  count: number;
  /** Disk they use (allocated blocks, hard-linked files once). */
  bytes: number;
  /** WORKSPACES_MAX_GB in bytes; null when there is no limit. */
  maxBytes: number | null;
  overQuota: boolean;
  /** When the oldest of the workspaces' measurements it adds up was taken. */
  measuredAt: Date;
}

/** Entries walks look at between two turns of the event loop. */
const ENTRIES_PER_TURN = 256;

/**
 * Lets the event loop have a turn every ENTRIES_PER_TURN entries of the walks it paces: one per
 * measurement, shared by the walks of all its workspaces, so many small workspaces walked one
 * after the other do not hold the loop either.
 */
export class WalkPacer {
  private steps = 0;

  /** One step of a walk: an entry listed, or an entry looked at (two per entry). */
  async step(): Promise<void> {
    this.steps += 1;
    if (this.steps % (2 * ENTRIES_PER_TURN) === 0) await setImmediate();
  }
}

/**
 * Disk used by the files under `dir`, counting each inode once; symbolic links are not followed.
 *
 * The walk calls `lstat` and reads directories synchronously, a few hundred entries at a time with
 * a turn of the event loop between (`pacer`): a synchronous `lstat` costs the process 6 µs of CPU,
 * one through `fs.promises` and the thread pool 38 (test/bench/RESULTS.md), and each task's
 * workspace is walked when its run ends. A small directory is read at once
 * (`smallDirectoryEntries`), a larger one entry by entry (`opendirSync`), so one with a million
 * entries blocks the loop no longer than any other stretch of the walk.
 */
export async function diskUsage(dir: string, pacer = new WalkPacer()): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const path = pending.pop()!;
    await pacer.step();
    let stat;
    try {
      stat = lstatSync(path, { throwIfNoEntry: false });
    } catch {
      continue;
    }
    if (stat === undefined) continue;
    const key = `${stat.dev}:${stat.ino}`;
    if (seen.has(key)) continue;
    seen.add(key);
    total += stat.blocks > 0 ? stat.blocks * 512 : stat.size;
    if (!stat.isDirectory()) continue;
    let entriesOf: Dir;
    try {
      const small = smallDirectoryEntries(path, stat.size);
      if (small !== null) {
        for (const entry of small) {
          pending.push(join(path, entry.name));
          await pacer.step();
        }
        continue;
      }
      entriesOf = opendirSync(path);
    } catch {
      continue;
    }
    try {
      for (let entry = entriesOf.readSync(); entry !== null; entry = entriesOf.readSync()) {
        pending.push(join(path, entry.name));
        await pacer.step();
      }
    } catch {
      // What was read of the directory is walked; the rest could not be read.
    } finally {
      entriesOf.closeSync();
    }
  }
  return total;
}

/**
 * THE WORKSPACES' DISK USE AND QUOTA. Each workspace under WORKSPACES_DIR is walked on its own and
 * its measurement kept for 30 s while a task of this server works in it (`inUse`), else for 10
 * minutes; a workspace this server created or removed, or whose task's run just ended here
 * (`doneWith`), is measured again (or dropped) at once, without walking the others. One
 * measurement at a time. Tasks that need a new workspace wait while the use is at or over
 * WORKSPACES_MAX_GB.
 */
@Injectable()
export class WorkspaceUsage {
  private last: WorkspaceUsageSnapshot | null = null;
  private stale = true;
  private measuring: Promise<WorkspaceUsageSnapshot> | null = null;
  /** Bytes of each workspace (by directory name) and when they were measured. */
  private readonly workspaces = new Map<string, { bytes: number; atMs: number }>();
  /** Workspaces (by directory name) a task of this server works in now. */
  private readonly inUseNames = new Set<string>();
  /** Workspaces (by directory name) invalidated while the running measurement walked. */
  private readonly changedWhileMeasuring = new Set<string>();
  /** The workspaces (by directory name) in WORKSPACES_DIR, as last listed and kept up to date. */
  private present = new Set<string>();
  /** When WORKSPACES_DIR was last listed. */
  private listedAtMs = -Infinity;
  /** Workspaces (by directory name) created or removed here since: looked at one by one. */
  private readonly changed = new Set<string>();
  /**
   * When the last snapshot is out of date: a workspace's measurement is due, or 30 s after
   * WORKSPACES_DIR was looked at (workspaces come and go by other hands too).
   */
  private nextDueMs = -Infinity;

  constructor(
    private readonly config: AppConfig,
    private readonly root: WorkspaceRoot,
    private readonly clock: Clock,
  ) {}

  private get maxBytes(): number | null {
    const gb = this.config.WORKSPACES_MAX_GB;
    return gb > 0 ? Math.floor(gb * 1024 ** 3) : null;
  }

  /** The workspace at `path` was created or removed: the next look measures it again. */
  invalidate(path: string): void {
    this.workspaces.delete(basename(path));
    this.changed.add(basename(path));
    // A walk of it that runs now may have seen it before the change: that one is not kept.
    if (this.measuring !== null) this.changedWhileMeasuring.add(basename(path));
    this.stale = true;
  }

  /** A task's run works in the workspace at `path` from now on: it is measured every 30 s. */
  inUse(path: string): void {
    this.inUseNames.add(basename(path));
  }

  /** The run working in the workspace at `path` ended: measured again now, then every 10 min. */
  doneWith(path: string): void {
    this.inUseNames.delete(basename(path));
    this.invalidate(path);
  }

  /**
   * The current use: the measurement running now, else the last one while none of its parts is due
   * and it is in date, else a new one (which walks only the workspaces whose measurement is due).
   */
  async snapshot(): Promise<WorkspaceUsageSnapshot> {
    if (this.measuring !== null) return this.measuring;
    const fresh = this.last !== null && !this.stale && this.clock.nowMs() < this.nextDueMs;
    if (fresh) return this.last!;
    this.measuring = this.measure().finally(() => (this.measuring = null));
    return this.measuring;
  }

  /**
   * The last measurement without waiting for a new one, which starts in the background when it
   * is old or out of date (only the first call waits): what `/health` shows, `measured_at`
   * saying when. A health check must not wait for a walk of every workspace while tasks come
   * and go.
   */
  async latest(): Promise<WorkspaceUsageSnapshot> {
    const measuring = this.snapshot();
    if (this.last === null) return measuring;
    // Nobody waits for the background measurement: a failed one is simply tried again next time.
    measuring.catch(() => undefined);
    return this.last;
  }

  /** True when new workspaces must wait (never when there is no limit). */
  async overQuota(): Promise<boolean> {
    if (this.maxBytes === null) return false;
    return (await this.snapshot()).overQuota;
  }

  /** Walks the workspaces whose measurement is due (or missing), and adds up all of them. */
  private async measure(): Promise<WorkspaceUsageSnapshot> {
    this.stale = false;
    this.changedWhileMeasuring.clear();
    await this.lookAtWorkspaces();
    let nextDueMs = this.listedAtMs + IN_USE_MAX_AGE_MS;
    let bytes = 0;
    let oldestMs = this.clock.nowMs();
    const pacer = new WalkPacer();
    for (const name of this.present) {
      const maxAgeMs = this.inUseNames.has(name) ? IN_USE_MAX_AGE_MS : IDLE_MAX_AGE_MS;
      let measured = this.workspaces.get(name);
      if (measured === undefined || this.clock.nowMs() - measured.atMs >= maxAgeMs) {
        const atMs = this.clock.nowMs();
        measured = { bytes: await diskUsage(join(this.root.path, name), pacer), atMs };
        if (!this.changedWhileMeasuring.has(name)) this.workspaces.set(name, measured);
      }
      bytes += measured.bytes;
      oldestMs = Math.min(oldestMs, measured.atMs);
      nextDueMs = Math.min(nextDueMs, measured.atMs + maxAgeMs);
    }
    this.nextDueMs = nextDueMs;
    const maxBytes = this.maxBytes;
    this.last = {
      dir: this.root.path,
      count: this.present.size,
      bytes,
      maxBytes,
      overQuota: maxBytes !== null && bytes >= maxBytes,
      measuredAt: new Date(oldestMs),
    };
    return this.last;
  }

  /**
   * Brings `present` up to date: WORKSPACES_DIR is listed again 30 s after it was last listed (a
   * workspace made or removed by other hands is seen then); meanwhile only the workspaces created
   * or removed here are looked at, one `lstat` each. Listing it for every task's workspace was a
   * cost that grew with each workspace kept.
   */
  private async lookAtWorkspaces(): Promise<void> {
    const changed = [...this.changed];
    this.changed.clear();
    const nowMs = this.clock.nowMs();
    if (nowMs >= this.listedAtMs + IN_USE_MAX_AGE_MS) {
      const names = await fs.readdir(this.root.path).catch(() => [] as string[]);
      this.present = new Set(names.filter((name) => WorkspaceRoot.isWorkspaceName(name)));
      this.listedAtMs = nowMs;
    } else {
      for (const name of changed) {
        const isWorkspace =
          WorkspaceRoot.isWorkspaceName(name) &&
          lstatSync(join(this.root.path, name), { throwIfNoEntry: false })?.isDirectory() === true;
        if (isWorkspace) this.present.add(name);
        else this.present.delete(name);
      }
    }
    for (const name of this.workspaces.keys()) {
      if (!this.present.has(name)) this.workspaces.delete(name);
    }
  }
}
