import { HostCommand, HostEvent } from 'src/process/host/host-protocol';
import { ProcessHost } from 'src/process/host/process-host';
import { SpawnHelper } from 'src/process/spawn-helper';

type SpawnCommand = Extract<HostCommand, { type: 'spawn' }>;

/** How often groups being stopped whose leader is gone are forgotten. */
const FORGET_STOPPED_MS = 1000;
/**
 * How long a child runs before its group is told to the process host (`adopt`): most git calls
 * are over by then, and each message woke the host (measured: the host's CPU per task, and the
 * server's for sending, test/bench/RESULTS.md).
 */
const ADOPT_AFTER_MS = 250;

/**
 * CHILDREN THE SERVER STARTS ITSELF, through a spawn helper of its own (`spawn-helper.ts`), where
 * that was built: `posix_spawn` in the helper keeps fork and exec off the server's event loop, so
 * the process host's relay of every output chunk and exit (a second Node process, and a copy
 * through its channel, for each event) is not needed for them. The same `ProcessHost` runs them
 * here, in the server, with the same guarantees (no shell, stdin closed, the environment given,
 * own process group, the directory marker, output flow control, the group ended on stop).
 *
 * - The helper leads a session of its own, and runs CHILD_NICE steps nicer than the server: each
 *   child leads a process group in that session, one scheduling group apart from the server's
 *   (and as much nicer: `session-nice.ts`), as the host's children do (`group-leader.ts`).
 * - The group of each child still running ADOPT_AFTER_MS after its start is told to the process
 *   host (`adopt`), which keeps supervising by lease even while the server is frozen: a
 *   directory's deadline, and the server going away, end it. Before that (and for a child over
 *   sooner, as most git calls are) the host finds the child by its directory marker, and by its
 *   working directory in the helper's session (`helperGroupsWorkingIn`); and the helper kills
 *   every group it started when the server goes away.
 * - If the server dies, the helper's input ends and it kills every group it started.
 */
export class LocalChildren {
  private readonly helper: SpawnHelper;
  private readonly host: ProcessHost;
  private readonly forgetting: NodeJS.Timeout;
  /** The `adopt` of each child that started, by spawn id, until it is sent or the child ended. */
  private readonly adoptions = new Map<number, NodeJS.Timeout>();

  constructor(
    helperPath: string,
    nice: number,
    /** Receives each child's events; `delivered` once it is done with one (flow control). */
    deliver: (event: HostEvent, delivered: () => void) => void,
    /** Tells the process host of a child's group (`adopt`). */
    private readonly adopt: (pgid: number, dir: string) => void,
  ) {
    this.helper = new SpawnHelper(helperPath, { ownSession: true, nice });
    this.host = new ProcessHost(
      (event, delivered) => {
        if (event.type === 'spawned') this.adoptLater(event.id, event.pid);
        else if (event.type === 'end') this.dropAdoption(event.id);
        deliver(event, delivered);
      },
      { spawnHelper: this.helper },
    );
    this.forgetting = setInterval(() => this.host.forgetStopped(), FORGET_STOPPED_MS).unref();
  }

  private adoptLater(id: number, pgid: number): void {
    const dir = this.host.dirOf(id);
    if (dir === undefined) return;
    const timer = setTimeout(() => {
      this.adoptions.delete(id);
      this.adopt(pgid, dir);
    }, ADOPT_AFTER_MS).unref();
    this.adoptions.set(id, timer);
  }

  private dropAdoption(id: number): void {
    clearTimeout(this.adoptions.get(id));
    this.adoptions.delete(id);
  }

  spawn(command: SpawnCommand): void {
    this.host.handle(command);
  }

  /** The process group and directory of every child running now (to tell a new process host). */
  groups(): { pgid: number; dir: string }[] {
    return this.host.groups();
  }

  /** Ends the process group of spawn `id`. */
  stop(id: number): void {
    this.host.handle({ type: 'stop', id });
  }

  /** Ends every child (with `graceMs` between signals), then the helper. */
  async shutdown(graceMs: number): Promise<void> {
    clearInterval(this.forgetting);
    for (const timer of this.adoptions.values()) clearTimeout(timer);
    this.adoptions.clear();
    await this.host.shutdown(graceMs);
    this.helper.stop();
  }
}
