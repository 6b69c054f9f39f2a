import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Injectable } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import { DomainError, ErrorCode } from 'src/common/errors/domain-error';

/** Longest canonical project path we store (see Session.projectPath). */
export const PROJECT_PATH_MAX_LENGTH = 700;

function invalid(message: string, input: string): DomainError {
  return new DomainError(ErrorCode.ProjectPathInvalid, message, {
    project_path: input.slice(0, 1000),
  });
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
    let real: string;
    try {
      real = await fs.realpath(input);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason =
        code === 'ENOENT' || code === 'ENOTDIR'
          ? 'does not exist'
          : `cannot be read (${code ?? 'error'})`;
      throw invalid(`project_path ${reason}`, input);
    }
    const stat = await fs.stat(real);
    if (!stat.isDirectory()) throw invalid('project_path is not a directory', input);
    if (real.length > PROJECT_PATH_MAX_LENGTH) {
      throw invalid(`project_path is longer than ${PROJECT_PATH_MAX_LENGTH} characters`, input);
    }
    const roots = await this.allowedRoots();
    if (roots !== null && !roots.some((root) => isInside(real, root))) {
      throw new DomainError(
        ErrorCode.ProjectPathNotAllowed,
        'project_path is outside the allowed project roots',
        { project_path: input.slice(0, 1000), resolved_path: real },
      );
    }
    return real;
  }

  /** Canonical allowed roots, or null when any directory is allowed. Missing roots allow nothing. */
  private async allowedRoots(): Promise<string[] | null> {
    if (this.config.ALLOWED_PROJECT_ROOTS.length === 0) return null;
    const roots = await Promise.all(
      this.config.ALLOWED_PROJECT_ROOTS.map((root) => fs.realpath(root).catch(() => null)),
    );
    return roots.filter((root): root is string => root !== null);
  }
}
