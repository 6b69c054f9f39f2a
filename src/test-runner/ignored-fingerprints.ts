import { createHash } from 'node:crypto';
import { Dirent } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PYTHON_BYTECODE_FILE } from 'src/common';
import { DEPENDENCY_DIRS } from 'src/test-runner/installed-dependencies';

/**
 * What git ignores that the verification does not watch here: installed dependencies (a scratch
 * checkout gets the workspace's, linked; what changed in them is looked at by their change times,
 * `installed-dependencies.ts`) and caches tools write as the tests run. Anything else
 * git ignores (a build, generated code, a helper written from the shell) is watched: a change of
 * it while the agent worked may be something the change rests on that its commit does not hold.
 */
const UNWATCHED_DIRS: ReadonlySet<string> = new Set([
  ...DEPENDENCY_DIRS,
  '__pycache__',
  '.pytest_cache',
  '.mypy_cache',
  '.ruff_cache',
  '.hypothesis',
  '.tox',
  '.nox',
  '.cache',
  '.git',
]);

/** Most files looked at per look; past it an entry's fingerprint is UNBOUNDED. */
const MAX_FILES = 10_000;
const MAX_DEPTH = 24;

/** The fingerprint of an entry too large to look at whole: it always counts as changed. */
const UNBOUNDED = 'unbounded';

/** Whether the ignored `path` (project-relative; a directory ends in `/`) is watched. */
export function isWatchedIgnored(path: string): boolean {
  const parts = path.split('/').filter((part) => part !== '');
  return (
    parts.length > 0 &&
    !parts.some((part) => UNWATCHED_DIRS.has(part)) &&
    !PYTHON_BYTECODE_FILE.test(parts[parts.length - 1])
  );
}

/** One file's line in a fingerprint: its place, kind, size and time (a link: its target). */
async function fileLine(path: string, rel: string): Promise<string | null> {
  const stats = await lstat(path).catch(() => null);
  if (stats === null) return null;
  if (stats.isSymbolicLink()) {
    return `${rel}\0l\0${await readlink(path).catch(() => '')}`;
  }
  return stats.isFile() ? `${rel}\0f\0${stats.size}\0${stats.mtimeMs}` : null;
}

/**
 * Fingerprints of the watched entries among `ignored` (as `ProjectChanges.ignored` lists them)
 * in `projectPath`: a digest of every file's path, size and modification time under it (a link's
 * target), unwatched directories inside left out. Only the file system is read, and only where
 * something watched is ignored: a project whose ignored paths are its dependencies and caches
 * costs nothing.
 */
export async function ignoredFingerprints(
  projectPath: string,
  ignored: readonly string[],
): Promise<Record<string, string>> {
  const prints: Record<string, string> = {};
  let budget = MAX_FILES;
  for (const entry of ignored.filter(isWatchedIgnored)) {
    const lines: string[] = [];
    let bounded = true;
    const visit = async (dir: string, rel: string, depth: number): Promise<void> => {
      const children: Dirent[] = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const child of children.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (!bounded) return;
        const childRel = `${rel}${child.name}`;
        if (child.isDirectory()) {
          if (UNWATCHED_DIRS.has(child.name)) continue;
          if (depth >= MAX_DEPTH) bounded = false;
          else await visit(join(dir, child.name), `${childRel}/`, depth + 1);
          continue;
        }
        budget -= 1;
        if (budget < 0) bounded = false;
        const line = await fileLine(join(dir, child.name), childRel);
        if (line !== null) lines.push(line);
      }
    };
    if (entry.endsWith('/')) await visit(join(projectPath, entry), entry, 0);
    else {
      budget -= 1;
      const line = await fileLine(join(projectPath, entry), entry);
      if (line !== null) lines.push(line);
    }
    prints[entry] = bounded
      ? createHash('sha256').update(lines.join('\n')).digest('hex')
      : UNBOUNDED;
  }
  return prints;
}

/**
 * The watched ignored entries created or changed between two looks (`before` null: not known
 * then, so every one counts), sorted. An entry too large to look at whole always counts.
 */
export function changedIgnored(
  before: Readonly<Record<string, string>> | null,
  now: Readonly<Record<string, string>>,
): string[] {
  return Object.keys(now)
    .filter((entry) => now[entry] === UNBOUNDED || before?.[entry] !== now[entry])
    .sort();
}
