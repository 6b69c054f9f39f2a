import { realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Injectable } from '@nestjs/common';
import { AppConfig } from 'src/config';
import { DomainError, ErrorCode, serverInstallDir } from 'src/common';
import { parseDatabaseUrl } from 'src/database';
import { enclosingGitDirectory } from 'src/sessions/git-directory';
import { onKernelFileSystem } from 'src/sessions/kernel-file-systems';
import { serverDependenciesDir } from 'src/sessions/server-install';

/** Longest canonical project path we store (see Session.projectPath). */
export const PROJECT_PATH_MAX_LENGTH = 700;

/** How a refusal names the path: the request's field, or a stored session's. */
type Subject = 'project_path' | "The session's project_path";

function invalid(subject: Subject, reason: string, input: string): DomainError {
  return new DomainError(ErrorCode.ProjectPathInvalid, `${subject} ${reason}`, {
    project_path: input.slice(0, 1000),
  });
}

/** 403: the symlink-resolved path is not echoed, so a refusal reveals nothing outside the roots. */
function notAllowed(subject: Subject, input: string): DomainError {
  return new DomainError(
    ErrorCode.ProjectPathNotAllowed,
    `${subject} is outside the allowed project roots`,
    { project_path: input.slice(0, 1000) },
  );
}

/** One of the server's own places: no project may hold it, nor (`orInside`) lie inside it. */
interface ServerPlace {
  what: string;
  canonical: string;
  orInside: boolean;
}

/** An allowed root as written in ALLOWED_PROJECT_ROOTS (made absolute) and symlink-resolved. */
interface AllowedRoot {
  configured: string;
  canonical: string;
}

/** `place` with every symlink resolved, as far as it exists (a database not yet created). */
function canonicalPath(place: string): string {
  const absolute = path.resolve(place);
  const real = realOrNull(absolute);
  if (real !== null) return real;
  const parent = path.dirname(absolute);
  return parent === absolute ? absolute : path.join(canonicalPath(parent), path.basename(absolute));
}

/** `place` with every symlink resolved (one `realpath` call), or null when it cannot be. */
function realOrNull(place: string): string | null {
  try {
    return realpathSync.native(place);
  } catch {
    return null;
  }
}

/** True when `candidate` is `root` or lies below it (both canonical). */
export function isInside(candidate: string, root: string): boolean {
  if (root === path.sep) return true;
  return candidate === root || candidate.startsWith(root + path.sep);
}

/**
 * Checks a client-supplied project directory and returns its canonical real path. Rules: absolute,
 * existing, a directory, and (when ALLOWED_PROJECT_ROOTS is set) inside one of those roots after
 * every symlink is resolved, so a link cannot smuggle a session outside them; never the
 * filesystem's root, a directory on one of the kernel's own file systems (`/proc`, `/sys`, `/dev`,
 * control groups: the running system, the server's own process among it), a git directory
 * (`.git`, a bare repository, or inside one: a task works in a project's files, not in its
 * repository's internals, where it would write hooks; a bare repository has no work tree for a
 * workspace either), never the server's installation (its code,
 * `dist`, `node_modules`, wherever it was started from), the `node_modules` its dependencies load
 * from or the task workspaces (WORKSPACES_DIR), nor inside any of them, and never a directory
 * holding one of those, the server's working directory or its SQLite database (a task could
 * change the server, its records or other tasks' work). Every such rule is here, in one place.
 * Errors: 400 `project_path_invalid` (relative, missing, not a directory, too long, one of those
 * places), 403 `project_path_not_allowed` (outside the allowed roots).
 *
 * A stored session is held to the same rules again (`recheck`) whenever a task is created in it
 * and whenever one starts: a rule added since it was stored, or a directory changed since (made a
 * bare repository, replaced by a symbolic link into the server's installation), refuses it then.
 */
@Injectable()
export class ProjectPathService {
  private readonly installDir = serverInstallDir();
  private readonly dependenciesDir = serverDependenciesDir();
  /** `serverPlaces`, found once: every task's creation and start checks its project against them. */
  private places: ServerPlace[] | null = null;

  constructor(private readonly config: AppConfig) {}

  /**
   * Only filesystem calls (a few realpath, stat and small reads, made at once rather than through
   * the thread pool, where each would wake the event loop): no child process.
   */
  resolve(input: string): string {
    return this.canonical(input, 'project_path');
  }

  /**
   * Checks a stored session's project directory (its canonical path, as `resolve` returned it)
   * against the rules as they are now, for a task created or started in it: the same errors as
   * `resolve`, naming "The session's project_path". The path must also still be its own real
   * path: a directory replaced by a symbolic link since is refused, wherever the link leads. A
   * directory that is gone is no rule broken: it is left to the run, which fails its task
   * `project_unavailable` where it would start a process there. The same calls as `resolve`.
   */
  recheck(stored: string): void {
    if (realOrNull(stored) === null) return;
    const subject = "The session's project_path";
    const real = this.canonical(stored, subject);
    if (real !== stored) {
      throw invalid(
        subject,
        'is no longer the directory the session was created for (a symbolic link now stands in its place); create a session for the directory to work in',
        stored,
      );
    }
  }

  private canonical(input: string, subject: Subject): string {
    if (input.includes('\0')) throw invalid(subject, 'must not contain NUL bytes', input);
    if (!path.isAbsolute(input)) throw invalid(subject, 'must be an absolute path', input);
    const roots = this.allowedRoots();
    // A path outside every root as written gets the same 403 whether or not it exists, unless it
    // resolves (through a symlink) to a directory inside one: no probing of the filesystem
    // outside the roots.
    const asWritten = path.resolve(input);
    const outsideAsWritten =
      roots !== null &&
      !roots.some(
        (root) => isInside(asWritten, root.configured) || isInside(asWritten, root.canonical),
      );
    let real: string;
    try {
      real = realpathSync.native(input);
    } catch (error) {
      if (outsideAsWritten) throw notAllowed(subject, input);
      const code = (error as NodeJS.ErrnoException).code;
      const reason =
        code === 'ENOENT' || code === 'ENOTDIR'
          ? 'does not exist'
          : `cannot be read (${code ?? 'error'})`;
      throw invalid(subject, reason, input);
    }
    if (roots !== null && !roots.some((root) => isInside(real, root.canonical))) {
      throw notAllowed(subject, input);
    }
    if (!(statSync(real, { throwIfNoEntry: false })?.isDirectory() ?? false)) {
      throw invalid(subject, 'is not a directory', input);
    }
    if (real.length > PROJECT_PATH_MAX_LENGTH) {
      throw invalid(subject, `is longer than ${PROJECT_PATH_MAX_LENGTH} characters`, input);
    }
    const refusal = this.serverPlace(real);
    if (refusal !== null) throw invalid(subject, refusal, input);
    return real;
  }

  /** Why `real` is no place for a task's project (see the class's rules), or null. */
  private serverPlace(real: string): string | null {
    if (real === path.parse(real).root) {
      return 'is the root of the filesystem: a task there could change anything its user may write';
    }
    if (onKernelFileSystem(real)) {
      return "is on one of the kernel's own file systems (proc, sysfs, cgroup, ...): it holds no project, and a task there could read or change the running system (the server's own process, under /proc)";
    }
    if (real.split(path.sep).includes('.git')) {
      return "lies inside a git directory (.git): a task works in a project's files, never in its repository's own";
    }
    const gitDir = enclosingGitDirectory(real);
    if (gitDir === real) {
      return "is a bare git repository: it has no work tree for a task to work in, and a task there would write the repository's own files (its hooks and config); give a clone or a worktree of it";
    }
    if (gitDir !== null) {
      return "lies inside a bare git repository: a task works in a project's files, never in its repository's own";
    }
    for (const place of this.serverPlaces()) {
      if (place.orInside && isInside(real, place.canonical)) {
        return `${real === place.canonical ? 'is' : 'lies inside'} ${place.what}: a task there could change the server or other tasks' work`;
      }
      if (isInside(place.canonical, real)) {
        return `holds ${place.what}: a task there could change the server, its records or other tasks' work`;
      }
    }
    return null;
  }

  /** The server's own places, canonical, and whether a project inside one is refused too: found once. */
  private serverPlaces(): ServerPlace[] {
    this.places ??= this.findServerPlaces();
    return this.places;
  }

  private findServerPlaces(): ServerPlace[] {
    const database = parseDatabaseUrl(this.config.DATABASE_URL);
    const places: [string, string, boolean][] = [
      ["the server's installation (its code and node_modules)", this.installDir, true],
      ["the server's dependencies (node_modules)", this.dependenciesDir, true],
      ["the server's working directory", process.cwd(), false],
      ['the task workspaces (WORKSPACES_DIR)', this.config.WORKSPACES_DIR, true],
    ];
    if (database.type === 'sqlite') places.push(["the server's database", database.file, false]);
    return places.map(([what, place, orInside]) => ({
      what,
      canonical: canonicalPath(place),
      orInside,
    }));
  }

  /**
   * The allowed roots as configured (absolute) and canonical, or null when any directory is
   * allowed. A path may name a root either way before resolution; after it, only the canonical
   * form counts. Missing roots allow nothing.
   */
  private allowedRoots(): AllowedRoot[] | null {
    if (this.config.ALLOWED_PROJECT_ROOTS.length === 0) return null;
    return this.config.ALLOWED_PROJECT_ROOTS.flatMap((root) => {
      const canonical = realOrNull(root);
      return canonical === null ? [] : [{ configured: path.resolve(root), canonical }];
    });
  }
}
