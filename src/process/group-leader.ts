import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { findOnPath } from 'src/process/child-isolation';
import { commandPaths } from 'src/process/command-paths';

/**
 * HOW A CHILD GETS ITS OWN PROCESS GROUP WITHOUT A SESSION OF ITS OWN.
 *
 * Node gives a child its own process group only by making it lead a new session (`detached`:
 * setsid). With Linux's autogroup scheduling (on by default) every session is a scheduling group
 * of its own, and groups share the CPU equally: 200 agents would be 200 groups beside the
 * server's one, and the server would get a 201st of a busy machine whatever their niceness.
 *
 * GNU `timeout 0 <command> <args>` puts itself in a new process group of the same session
 * (setpgid), runs the command in it with no time limit (0), and passes its exit status or signal
 * on. So children started through it share the process host's session and scheduling group, and
 * each still leads (through `timeout`) a process group that is ended as a whole. The host leads a
 * session of its own: the server's scheduling group stays apart from all of its children.
 *
 * Only GNU coreutils' `timeout` is used (busybox's makes no group); without it children lead
 * new sessions, as Node's `detached` does.
 */

/** The path of GNU coreutils' `timeout` on `pathVariable`, or null when there is none. */
export function findGroupLeader(pathVariable: string | undefined): string | null {
  const path = findOnPath('timeout', pathVariable);
  if (path === null) return null;
  const version = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 5000 });
  return version.status === 0 && /^timeout \(GNU coreutils\)/.test(version.stdout) ? path : null;
}

/**
 * The argv that runs `command` with `args` under the group leader at `leader`. The command is
 * looked up first, as `spawn` would (on PATH, or relative to `cwd` when it holds a slash), so a
 * command that cannot be run fails to start with ENOENT or EACCES rather than through
 * `timeout`'s exit status.
 */
export function underGroupLeader(
  leader: string,
  command: string,
  args: readonly string[],
  cwd: string,
  pathVariable: string | undefined,
): { argv: string[] } | { error: 'ENOENT' | 'EACCES' } {
  if (!command.includes('/')) {
    // Found on PATH: a file it can run (`findOnPath` checks both).
    const found = commandPaths.find(command, pathVariable);
    return found === null ? { error: 'ENOENT' } : { argv: [leader, '0', found, ...args] };
  }
  const executable = resolve(cwd, command);
  try {
    if (!statSync(executable).isFile()) return { error: 'EACCES' };
    accessSync(executable, constants.X_OK);
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'ENOENT' : 'EACCES' };
  }
  return { argv: [leader, '0', executable, ...args] };
}
