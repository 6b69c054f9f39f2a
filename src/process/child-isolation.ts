import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';

/** The unprivileged user children run as (RUN_AS_USER), as /etc/passwd describes it. */
export interface ChildIdentity {
  user: string;
  uid: number;
  gid: number;
  home: string;
}

/** The bubblewrap sandbox (SANDBOX=bwrap). */
export interface SandboxSettings {
  /** Absolute path of `bwrap`. */
  command: string;
  /** System directories shown read-only (those that exist). */
  readOnly: string[];
  /**
   * The server's own files and directories, every task's workspace and the projects, hidden from
   * the sandbox (masked if ever under a shown one; one that does not exist yet is passed over).
   */
  hidden: string[];
}

/**
 * HOW EVERY CHILD PROCESS IS CONTAINED, decided once at start from RUN_AS_USER and SANDBOX and
 * applied by `runProcess` to each spawn: the agent, its tools, test commands and git all run as
 * `identity` (when the server runs as root) and inside `sandbox` (when set).
 */
export interface ChildIsolation {
  identity: ChildIdentity | null;
  sandbox: SandboxSettings | null;
}

export const NO_ISOLATION: ChildIsolation = { identity: null, sandbox: null };

/** Raised when the isolation asked for cannot be set up; the server does not start. */
export class IsolationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IsolationError';
  }
}

/** `RUN_AS_USER` (a name from `passwdFile`, or `uid:gid`) as an identity. */
export function lookupUser(spec: string, passwdFile = '/etc/passwd'): ChildIdentity {
  const numeric = /^(\d+):(\d+)$/.exec(spec);
  const lines = readFileSync(passwdFile, 'utf8').split('\n');
  const entries = lines
    .map((line) => line.split(':'))
    .filter((f) => f.length >= 7)
    .map((f) => ({ user: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] }));
  if (numeric) {
    const uid = Number(numeric[1]);
    const known = entries.find((e) => e.uid === uid);
    return {
      user: known?.user ?? `uid${uid}`,
      uid,
      gid: Number(numeric[2]),
      home: known?.home ?? '/',
    };
  }
  const entry = entries.find((e) => e.user === spec);
  if (entry === undefined) {
    throw new IsolationError(
      `RUN_AS_USER=${spec}: no such user in ${passwdFile} (create it, or give uid:gid)`,
    );
  }
  return entry;
}

/** True when `path` is a file this process may run. */
export function isRunnableFile(path: string): boolean {
  try {
    // A missing file is asked without an exception (most PATH directories lack the command).
    if (statSync(path, { throwIfNoEntry: false })?.isFile() !== true) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    // A path through something that is not a directory, or a file it may not run.
    return false;
  }
}

/** Absolute path of `command` on `pathVariable`, or null. */
export function findOnPath(command: string, pathVariable: string | undefined): string | null {
  if (command.includes('/')) return existsSync(command) ? resolve(command) : null;
  for (const dir of (pathVariable ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    if (isRunnableFile(candidate)) return candidate;
  }
  return null;
}

/** True when `path` is `root` or below it. */
function isWithin(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

/** Permission bits of `mode` that apply to `who` (owner, group or others). */
function bitsFor(stat: { uid: number; gid: number; mode: number }, who: ChildIdentity): number {
  if (stat.uid === who.uid) return (stat.mode >> 6) & 7;
  if (stat.gid === who.gid) return (stat.mode >> 3) & 7;
  return stat.mode & 7;
}

/**
 * True when `who` could read `path` by its permission bits (every directory on the way
 * searchable, the file readable). Children run with only their primary group (libuv drops
 * supplementary groups when it switches user), which is all that is asked. ACLs are not read.
 */
export function readableBy(path: string, who: ChildIdentity): boolean {
  return allowedBits(path, who, 4);
}

/**
 * True when `who` may work in the directory `dir` by its permission bits: every directory on the
 * way searchable, `dir` itself readable, writable and searchable.
 */
export function usableBy(dir: string, who: ChildIdentity): boolean {
  return allowedBits(dir, who, 7);
}

/**
 * True when `who` could change what `path` is or holds by its permission bits: it owns `path` or
 * a directory on the way (and so may change their modes), may write `path`, or may write a
 * directory on the way without the sticky bit (and so rename what lies below, and put its own in
 * its place). A path that cannot be resolved is not asked about.
 */
export function changeableBy(path: string, who: ChildIdentity): boolean {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return false;
  }
  let current: string = sep;
  for (const part of ['', ...real.split(sep).filter((p) => p !== '')]) {
    current = join(current, part);
    const stat = statSync(current);
    if (stat.uid === who.uid) return true;
    const writable = (bitsFor(stat, who) & 2) !== 0;
    if (writable && (current === real || (stat.mode & 0o1000) === 0)) return true;
  }
  return false;
}

/** `path` resolved, every directory on the way searchable by `who`, and `bits` of it allowed. */
function allowedBits(path: string, who: ChildIdentity, bits: number): boolean {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return false;
  }
  const parts = real.split(sep).filter((p) => p !== '');
  let current: string = sep;
  for (const part of parts.slice(0, -1)) {
    current = join(current, part);
    if ((bitsFor(statSync(current), who) & 1) === 0) return false;
  }
  return (bitsFor(statSync(real), who) & bits) === bits;
}

export interface IsolationInput {
  runAsUser: string | undefined;
  sandbox: 'none' | 'bwrap';
  sandboxReadOnly: readonly string[];
  /**
   * What no child may see beyond its own part: the server's working directory, `.env`, secret
   * files and SQLite directory, WORKSPACES_DIR and ALLOWED_PROJECT_ROOTS.
   */
  serverPaths: readonly string[];
  /** The server's user id (`process.getuid()`). */
  uid: number;
  pathVariable: string | undefined;
}

/** The isolation RUN_AS_USER and SANDBOX ask for; `IsolationError` when it cannot be had. */
export function buildChildIsolation(input: IsolationInput): ChildIsolation {
  let identity: ChildIdentity | null = null;
  if (input.runAsUser !== undefined) {
    const user = lookupUser(input.runAsUser);
    if (user.uid === 0) {
      // Root by another name would pass for isolation, with none of ALLOW_ROOT's warnings.
      throw new IsolationError(
        `RUN_AS_USER=${input.runAsUser} is root (uid 0): name an unprivileged user, or leave it unset and set ALLOW_ROOT=true to run children as root (not recommended)`,
      );
    }
    if (user.gid === 0) {
      // Children run with the user's primary group: root's reads and writes what root's group may.
      throw new IsolationError(
        `RUN_AS_USER=${input.runAsUser} has root's group (gid 0), which the children would run with: give it a group of its own`,
      );
    }
    if (input.uid === 0) identity = user;
    else if (user.uid !== input.uid) {
      throw new IsolationError(
        `RUN_AS_USER=${input.runAsUser} needs the server to start as root (it runs as uid ${input.uid}); start it as root, or as that user`,
      );
    }
  }
  if (input.sandbox === 'none') return { identity, sandbox: null };
  const command = findOnPath('bwrap', input.pathVariable);
  if (command === null) {
    throw new IsolationError(
      'SANDBOX=bwrap but bwrap is not on PATH (Debian: apt-get install bubblewrap)',
    );
  }
  return {
    identity,
    sandbox: {
      command,
      readOnly: input.sandboxReadOnly.filter((p) => existsSync(p)),
      hidden: input.serverPaths.filter((p) => p !== sep),
    },
  };
}

/** What the sandbox needs to know about one spawn. */
export interface SandboxedSpawn {
  command: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  writable: readonly string[];
  readable: readonly string[];
  /** The Claude CLI: its own `~/.claude` and `~/.claude.json` are shown (writable). */
  cliHome?: boolean;
}

/**
 * The bubblewrap command line for one spawn: new namespaces (no view of the server's processes,
 * so no /proc/<server pid>/environ), the network kept (the agent calls its API), the system
 * directories read-only, the server's own paths, the workspaces and the projects masked (what
 * the spawn may read or write is shown again over them), the CLI's installation read-only, HOME
 * empty (but for `~/.claude` and `~/.claude.json` when the spawn is the CLI's: its credentials,
 * settings and hooks are no test command's to read or write), a private /tmp, and only `writable`
 * (the project, a report directory) writable. The child dies with its sandbox.
 */
export function bwrapArgs(sandbox: SandboxSettings, spawn: SandboxedSpawn, home: string): string[] {
  const args = ['--die-with-parent', '--unshare-all', '--share-net'];
  for (const path of sandbox.readOnly) args.push('--ro-bind', path, path);
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  for (const path of sandbox.hidden) {
    // A mask over a system directory would hide it; what is shown after the masks stays visible.
    if (sandbox.readOnly.some((shown) => isWithin(shown, path))) continue;
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined) continue;
    if (stat.isDirectory()) args.push('--tmpfs', path);
    else args.push('--ro-bind', '/dev/null', path);
  }
  for (const path of spawn.readable) args.push('--ro-bind', path, path);
  if (isAbsolute(home) && home !== sep) {
    args.push('--tmpfs', home);
    for (const own of spawn.cliHome === true ? ['.claude', '.claude.json'] : []) {
      args.push('--bind-try', join(home, own), join(home, own));
    }
  }
  for (const path of spawn.writable) args.push('--bind', path, path);
  args.push('--chdir', spawn.cwd, '--', spawn.command, ...spawn.args);
  return args;
}

/** The installation a CLI command lives in (its real directory, or its package's), to show read-only in the sandbox. */
export function installationOf(executable: string): string {
  const dir = dirname(realpathSync(executable));
  for (const candidate of [dir, dirname(dir)]) {
    if (existsSync(join(candidate, 'package.json'))) return candidate;
  }
  return dir;
}

/**
 * Checks, once at start, that the sandbox runs here: `bwrap` with the same namespaces, as the
 * children's user. Throws `IsolationError` with bwrap's own words otherwise (no user namespaces,
 * a seccomp profile that refuses them, ...).
 */
export function probeSandbox(isolation: ChildIsolation): void {
  if (isolation.sandbox === null) return;
  const result = spawnSync(
    isolation.sandbox.command,
    [
      '--die-with-parent',
      '--unshare-all',
      '--share-net',
      '--ro-bind',
      '/',
      '/',
      '--proc',
      '/proc',
      '--',
      'true',
    ],
    {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(isolation.identity ? { uid: isolation.identity.uid, gid: isolation.identity.gid } : {}),
    },
  );
  if (result.status !== 0) {
    const why = (result.stderr || result.error?.message || `exit ${String(result.status)}`).trim();
    throw new IsolationError(`SANDBOX=bwrap does not work here: ${why.split('\n')[0]}`);
  }
}
