import { HostCommand, HostEvent } from 'src/process/host/host-protocol';
import { ProcessHost } from 'src/process/host/process-host';
import { SpawnHelper } from 'src/process/spawn-helper';

type SpawnCommand = Extract<HostCommand, { type: 'spawn' }>;

/** How often groups being stopped whose leader is gone are forgotten. */
const FORGET_STOPPED_MS = 1000;

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
 * - Each child's group is told to the process host (`adopt`), which keeps supervising by lease
 *   even while the server is frozen: a directory's deadline, and the server going away, end it.
 *   Between the start and the `adopt` (the same turn of the loop) the host finds the child by its
 *   directory marker only.
 * - If the server dies, the helper's input ends and it kills every group it started.
 */
export class LocalChildren {
  private readonly helper: SpawnHelper;
  private readonly host: ProcessHost;
  private readonly forgetting: NodeJS.Timeout;

  constructor(
    helperPath: string,
    nice: number,
    /** Receives each child's events; `delivered` once it is done with one (flow control). */
    deliver: (event: HostEvent, delivered: () => void) => void,
    /** Tells the process host of a child's group (`adopt`). */
    adopt: (pgid: number, dir: string) => void,
  ) {
    this.helper = new SpawnHelper(helperPath, { ownSession: true, nice });
    this.host = new ProcessHost(
      (event, delivered) => {
        if (event.type === 'spawned') {
          const dir = this.host.dirOf(event.id);
          if (dir !== undefined) adopt(event.pid, dir);
        }
        deliver(event, delivered);
      },
      { spawnHelper: this.helper },
    );
    this.forgetting = setInterval(() => this.host.forgetStopped(), FORGET_STOPPED_MS).unref();
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
    await this.host.shutdown(graceMs);
    this.helper.stop();
  }
}
