import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { isAtOrUnder } from 'src/process';

function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** The target of the symbolic link at `path`; null when it is no link. */
function linkTarget(path: string): string | null {
  try {
    return lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() ? readlinkSync(path) : null;
  } catch {
    return null;
  }
}

/**
 * Whether a link at `path` to `target` leads outside `top` (whose real path is `realTop`): an
 * absolute target, one that climbs above `top`, or one that leads out through another link.
 */
function leadsOutside(path: string, target: string, top: string, realTop: string): boolean {
  if (isAbsolute(target)) return true;
  const resolved = resolve(dirname(path), target);
  if (!isAtOrUnder(resolved, top)) return true;
  const real = realOrNull(resolved);
  return real !== null && !isAtOrUnder(real, realTop);
}

/**
 * Of `paths` (relative to `projectPath`), the symbolic links that lead outside the repository's
 * work tree at `top`, as `path -> target`, sorted: an absolute target (a reviewer's checkout is
 * somewhere else), one that climbs above `top` (`../`), or one that leads out through another
 * link. A commit holds the link, not what it leads to: tests that passed through it here have
 * nothing to read in a checkout of the change anywhere else. Read from the file system (an
 * `lstat` per path; more only for a link).
 */
export function linksOutside(top: string, projectPath: string, paths: Iterable<string>): string[] {
  const found: string[] = [];
  let realTop: string | null = null;
  for (const rel of paths) {
    const path = join(projectPath, rel);
    const target = linkTarget(path);
    if (target === null) continue;
    realTop ??= realOrNull(top) ?? top;
    if (leadsOutside(path, target, top, realTop)) found.push(`${rel} -> ${target}`);
  }
  return found.sort();
}
