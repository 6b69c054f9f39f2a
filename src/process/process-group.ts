import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { Observable, Subscription } from 'rxjs';
import { bwrapArgs, ChildIsolation, installationOf } from 'src/process/child-isolation';
import { commandPaths } from 'src/process/command-paths';
import { goneGroups } from 'src/process/gone-groups';
import { underGroupLeader } from 'src/process/group-leader';
import { signalGroup } from 'src/process/signal-group';
import { HelperChild, SpawnHelper, spawnHelperPath } from 'src/process/spawn-helper';

/**
 * WHERE CHILD PROCESSES ARE SPAWNED AND KILLED. Every child of the server (the Claude CLI, test
 * commands) runs through `runProcess`: never a shell, stdin closed, its own process group, and the
 * whole group killed when the subscriber unsubscribes. It is started by the spawn helper
 * (`spawn-helper.ts`) where that was built, else by Node's spawn (`startChild`).
 */

export type ProcessEvent =
  | { type: 'spawned'; pid: number }
  | { type: 'stdout'; chunk: Buffer }
  | { type: 'stderr'; chunk: Buffer }
  | { type: 'exit'; code: number | null; signal: NodeJS.Signals | null };

export interface ProcessSpec {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Time between SIGINT, SIGTERM and SIGKILL when the group is stopped. */
  killGraceMs: number;
  /** While it emits true the child's output is not read (it blocks once its pipes are full). */
  paused$?: Observable<boolean>;
  /** Which user the child runs as and in which sandbox (`NO_ISOLATION`: as the server, none). */
  isolation: ChildIsolation;
  /** What the child may write in the sandbox (the project, a report directory); nothing else. */
  writable?: readonly string[];
  /** What the child may read in the sandbox besides the system and its command's installation. */
  readable?: readonly string[];
  /** The child is the Claude CLI: the sandbox shows it its own `~/.claude` (`bwrapArgs`). */
  cliHome?: boolean;
  /**
   * GNU `timeout` (`findGroupLeader`): the child runs under it, leading a new process group in
   * this process's session. Absent or null: the child leads a new session (`group-leader.ts`).
   */
  groupLeader?: string | null;
  /**
   * The spawn helper that starts the child, which then leads a new process group in the helper's
   * session (`groupLeader` is not used). Absent: this process's own helper, started on first use
   * in this process's session. A child that runs as another user is started by Node's spawn.
   */
  spawnHelper?: SpawnHelper;
}

/** Error raised when the command cannot be started; `code` is the errno name (ENOENT, EACCES...). */
export class SpawnError extends Error {
  constructor(
    readonly code: string,
    readonly command: string,
    message: string,
  ) {
    super(message);
    this.name = 'SpawnError';
  }
}

/**
 * After the leader exited, its stdio is read to the end ('close'). When something else (a
 * background job) holds the pipes open, they are given up once no output arrived for this long,
 * or at the latest after DRAIN_MAX_AFTER_EXIT_MS of continuous output.
 */
const DRAIN_IDLE_MS = 1000;
const DRAIN_MAX_AFTER_EXIT_MS = 30_000;
const POLL_MS = 25;
/** After SIGKILL, how long to wait for the kernel to tear the group down. */
const AFTER_KILL_WAIT_MS = 5000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function errnoCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : 'ESPAWN';
}

/**
 * `state`, process group and session of a process, from /proc/<pid>/stat; null when it cannot be
 * read.
 */
export function processStat(
  pid: string | number,
): { state: string; ppid: number; pgrp: number; session: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Format: pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    state: fields[0],
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
  };
}

export const isZombie = (state: string): boolean => state === 'Z' || state === 'X';

/** The pids in /proc (as its entries name them), or null when /proc cannot be listed. */
export function procPids(): string[] | null {
  try {
    return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return null;
  }
}

/** Pids of the live (non-zombie) members of group `pgid`; null when /proc cannot be read. */
export function liveGroupMembers(pgid: number): number[] | null {
  const pids = procPids();
  if (pids === null) return null;
  const members: number[] = [];
  for (const entry of pids) {
    const stat = processStat(entry);
    if (stat !== null && stat.pgrp === pgid && !isZombie(stat.state)) members.push(Number(entry));
  }
  return members;
}

/**
 * True while process `pid` exists and is not a zombie. A killed server stays a zombie until its
 * parent reaps it, and `kill(pid, 0)` succeeds on zombies: /proc tells them apart. Without /proc
 * only `kill(pid, 0)` is asked.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = processStat(pid);
  return stat === null ? !existsSync('/proc') : !isZombie(stat.state);
}

/**
 * True when a live member of group `pgid` has its working directory at or under `dir`. Used
 * before ending a process group recorded by an earlier server process: after a restart the pid
 * may belong to an unrelated process, which would not be working in the task's project.
 */
export function groupWorksIn(pgid: number, dir: string): boolean {
  for (const pid of liveGroupMembers(pgid) ?? []) {
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    if (cwd === dir || cwd.startsWith(dir.endsWith('/') ? dir : `${dir}/`)) return true;
  }
  return false;
}

/** True when `path` is `dir` or lies under it. */
export function isAtOrUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/**
 * True when a live process of this host (that this process may look at) has its working directory
 * at or under `dir`: something still works there. False without /proc.
 */
export function isDirectoryInUse(dir: string): boolean {
  for (const entry of procPids() ?? []) {
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${entry}/cwd`);
    } catch {
      continue;
    }
    if (isAtOrUnder(cwd, dir)) {
      const stat = processStat(entry);
      if (stat !== null && !isZombie(stat.state)) return true;
    }
  }
  return false;
}

/**
 * True while any non-zombie process of group `pgid` exists. A group the spawn helper found empty
 * is gone without asking (`gone-groups.ts`); a live leader answers at once; only when it is gone
 * or a zombie are the other processes looked for (a walk of all of /proc).
 */
export function isProcessGroupAlive(pgid: number): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1 || goneGroups.has(pgid)) return false;
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
  const leader = processStat(pgid);
  if (leader !== null && leader.pgrp === pgid && !isZombie(leader.state)) return true;
  const members = liveGroupMembers(pgid);
  return members === null ? true : members.length > 0;
}

async function waitForGroupExit(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isProcessGroupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

/**
 * Stops every process of group `pgid`: SIGINT, then SIGTERM after `graceMs`, then SIGKILL after
 * another `graceMs`. Resolves once the group is gone (or, after SIGKILL, after a few seconds at most).
 */
export async function killProcessGroup(pgid: number, graceMs: number): Promise<void> {
  if (!Number.isInteger(pgid) || pgid <= 1) return;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    if (!isProcessGroupAlive(pgid)) return;
    signalGroup(pgid, signal);
    if (await waitForGroupExit(pgid, graceMs)) return;
  }
  signalGroup(pgid, 'SIGKILL');
  await waitForGroupExit(pgid, AFTER_KILL_WAIT_MS);
}

/** Ends one process (not its group): SIGTERM, then SIGKILL after `graceMs` if it still lives. */
export async function endProcess(pid: number, graceMs: number): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isProcessAlive(pid) && Date.now() < deadline) await sleep(POLL_MS);
  if (!isProcessAlive(pid)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone meanwhile.
  }
}

interface Launch {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  ids: { uid?: number; gid?: number };
  /**
   * How the child gets its process group: it leads a new session; its spawn helper makes it
   * lead a new group in the helper's session; or its group leader `timeout` makes one.
   */
  leads: 'session' | 'group' | 'led';
}

/**
 * What is actually spawned for `spec`: `isolatedLaunchOf`, leading a new group in the session of
 * the spawn helper the spec names, else under its group leader when it has one, else leading a
 * new session.
 */
function launchOf(spec: ProcessSpec): Launch {
  const launch = isolatedLaunchOf(spec);
  if (spec.spawnHelper && launch.ids.uid === undefined) return { ...launch, leads: 'group' };
  if (!spec.groupLeader) return { ...launch, leads: 'session' };
  const led = underGroupLeader(
    spec.groupLeader,
    launch.command,
    launch.args,
    spec.cwd,
    launch.env.PATH,
  );
  if ('error' in led) {
    throw new SpawnError(led.error, spec.command, `spawn ${spec.command} ${led.error}`);
  }
  const [command, ...args] = led.argv;
  return { ...launch, command, args, leads: 'led' };
}

/**
 * What is spawned for `spec` under its isolation: as the children's user (its uid and primary
 * group only, HOME, USER and LOGNAME its own), and with a sandbox `bwrap` running the command by
 * its real path (checked here, so a missing command is ENOENT as without a sandbox; a relative
 * path with a slash taken in the child's directory, not the server's), with the
 * command's own installation shown read-only.
 */
function isolatedLaunchOf(spec: ProcessSpec): Omit<Launch, 'leads'> {
  const { identity, sandbox } = spec.isolation;
  const env = identity
    ? { ...spec.env, HOME: identity.home, USER: identity.user, LOGNAME: identity.user }
    : spec.env;
  const ids = identity ? { uid: identity.uid, gid: identity.gid } : {};
  if (sandbox === null) return { command: spec.command, args: spec.args, env, ids };
  // A path with a slash is the child's: relative to its directory, as its own spawn would take it.
  const command = spec.command.includes('/') ? resolve(spec.cwd, spec.command) : spec.command;
  const found = commandPaths.find(command, env.PATH);
  if (found === null) {
    throw new SpawnError('ENOENT', spec.command, `spawn ${spec.command} ENOENT`);
  }
  const executable = realpathSync(found);
  const args = bwrapArgs(
    sandbox,
    {
      command: executable,
      args: spec.args,
      cwd: spec.cwd,
      env,
      writable: spec.writable ?? [],
      readable: [installationOf(executable), ...(spec.readable ?? [])],
      cliHome: spec.cliHome,
    },
    env.HOME ?? '',
  );
  return { command: sandbox.command, args, env, ids };
}

/** This process's spawn helper (`spawn-helper.ts`), started on first use; null where it is not built. */
let spawnHelper: SpawnHelper | null | undefined;

function helper(): SpawnHelper | null {
  if (spawnHelper === undefined) {
    const path = spawnHelperPath();
    spawnHelper = path === null ? null : new SpawnHelper(path);
  }
  return spawnHelper;
}

/**
 * Starts what `launch` says: through the spawn helper (no fork of this process), or with Node's
 * spawn when the child runs as another user (`posix_spawn` cannot change it) or the helper was not
 * built. The helper is given the command's path: as found on PATH, or relative to `cwd`.
 */
function startChild(spec: ProcessSpec, launch: Launch): ChildProcess | HelperChild {
  const viaHelper = launch.ids.uid === undefined ? (spec.spawnHelper ?? helper()) : null;
  if (viaHelper === null) {
    return spawn(launch.command, launch.args, {
      cwd: spec.cwd,
      env: launch.env,
      shell: false,
      detached: launch.leads === 'session',
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
      ...launch.ids,
    });
  }
  const path = launch.command.includes('/')
    ? resolve(spec.cwd, launch.command)
    : commandPaths.find(launch.command, launch.env.PATH);
  if (path === null) {
    throw new SpawnError('ENOENT', spec.command, `spawn ${spec.command} ENOENT`);
  }
  return viaHelper.spawn(path, launch.command, launch.args, {
    cwd: spec.cwd,
    env: launch.env,
    detached: launch.leads === 'session',
    newGroup: launch.leads === 'group',
  });
}

/**
 * Cold Observable over one child process. Subscribing spawns `command` with `args` (no shell,
 * stdin 'ignore', leading its own process group: under `groupLeader`, else as the leader of a new
 * session; the pid reported is the group's leader); it emits `spawned`, then
 * `stdout`/`stderr` chunks, then `exit`, and completes once the leader exited and its stdio
 * closed (stdio still held open by a leftover background process is given up once it was idle
 * for a second: see `drainWhenIdle`).
 * A spawn failure errors with a `SpawnError` whose `code` is ENOENT, EACCES, ...
 * Unsubscribing, and completion itself, stop whatever is left of the group with
 * `killProcessGroup(pid, killGraceMs)`.
 */
export function runProcess(spec: ProcessSpec): Observable<ProcessEvent> {
  return new Observable<ProcessEvent>((subscriber) => {
    let child: ChildProcess | HelperChild;
    try {
      child = startChild(spec, launchOf(spec));
    } catch (err) {
      if (err instanceof SpawnError) {
        subscriber.error(err);
        return undefined;
      }
      subscriber.error(new SpawnError(errnoCode(err), spec.command, (err as Error).message));
      return undefined;
    }

    let pid: number | null = null;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let finished = false;
    let drainTimer: NodeJS.Timeout | null = null;
    let lastOutputAt = Date.now();
    /** The output is held back by the caller's flow control (`spec.paused$`). */
    let paused = false;

    const finish = (): void => {
      if (finished || exit === null) return;
      finished = true;
      if (drainTimer) clearTimeout(drainTimer);
      subscriber.next({ type: 'exit', code: exit.code, signal: exit.signal });
      subscriber.complete();
    };

    /**
     * Gives the pipes up once they were idle for DRAIN_IDLE_MS. The idleness is judged in a
     * setImmediate callback, which runs after the event loop's poll phase: output already waiting
     * in the pipe is read (and counted) first, however late a busy loop ran the timer. So a line
     * the child printed before it exited is never lost. Output held back by flow control is not
     * idle: the pause is ours, and its time does not count towards the deadline either.
     */
    const drainWhenIdle = (deadline: number): void => {
      const armedAt = Date.now();
      drainTimer = setTimeout(() => {
        setImmediate(() => {
          if (finished) return;
          if (paused) return drainWhenIdle(deadline + (Date.now() - armedAt));
          const idle = Date.now() - lastOutputAt >= DRAIN_IDLE_MS;
          if (!idle && Date.now() < deadline) return drainWhenIdle(deadline);
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish();
        });
      }, DRAIN_IDLE_MS);
    };

    child.once('spawn', () => {
      pid = child.pid ?? null;
      if (pid !== null) subscriber.next({ type: 'spawned', pid });
    });
    child.once('error', (err: Error) => {
      if (pid === null && !finished) {
        finished = true;
        subscriber.error(new SpawnError(errnoCode(err), spec.command, err.message));
      }
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      lastOutputAt = Date.now();
      if (!finished) subscriber.next({ type: 'stdout', chunk });
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      lastOutputAt = Date.now();
      if (!finished) subscriber.next({ type: 'stderr', chunk });
    });
    child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      exit = { code, signal };
      lastOutputAt = Date.now();
      drainWhenIdle(Date.now() + DRAIN_MAX_AFTER_EXIT_MS);
    });
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      exit ??= { code, signal };
      finish();
    });
    const flow: Subscription | undefined = spec.paused$?.subscribe((pause) => {
      paused = pause;
      // Idleness is counted from the resume: nothing could arrive while the output was held.
      if (!pause) lastOutputAt = Date.now();
      for (const stream of [child.stdout, child.stderr]) {
        if (pause) stream?.pause();
        else stream?.resume();
      }
    });

    return () => {
      flow?.unsubscribe();
      if (drainTimer) clearTimeout(drainTimer);
      child.stdout?.removeAllListeners('data');
      child.stderr?.removeAllListeners('data');
      // child.pid is set as soon as spawn() returned, before the 'spawn' event: an unsubscribe in
      // the same tick as the subscribe must still stop the child.
      const pgid = pid ?? child.pid ?? null;
      if (pgid === null) {
        // Not started yet as far as this process knows (the spawn helper has not answered): the
        // child kills its group as soon as it learns its pid.
        child.kill('SIGKILL');
        return;
      }
      // What the spawn helper saw as the child ended spares asking again (`gone-groups.ts`).
      let groupAlive = isProcessGroupAlive(pgid);
      if (!groupAlive && child.exitCode === null && child.signalCode === null) {
        // A group leader (`timeout`) just started makes its group itself, after its exec and
        // before it starts the command: until then there is no group to end, only the leader.
        // If it got that far meanwhile, its group is ended below.
        child.kill('SIGKILL');
        groupAlive = isProcessGroupAlive(pgid);
      }
      if (groupAlive) {
        void killProcessGroup(pgid, spec.killGraceMs).finally(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        });
      }
    };
  });
}
