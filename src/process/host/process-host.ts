import { BehaviorSubject, Subscription } from 'rxjs';
import { escapedProcesses } from 'src/process/host/escaped-processes';
import { HostCommand, HostEvent, SHUTDOWN_GRACE_MS } from 'src/process/host/host-protocol';
import {
  endProcess,
  isAtOrUnder,
  isProcessAlive,
  isProcessGroupAlive,
  killProcessGroup,
  runProcess,
  SpawnError,
} from 'src/process/process-group';
import {
  childMarks,
  helperGroupsWorkingIn,
  processesMarkedWith,
} from 'src/process/server-processes';
import type { SpawnHelper } from 'src/process/spawn-helper';
import { machineMonotonicMs } from 'src/process/machine-clock';

/** Output bytes sent to the server but not yet handed to the channel before children are paused. */
const MAX_IN_FLIGHT_BYTES = 8 * 1024 * 1024;
/**
 * How long after a directory is released the host looks, at the latest, for processes that
 * escaped from it (`escaped-processes.ts`): the releases of that time share one look through
 * /proc, due this long after the first of them. It looks again once the stop of what ran there can
 * be over (two kill graces more, or at the next look after that): a script stopped with its run
 * may start more until then. Looks are at least this far apart.
 */
export const ESCAPE_LOOK_DELAY_MS = 2000;

interface Child {
  subscription: Subscription;
  pgid: number | null;
  dir: string;
}

/** How a `ProcessHost` is set up (each has a default). */
export interface ProcessHostOptions {
  /** The clock deadlines are checked against (default `machineMonotonicMs`). */
  now?: () => number;
  /** GNU `timeout`, under which children run in this host's session (`group-leader.ts`). */
  groupLeader?: string | null;
  /** The spawn helper that starts the children (absent: this process's own). */
  spawnHelper?: SpawnHelper;
  /** The server's pid, with which every child is marked (default: this process's). */
  serverPid?: number;
}

/**
 * THE PROCESS HOST: a small process of its own, forked once by the server, that starts every
 * child process of the server and watches over them.
 *
 * - `spawn` runs `runProcess` here (no shell, own process group, stdin closed), so the main
 *   server's event loop never blocks in fork/exec; output and exit go back as events. With a
 *   group leader (GNU `timeout`) the children stay in the host's session, and so in its
 *   scheduling group, not the server's (`group-leader.ts`).
 * - Every child carries `CTA_WORK_DIR=<its cwd>` and `CTA_SERVER_PID=<the server's pid>` in its
 *   environment (`childMarks`), so processes that leave their group (`setsid`, `setpgid`) can
 *   still be found, and only this server's.
 * - `supervise` gives a directory a deadline: the server renews it with every lease renewal. When
 *   it passes (the server is frozen, stalled or cut off from the database), the host ends the
 *   directory's process groups and every process marked with it, on its own: so by the time the
 *   task's lease can be claimed elsewhere, its agent is gone.
 * - When the server goes away (the IPC channel closes), everything is ended and the host exits:
 *   children still being stopped too (a `stop` ends a group over up to two grace periods, and a
 *   child that ignores SIGINT and SIGTERM would otherwise outlive the host).
 * - Output is flow-controlled: past MAX_IN_FLIGHT_BYTES not yet handed to the channel (the server
 *   reads slowly or not at all), the children are paused until it catches up.
 * - `adopt` tells it of a group the server started itself (`local-children.ts`): its directory's
 *   deadline and the server's going away end it too.
 * - `release` (the task let go of its directory) is followed, within ESCAPE_LOOK_DELAY_MS and
 *   again two kill graces later, by a look for the processes marked with the directory that left
 *   their process groups (`setsid`, `setpgid`): they are ended (`escaped-processes.ts`), so a
 *   daemon the agent or a test started does not outlive its task.
 *
 * The server runs one in its own process as well, for the children it starts through its own
 * spawn helper (`local-children.ts`), with `send` delivering to it directly.
 */
export class ProcessHost {
  private readonly children = new Map<number, Child>();
  private readonly deadlines = new Map<string, { killAtMs: number; killGraceMs: number }>();
  /** Groups of children asked to stop (by pgid, with their directory) while their leader lives. */
  private readonly stopping = new Map<number, string>();
  /** Groups the server started itself (by pgid, with their directory), until their leader is gone. */
  private readonly adopted = new Map<number, string>();
  /**
   * Directories released and still to be looked at for escaped processes, with their kill grace
   * and when their last look is due (epoch ms).
   */
  private readonly released = new Map<string, { killGraceMs: number; lastLookAtMs: number }>();
  /** When the next look for escaped processes is due (epoch ms); null with nothing released. */
  private escapeLookAtMs: number | null = null;
  private readonly paused$ = new BehaviorSubject<boolean>(false);
  private inFlight = 0;

  private readonly now: () => number;
  private readonly groupLeader: string | null;
  private readonly spawnHelper: SpawnHelper | undefined;
  private readonly serverPid: number;

  constructor(
    private readonly send: (event: HostEvent, sent: () => void) => void,
    options: ProcessHostOptions = {},
  ) {
    this.now = options.now ?? machineMonotonicMs;
    this.groupLeader = options.groupLeader ?? null;
    this.spawnHelper = options.spawnHelper;
    this.serverPid = options.serverPid ?? process.pid;
  }

  handle(command: HostCommand): void {
    switch (command.type) {
      case 'spawn':
        this.spawn(command);
        return;
      case 'stop': {
        const child = this.children.get(command.id);
        if (child?.pgid != null) this.stopping.set(child.pgid, child.dir);
        child?.subscription.unsubscribe();
        this.finish(command.id);
        return;
      }
      case 'supervise':
        this.deadlines.set(command.dir, {
          killAtMs: command.killAtMs,
          killGraceMs: command.killGraceMs,
        });
        return;
      case 'release': {
        const killGraceMs = this.deadlines.get(command.dir)?.killGraceMs ?? SHUTDOWN_GRACE_MS;
        this.deadlines.delete(command.dir);
        const firstLookAtMs = this.now() + ESCAPE_LOOK_DELAY_MS;
        this.released.set(command.dir, {
          killGraceMs,
          lastLookAtMs: firstLookAtMs + 2 * killGraceMs,
        });
        this.escapeLookAtMs = Math.min(this.escapeLookAtMs ?? firstLookAtMs, firstLookAtMs);
        return;
      }
      case 'adopt':
        this.adopted.set(command.pgid, command.dir);
        return;
      case 'end_escaped':
        void this.endEscapedNow(command);
        return;
    }
  }

  /**
   * Ends the processes marked with `dir` (or under it) that left the server's running children,
   * now, though it is supervised (a task before its test round: what its agent left running
   * must not change the files under the tests), and answers with their pids once they are gone.
   */
  private async endEscapedNow(
    command: Extract<HostCommand, { type: 'end_escaped' }>,
  ): Promise<void> {
    const escaped = escapedProcesses({
      serverPid: this.serverPid,
      released: [command.dir],
      // Only a directory below this one keeps its own processes (another task's, in a project
      // inside this one); one above would spare this directory's whole tree.
      supervised: [...this.deadlines.keys()].filter(
        (dir) => dir !== command.dir && isAtOrUnder(dir, command.dir),
      ),
      hostGroups: this.hostGroups(),
    });
    const pids = escaped.map((e) => e.pid);
    await Promise.all(pids.map((pid) => endProcess(pid, command.killGraceMs)));
    this.send({ type: 'escaped_now', request: command.request, pids }, () => undefined);
  }

  /** Process groups of the host's children: running, being stopped, or adopted. */
  private hostGroups(): Set<number> {
    return new Set([
      ...[...this.children.values()].flatMap((c) => c.pgid ?? []),
      ...this.stopping.keys(),
      ...this.adopted.keys(),
    ]);
  }

  /** Ends the processes of every directory whose deadline passed; called when one is due. */
  async enforceDeadlines(): Promise<void> {
    const now = this.now();
    for (const [dir, { killAtMs, killGraceMs }] of this.deadlines) {
      if (killAtMs > now) continue;
      this.deadlines.delete(dir);
      const pids = await this.endDirectory(dir, killGraceMs);
      this.send({ type: 'expired', dir, pids }, () => undefined);
    }
  }

  /**
   * Ends the processes that escaped from the released directories (left the groups the server
   * runs: `escaped-processes.ts`), once a look is due: within ESCAPE_LOOK_DELAY_MS of a release,
   * and again once the stop of what ran there can be over. A directory supervised again meanwhile
   * is left to its next release.
   */
  async endEscaped(): Promise<void> {
    const now = this.now();
    if (this.escapeLookAtMs === null || this.escapeLookAtMs > now) return;
    const looked = [...this.released];
    for (const [dir, { lastLookAtMs }] of looked) {
      if (lastLookAtMs <= now || this.deadlines.has(dir)) this.released.delete(dir);
    }
    // Each look is at every released directory: last looks due within ESCAPE_LOOK_DELAY_MS of
    // each other share one, and looks come no closer than that while tasks keep ending.
    const lastLooks = [...this.released.values()].map((r) => r.lastLookAtMs);
    this.escapeLookAtMs =
      lastLooks.length === 0 ? null : Math.max(Math.min(...lastLooks), now + ESCAPE_LOOK_DELAY_MS);
    const escaped = escapedProcesses({
      serverPid: this.serverPid,
      released: looked.map(([dir]) => dir),
      supervised: [...this.deadlines.keys()],
      hostGroups: this.hostGroups(),
    });
    await Promise.all(
      looked.map(async ([dir, { killGraceMs }]) => {
        const pids = escaped.filter((e) => e.dir === dir).map((e) => e.pid);
        if (pids.length === 0) return;
        await Promise.all(pids.map((pid) => endProcess(pid, killGraceMs)));
        this.send({ type: 'escaped', dir, pids }, () => undefined);
      }),
    );
  }

  /**
   * When the host has something to do next (epoch ms): the earliest deadline of a supervised
   * directory, or the look for escaped processes; null when neither is pending.
   */
  nextDueMs(): number | null {
    let next = this.escapeLookAtMs;
    for (const { killAtMs } of this.deadlines.values()) {
      if (next === null || killAtMs < next) next = killAtMs;
    }
    return next;
  }

  /** The directory spawn `id` works in, while it has not ended. */
  dirOf(id: number): string | undefined {
    return this.children.get(id)?.dir;
  }

  /** The process group and directory of every child that has started and not ended. */
  groups(): { id: number; pgid: number; dir: string }[] {
    return [...this.children].flatMap(([id, c]) =>
      c.pgid === null ? [] : [{ id, pgid: c.pgid, dir: c.dir }],
    );
  }

  /** Forgets the stopped and adopted groups whose leader is gone; called periodically. */
  forgetStopped(): void {
    for (const groups of [this.stopping, this.adopted]) {
      for (const pgid of groups.keys()) {
        if (!isProcessAlive(pgid)) groups.delete(pgid);
      }
    }
  }

  /**
   * The server is gone: end every child, those being stopped and adopted too (an adopted group
   * that is gone is not: its directory may be another's now), and every marked process, those of
   * directories released since the last look for escaped processes too.
   */
  async shutdown(killGraceMs: number): Promise<void> {
    const dirs = new Set([...this.children.values()].map((c) => c.dir));
    for (const dir of this.deadlines.keys()) dirs.add(dir);
    for (const dir of this.released.keys()) dirs.add(dir);
    for (const dir of this.stopping.values()) dirs.add(dir);
    for (const [pgid, dir] of this.adopted) {
      if (isProcessGroupAlive(pgid)) dirs.add(dir);
    }
    await Promise.all([...dirs].map((dir) => this.endDirectory(dir, killGraceMs)));
  }

  private spawn(command: Extract<HostCommand, { type: 'spawn' }>): void {
    const { id } = command;
    const child: Child = { subscription: new Subscription(), pgid: null, dir: command.cwd };
    this.children.set(id, child);
    child.subscription = runProcess({
      command: command.command,
      args: command.args,
      cwd: command.cwd,
      env: { ...command.env, ...childMarks(command.cwd, this.serverPid) },
      killGraceMs: command.killGraceMs,
      isolation: command.isolation,
      writable: command.writable,
      readable: command.readable,
      cliHome: command.cliHome,
      paused$: this.paused$,
      groupLeader: this.groupLeader,
      spawnHelper: this.spawnHelper,
    }).subscribe({
      next: (event) => {
        if (event.type === 'spawned') {
          child.pgid = event.pid;
          this.send({ type: 'spawned', id, pid: event.pid }, () => undefined);
        } else if (event.type === 'exit') {
          this.send({ type: 'exit', id, code: event.code, signal: event.signal }, () => undefined);
        } else {
          this.output(id, event.type, event.chunk);
        }
      },
      error: (error: unknown) => {
        const code = error instanceof SpawnError ? error.code : 'ESPAWN';
        const message = error instanceof Error ? error.message : String(error);
        this.send({ type: 'spawn_error', id, code, message }, () => undefined);
        this.finish(id);
      },
      complete: () => this.finish(id),
    });
  }

  private output(id: number, type: 'stdout' | 'stderr', chunk: Buffer): void {
    this.inFlight += chunk.length;
    if (this.inFlight > MAX_IN_FLIGHT_BYTES && !this.paused$.value) this.paused$.next(true);
    this.send({ type, id, chunk }, () => {
      this.inFlight -= chunk.length;
      if (this.inFlight <= MAX_IN_FLIGHT_BYTES / 2 && this.paused$.value) this.paused$.next(false);
    });
  }

  private finish(id: number): void {
    if (!this.children.delete(id)) return;
    this.send({ type: 'end', id }, () => undefined);
  }

  /**
   * Ends the groups of the children working in or under `dir` (those being stopped and adopted
   * ones too, and the server's own children in its spawn helpers' sessions working there) and
   * the processes marked so.
   */
  private async endDirectory(dir: string, killGraceMs: number): Promise<number[]> {
    const running = [...this.children.values()].flatMap((c) =>
      c.pgid === null ? [] : [[c.pgid, c.dir] as const],
    );
    const groups = [
      ...new Set([
        ...[...running, ...this.stopping, ...this.adopted]
          .filter(([, childDir]) => isAtOrUnder(childDir, dir))
          .map(([pgid]) => pgid),
        // The server's own children it was not told of yet (`adopt` comes once one has run
        // 250 ms), by their working directory.
        ...helperGroupsWorkingIn(this.serverPid, dir),
      ]),
    ];
    await Promise.all(groups.map((pgid) => killProcessGroup(pgid, killGraceMs)));
    const escaped = processesMarkedWith(dir, this.serverPid);
    await Promise.all(escaped.map((pid) => endProcess(pid, killGraceMs)));
    return [...new Set([...groups, ...escaped])];
  }
}
