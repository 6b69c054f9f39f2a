import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Injectable } from '@nestjs/common';
import { AppConfig } from 'src/config';
import { DomainError, ErrorCode } from 'src/common';

/** Longest canonical project path we store (see Session.projectPath). */
export const PROJECT_PATH_MAX_LENGTH = 700;

function invalid(message: string, input: string): DomainError {
  return new DomainError(ErrorCode.ProjectPathInvalid, message, {
    project_path: input.slice(0, 1000),
  });
}

/** 403: the symlink-resolved path is not echoed, so a refusal reveals nothing outside the roots. */
function notAllowed(input: string): DomainError {
  return new DomainError(
    ErrorCode.ProjectPathNotAllowed,
    'project_path is outside the allowed project roots',
    { project_path: input.slice(0, 1000) },
  );
}

/** An allowed root as written in ALLOWED_PROJECT_ROOTS (made absolute) and symlink-resolved. */
interface AllowedRoot {
  configured: string;
  canonical: string;
}

/** True when `candidate` is `root` or lies below it (both canonical). */
export function isInside(candidate: string, root: string): boolean {
  if (root === path.sep) return true;
  return candidate === root || candidate.startsWith(root + path.sep);
}

/**
 * Checks a client-supplied project directory and returns its canonical real path. Rules: absolute,
 * existing, a directory, and (when ALLOWED_PROJECT_ROOTS is set) inside one of those roots after
 * every symlink is resolved, so a link cannot smuggle a session outside them.
 * Errors: 400 `project_path_invalid` (relative, missing, not a directory, too long), 403
 * `project_path_not_allowed` (outside the allowed roots).
 */
@Injectable()
export class ProjectPathService {
  constructor(private readonly config: AppConfig) {}

  async resolve(input: string): Promise<string> {
    if (input.includes('\0')) throw invalid('project_path must not contain NUL bytes', input);
    if (!path.isAbsolute(input)) throw invalid('project_path must be an absolute path', input);
    const roots = await this.allowedRoots();
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
      real = await fs.realpath(input);
    } catch (error) {
      if (outsideAsWritten) throw notAllowed(input);
      const code = (error as NodeJS.ErrnoException).code;
      const reason =
        code === 'ENOENT' || code === 'ENOTDIR'
          ? 'does not exist'
          : `cannot be read (${code ?? 'error'})`;
      throw invalid(`project_path ${reason}`, input);
    }
    if (roots !== null && !roots.some((root) => isInside(real, root.canonical))) {
      throw notAllowed(input);
    }
    const stat = await fs.stat(real);
    if (!stat.isDirectory()) throw invalid('project_path is not a directory', input);
    if (real.length > PROJECT_PATH_MAX_LENGTH) {
      throw invalid(`project_path is longer than ${PROJECT_PATH_MAX_LENGTH} characters`, input);
    }
    return real;
  }

  /**
   * The allowed roots as configured (absolute) and canonical, or null when any directory is
   * allowed. A path may name a root either way before resolution; after it, only the canonical
   * form counts. Missing roots allow nothing.
   */
  private async allowedRoots(): Promise<AllowedRoot[] | null> {
    if (this.config.ALLOWED_PROJECT_ROOTS.length === 0) return null;
    const roots = await Promise.all(
      this.config.ALLOWED_PROJECT_ROOTS.map(async (root) => {
        const canonical = await fs.realpath(root).catch(() => null);
        return canonical === null ? null : { configured: path.resolve(root), canonical };
      }),
    );
    return roots.filter((root): root is AllowedRoot => root !== null);
  }
}
