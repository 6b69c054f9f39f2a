import type { ChildIsolation } from 'src/process/child-isolation';

/**
 * The messages between the server and its process host (`process-host.ts`), over the IPC channel
 * of `child_process.fork` with `serialization: 'advanced'` (Buffers travel as bytes).
 */

/** Server -> host. */
export type HostCommand =
  | {
      type: 'spawn';
      id: number;
      command: string;
      args: string[];
      cwd: string;
      env: NodeJS.ProcessEnv;
      killGraceMs: number;
      isolation: ChildIsolation;
      writable?: readonly string[];
      readable?: readonly string[];
      cliHome?: boolean;
    }
  /** End the process group of spawn `id` (the server's subscriber unsubscribed). */
  | { type: 'stop'; id: number }
  /**
   * Keep the processes working in `dir` (or under it) until `killAtMs` (on `machineMonotonicMs`,
   * the machine's monotonic clock: a step of its wall clock moves no deadline) at most: past
   * it the host ends them, and any process whose marker names such a directory, without asking
   * the server.
   */
  | { type: 'supervise'; dir: string; killAtMs: number; killGraceMs: number }
  /**
   * `dir` is no longer supervised (its task let go of it); its processes that left the server's
   * sessions are ended shortly after (`escaped-processes.ts`).
   */
  | { type: 'release'; dir: string }
  /**
   * End now, while `dir` stays supervised, its processes that left the server's sessions (as
   * after a release: `escaped-processes.ts`), `killGraceMs` between SIGTERM and SIGKILL; answered
   * by `escaped_now` with the same `request` once they are gone.
   */
  | { type: 'end_escaped'; request: number; dir: string; killGraceMs: number }
  /**
   * A process group the server started itself (through its own spawn helper) working in `dir`:
   * ended with `dir`'s deadline and when the server goes away, as the host's own children are;
   * forgotten once its leader is gone.
   */
  | { type: 'adopt'; pgid: number; dir: string };

/** Host -> server. */
export type HostEvent =
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'stdout' | 'stderr'; id: number; chunk: Uint8Array }
  | { type: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'spawn_error'; id: number; code: string; message: string }
  /** Spawn `id` is over: nothing more comes for it. */
  | { type: 'end'; id: number }
  /** The supervision of `dir` ran out: its processes were ended (`pids`, escaped ones included). */
  | { type: 'expired'; dir: string; pids: number[] }
  /** Processes marked with `dir` outlived its task's run, out of its process groups: ended. */
  | { type: 'escaped'; dir: string; pids: number[] }
  /** The answer to `end_escaped` `request`: the processes it ended (gone now). */
  | { type: 'escaped_now'; request: number; pids: number[] };

/** Grace between signals when the server goes away and every child is ended. */
export const SHUTDOWN_GRACE_MS = 1000;
