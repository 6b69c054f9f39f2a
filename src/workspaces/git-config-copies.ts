import {
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { fileValue, GitConfigFingerprint } from 'src/workspaces/git-config-fingerprint';
import { WorkspaceRoot } from 'src/workspaces/workspace-root';

/** The server's directory of copies, in WORKSPACES_DIR (named so it is never taken for a workspace). */
const COPIES_DIR = '.git-config-copies';

/**
 * PRIVATE COPIES OF A TASK'S GIT CONFIGURATION FILES, kept as its fingerprint is taken, so that a
 * later change to them can be compared entry by entry (`GitConfigGuard`) rather than refused
 * whole: one directory per task, each file named by the sha256 of its content, the fingerprint's
 * own hash (`file:<sha256>`), and the fingerprint itself (`fingerprint.json`: what the workspace
 * is held to once its task is gone). Never in the database: a remote's URL can carry a token.
 *
 * The directory is the server's (mode 0700, its files 0600), in WORKSPACES_DIR, which belongs to
 * RUN_AS_USER when there is one: that user could rename the directory and put a link in its
 * place. So it is opened once, checked to be the server's own, and held open; every path used
 * goes through the open directory (`/proc/self/fd/<fd>`), never through WORKSPACES_DIR again. A
 * copy read back counts only when its content still has the fingerprint's hash. Where the
 * directory cannot be had so (someone else's, no `/proc`), no copies are kept: every change of
 * a configuration file counts.
 */
@Injectable()
export class GitConfigCopies implements OnModuleDestroy {
  private readonly logger = new Logger('GitConfigCopies');
  private fd: number | null;

  constructor(root: WorkspaceRoot) {
    const path = join(root.path, COPIES_DIR);
    this.fd = openOwnDirectory(path);
    if (this.fd === null) {
      this.logger.warn(
        `${path} is not a directory of the server's own (mode 0700) that can be held open: no copies of the repositories' git configuration are kept, and any change to it fails a task's commit and refuses its merge`,
      );
    }
  }

  /**
   * Keeps `files` as task `taskId`'s copies, with `fingerprint` (what they were taken for, read
   * back by `fingerprint`); false when no copies are kept.
   */
  keep(taskId: string, files: Iterable<Buffer>, fingerprint: GitConfigFingerprint): boolean {
    const dir = this.taskDir(taskId);
    if (dir === null) return false;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const bytes of files) {
      writeFileSync(join(dir, hashOf(fileValue(bytes))), bytes, { mode: 0o600 });
    }
    writeFileSync(join(dir, FINGERPRINT_FILE), JSON.stringify(fingerprint), { mode: 0o600 });
    return true;
  }

  /**
   * The fingerprint task `taskId`'s copies were last kept for; null when none is (no copies, or
   * removed with its workspace). What a workspace whose task is gone is held to when it is
   * removed (`TaskWorkspaceCleanup.retireLeftover`).
   */
  fingerprint(taskId: string): GitConfigFingerprint | null {
    const dir = this.taskDir(taskId);
    const bytes = dir === null ? null : readOwnFile(join(dir, FINGERPRINT_FILE));
    if (bytes === null) return null;
    try {
      return JSON.parse(bytes.toString('utf8')) as GitConfigFingerprint;
    } catch {
      return null;
    }
  }

  /** Task `taskId`'s copy of the file that had `value` (`file:<sha256>`); null when none is. */
  read(taskId: string, value: string): Buffer | null {
    const dir = this.taskDir(taskId);
    if (dir === null || !value.startsWith('file:')) return null;
    const bytes = readOwnFile(join(dir, hashOf(value)));
    return bytes !== null && fileValue(bytes) === value ? bytes : null;
  }

  /** Removes task `taskId`'s copies (its workspace is gone). */
  forget(taskId: string): void {
    const dir = this.taskDir(taskId);
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  }

  onModuleDestroy(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private taskDir(taskId: string): string | null {
    if (!WorkspaceRoot.isWorkspaceName(taskId)) throw new Error(`not a task id: ${taskId}`);
    return this.fd === null ? null : `/proc/self/fd/${this.fd}/${taskId}`;
  }
}

const hashOf = (value: string): string => value.slice('file:'.length);

/** The file in a task's directory of copies that holds its fingerprint (never a sha256). */
const FINGERPRINT_FILE = 'fingerprint.json';

/** What the file at `path` holds, read without following a link; null when it cannot be read. */
function readOwnFile(path: string): Buffer | null {
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/**
 * `path` created if need be and opened as a directory (a link is not followed): its descriptor
 * when it is the server's own, closed to everyone else, and reachable through `/proc/self/fd`;
 * else null.
 */
function openOwnDirectory(path: string): number | null {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return null;
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  const stat = fstatSync(fd);
  const own = stat.isDirectory() && stat.uid === process.geteuid?.() && (stat.mode & 0o077) === 0;
  const reachable = statSync(`/proc/self/fd/${fd}`, { throwIfNoEntry: false })?.ino === stat.ino;
  if (own && reachable) return fd;
  closeSync(fd);
  return null;
}
