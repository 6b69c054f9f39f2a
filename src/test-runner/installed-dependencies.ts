import { randomBytes } from 'node:crypto';
import { Dirent, lstatSync, readdirSync, realpathSync, Stats } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { PYTHON_CACHE_DIR } from 'src/common';

/**
 * Directories of installed dependencies that a project's tests load and git does not hold (the
 * session's setup command installs them, or the agent does): a scratch checkout of the
 * verification gets the workspace's, linked, where its setup command made none.
 */
export const DEPENDENCY_DIRS: readonly string[] = ['node_modules', '.venv', 'venv'];

/**
 * Caches that tools write inside installed dependencies as they run (vitest's results, Babel's and
 * nyc's caches in `node_modules/.cache`, Python's bytecode: the agent's own runs write it into a
 * virtualenv installed without it, as uv installs): not looked in, and a directory changed only by
 * one made in it is not counted as changed (`Walk.explained`).
 */
const CACHE_DIRS: ReadonlySet<string> = new Set(['.cache', '.vite', '.vitest', PYTHON_CACHE_DIR]);

/** How much later than a cache's birth its directory's change time may be for the one to explain the other. */
const CACHE_BIRTH_SLACK_MS = 10;

/** Files that say which dependencies a project installs (manifests and lockfiles), by name. */
const DEPENDENCY_MANIFEST =
  /^(package\.json|package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|requirements[^/]*\.(txt|in)|constraints[^/]*\.txt|pyproject\.toml|setup\.py|setup\.cfg|Pipfile|Pipfile\.lock|poetry\.lock|uv\.lock|pdm\.lock)$/;

/** Most entries the look at the dependencies reads (`changedDependencies`); past it, it stops. */
export const MAX_DEPENDENCY_ENTRIES = 300_000;

/**
 * Entries looked at between two turns of the event loop. Each is a synchronous `lstat` (6 µs of
 * CPU on the thread, 38 through the thread pool: test/bench/RESULTS.md; a `node_modules` holds
 * tens of thousands of files), the look giving way so that it holds the loop a few ms at a time.
 */
const ENTRIES_PER_TURN = 1000;

/**
 * Whether `path` (project-relative) says which dependencies the project installs: not one of an
 * installed package (inside DEPENDENCY_DIRS).
 */
export function isDependencyManifest(path: string): boolean {
  const parts = path.split('/');
  return (
    DEPENDENCY_MANIFEST.test(parts.at(-1) ?? '') &&
    !parts.some((part) => DEPENDENCY_DIRS.includes(part))
  );
}

/**
 * The installed dependencies of a work tree as the agent is about to work in it: a moment of the
 * file system's own clock (`ctimeMs`, the change time of a file made then), the directories where
 * they are looked for (`places`, from the work tree's top: `.`, then each directory down to the
 * project's), and the DEPENDENCY_DIRS that were real directories there then (`dirs`).
 */
export interface DependencyMark {
  ctimeMs: number;
  places: string[];
  dirs: string[];
}

/** What changed in the installed dependencies since their mark. */
export interface DependencyChanges {
  /**
   * What was created, written, renamed, removed or had its mode changed, by package (from the work
   * tree's top, sorted: `node_modules/dep`, `node_modules/@scope/dep`,
   * `.venv/lib/python3.12/site-packages/dep`; a dependency directory itself when entries were
   * added to or removed from its top, or when it was created or removed as a whole).
   */
  changed: string[];
  /** The look stopped at its bound (MAX_DEPENDENCY_ENTRIES): what it did not reach is not known. */
  truncated: boolean;
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

/**
 * `place` (from `top`) when it is a directory reached through no symbolic link: the agent writes
 * the work tree, and a link of its making must not lead the look anywhere else.
 */
function realDirectory(top: string, realTop: string, place: string): boolean {
  const path = join(top, place);
  if (!lstatSync(path, { throwIfNoEntry: false })?.isDirectory()) return false;
  try {
    return realpathSync(path) === join(realTop, place);
  } catch {
    return false;
  }
}

/** The DEPENDENCY_DIRS that are real directories at `places` of `top` now. */
function dependencyDirs(top: string, places: readonly string[]): string[] {
  const realTop = realpathSync(top);
  return places.flatMap((place) =>
    DEPENDENCY_DIRS.map((name) => posix.join(place, name)).filter((dir) =>
      realDirectory(top, realTop, dir),
    ),
  );
}

/**
 * The change time the file system gives a file made now in `top`: a file is created there (a name
 * no one else uses), looked at and removed. Every later change in the dependencies has a later
 * change time, which an unprivileged process cannot set back (unlike the modification time).
 */
async function fileSystemNow(top: string): Promise<number> {
  const path = join(top, `.cta-dependency-mark-${randomBytes(8).toString('hex')}`);
  const handle = await open(path, 'wx');
  try {
    return (await handle.stat()).ctimeMs;
  } finally {
    await handle.close();
    await unlink(path);
  }
}

/**
 * The mark of the installed dependencies of the work tree at `top`, whose project is at
 * `directory` (`DependencyMark`): the DEPENDENCY_DIRS at the top and in each directory down to
 * the project's. Only the file system is read; one file is created and removed at the top.
 */
export async function markDependencies(top: string, directory: string): Promise<DependencyMark> {
  const rel = toPosix(relative(top, directory));
  const parts = rel === '' ? [] : rel.split('/');
  const places = ['.', ...parts.map((_, i) => parts.slice(0, i + 1).join('/'))];
  return {
    ctimeMs: await fileSystemNow(top),
    places,
    dirs: dependencyDirs(top, places),
  };
}

/**
 * The package a changed `path` (from the work tree's top) belongs to: what follows the last
 * `node_modules` (a scope's package with its scope) or `site-packages`; else the path itself.
 */
export function packageOf(path: string): string {
  const parts = path.split('/');
  const nodeModules = parts.lastIndexOf('node_modules');
  const sitePackages = parts.lastIndexOf('site-packages');
  const at = Math.max(nodeModules, sitePackages);
  if (at < 0 || at === parts.length - 1) return path;
  const scoped = at === nodeModules && parts[at + 1].startsWith('@') && at + 2 < parts.length;
  return parts.slice(0, at + (scoped ? 3 : 2)).join('/');
}

/** A walk of dependency directories, bounded, that gives way to the event loop as it goes. */
class Walk {
  looked = 0;
  truncated = false;
  readonly changed = new Set<string>();

  constructor(
    private readonly top: string,
    private readonly sinceMs: number,
    private readonly maxEntries: number,
  ) {}

  /** Notes `path` (from the top) when its change time is after the mark. */
  private note(path: string, stats: Stats): void {
    if (stats.ctimeMs > this.sinceMs) this.changed.add(packageOf(path));
  }

  /**
   * Whether the change of the directory `dir` (its `stats`) is a cache made in it since the mark
   * (`caches`: its entries of CACHE_DIRS), and nothing after: making an entry sets the directory's
   * change time to the entry's birth time. An entry removed at the same time is not seen; a file
   * system that keeps no birth time explains nothing.
   */
  private explained(dir: string, stats: Stats, caches: readonly Dirent[]): boolean {
    const born = Math.max(
      0,
      ...caches.map(
        (cache) =>
          lstatSync(join(this.top, dir, cache.name), { throwIfNoEntry: false })?.birthtimeMs ?? 0,
      ),
    );
    return born > this.sinceMs && stats.ctimeMs <= born + CACHE_BIRTH_SLACK_MS;
  }

  /** Looks at the directory `dir` (from the top) and at everything under it. */
  async visit(dir: string): Promise<void> {
    const pending = [dir];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const stats = lstatSync(join(this.top, next), { throwIfNoEntry: false });
      if (stats === undefined) continue;
      if (!stats.isDirectory()) {
        this.note(next, stats);
        continue;
      }
      let entries: Dirent[];
      try {
        entries = readdirSync(join(this.top, next), { withFileTypes: true });
      } catch {
        // Unreadable: only its own change time can be looked at.
        this.note(next, stats);
        continue;
      }
      const caches = entries.filter((entry) => entry.isDirectory() && CACHE_DIRS.has(entry.name));
      if (stats.ctimeMs > this.sinceMs && !this.explained(next, stats, caches)) {
        this.note(next, stats);
      }
      for (const entry of entries) {
        if (this.looked >= this.maxEntries) {
          this.truncated = true;
          return;
        }
        this.looked += 1;
        if (this.looked % ENTRIES_PER_TURN === 0) await turn();
        const path = `${next}/${entry.name}`;
        if (entry.isDirectory()) {
          if (!CACHE_DIRS.has(entry.name)) pending.push(path);
          continue;
        }
        const child = lstatSync(join(this.top, path), { throwIfNoEntry: false });
        if (child !== undefined) this.note(path, child);
      }
    }
  }
}

/**
 * What changed in the installed dependencies of the work tree at `top` since `mark`: every entry
 * of the marked dependency directories (links not followed, CACHE_DIRS left out) whose change
 * time is after the mark's, and the dependency directories created or removed at its places since.
 * Writing a file, renaming, removing or linking one, changing its mode or its owner all set the
 * change time of the file or of its directory, so nothing done to them is missed, however its
 * modification time was set back. At most `maxEntries` entries are looked at (`truncated` past
 * them); the look never follows a link, and reads only the file system.
 */
export async function changedDependencies(
  top: string,
  mark: DependencyMark,
  maxEntries = MAX_DEPENDENCY_ENTRIES,
): Promise<DependencyChanges> {
  const walk = new Walk(top, mark.ctimeMs, maxEntries);
  const now = dependencyDirs(top, mark.places);
  for (const dir of [...new Set([...now, ...mark.dirs])].sort()) {
    if (!now.includes(dir) || !mark.dirs.includes(dir)) walk.changed.add(dir);
    else if (!walk.truncated) await walk.visit(dir);
  }
  return { changed: [...walk.changed].sort(), truncated: walk.truncated };
}
