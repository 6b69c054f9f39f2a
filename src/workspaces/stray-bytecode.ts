import { Dirent, readdirSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { isPythonBytecode, PYTHON_BYTECODE_FILE, PYTHON_CACHE_DIR } from 'src/common';

/**
 * Directories not looked in: git's, and installed dependencies' (their bytecode is theirs; files
 * written inside them are not watched, README "Verified completion").
 */
const NOT_LOOKED_IN: ReadonlySet<string> = new Set([
  '.git',
  'node_modules',
  '.venv',
  'venv',
  '.tox',
  '.nox',
  'site-packages',
]);

/** Most directory entries looked at in one look; past it the look stops (`truncated`). */
export const MAX_BYTECODE_LOOK_ENTRIES = 200_000;

/**
 * Entries looked at between two turns of the event loop: the directories are read synchronously
 * (a `readdir` through the thread pool costs several times one on the thread, and a workspace
 * has few), the look giving way every so many entries so that a large tree does not hold it.
 */
const ENTRIES_PER_TURN = 2000;

/** What a look for bytecode git does not track found (paths from the work tree's top). */
export interface StrayBytecode {
  removed: string[];
  /** Found but not removed, or directories that could not be looked in (no permission, say). */
  failed: string[];
  /** The look stopped at MAX_BYTECODE_LOOK_ENTRIES. */
  truncated: boolean;
}

/** The tracked bytecode of `tracked` (`files`), and every directory holding some (`holders`). */
function trackedBytecode(tracked: readonly string[]): { files: Set<string>; holders: Set<string> } {
  const files = new Set<string>();
  const holders = new Set<string>();
  for (const path of tracked) {
    if (!isPythonBytecode(path)) continue;
    files.add(path);
    for (let at = dirname(path); at !== '.' && !holders.has(at); at = dirname(at)) holders.add(at);
  }
  return { files, holders };
}

/** A walk of a work tree, bounded (`truncated`), that notes the directories it cannot read. */
class Walk {
  looked = 0;
  truncated = false;
  readonly unreadable: string[] = [];

  constructor(private readonly top: string) {}

  /** The entries of `dir` (from the top; '' the top), null when it cannot be read or the walk is over. */
  async entries(dir: string): Promise<Dirent[] | null> {
    if (this.truncated) return null;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir === '' ? this.top : join(this.top, dir), { withFileTypes: true });
    } catch {
      this.unreadable.push(dir === '' ? '.' : dir);
      return null;
    }
    const before = this.looked;
    this.looked += entries.length;
    if (this.looked > MAX_BYTECODE_LOOK_ENTRIES) {
      this.truncated = true;
      return null;
    }
    if (Math.floor(before / ENTRIES_PER_TURN) !== Math.floor(this.looked / ENTRIES_PER_TURN)) {
      await turn();
    }
    return entries;
  }
}

/**
 * The bytecode under `dir` (`inCache`: inside a `__pycache__`), added to `found`: each
 * `__pycache__` directory as a whole, each `.pyc`/`.pyo` file (and anything else in a cache),
 * outside NOT_LOOKED_IN and nested repositories (a directory holding a `.git`: a submodule's files
 * are its own index's).
 */
async function findBytecode(
  walk: Walk,
  dir: string,
  inCache: boolean,
  found: string[] = [],
): Promise<string[]> {
  const entries = await walk.entries(dir);
  if (entries === null || (dir !== '' && entries.some((entry) => entry.name === '.git'))) {
    return found;
  }
  for (const entry of entries) {
    const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
    const cache = inCache || entry.name === PYTHON_CACHE_DIR;
    if (entry.isDirectory()) {
      if (NOT_LOOKED_IN.has(entry.name)) continue;
      if (cache) found.push(path);
      else await findBytecode(walk, path, false, found);
    } else if (cache || PYTHON_BYTECODE_FILE.test(entry.name)) {
      found.push(path);
    }
  }
  return found;
}

/**
 * Removes the Python bytecode in the work tree at `top` that git does not track (`tracked`: the
 * index's paths, asked for only when there is bytecode): `__pycache__` directories and
 * `.pyc`/`.pyo` files, outside git's and the installed dependencies' directories
 * (NOT_LOOKED_IN) and nested repositories. Python takes a `.pyc` it finds for its source (one
 * compiled with an unchecked hash, or with the source's time and size, whatever the source says
 * now), and a `.pyc` without a source for the module: bytecode the agent left would be what the
 * tests run, while the commit holds the source. The test commands write none
 * (`PYTHONDONTWRITEBYTECODE`), so after this a round runs the sources. A `__pycache__` that is a
 * link is removed as a link; a path whose directory no longer leads where the look found it
 * (swapped for a link since) is not removed but `failed`, and so is a directory that cannot be
 * read. Tracked bytecode is left: the commit holds it, and the verification asks about it
 * (`BaseCheckout.testChanges`).
 */
export async function removeStrayBytecode(
  top: string,
  tracked: () => Promise<readonly string[]>,
): Promise<StrayBytecode> {
  const walk = new Walk(top);
  const candidates = await findBytecode(walk, '', false);
  const result: StrayBytecode = {
    removed: [],
    failed: walk.unreadable,
    truncated: walk.truncated,
  };
  if (candidates.length === 0) return result;
  const kept = trackedBytecode(await tracked());
  const realTop = realpathSync(top);
  const remove = async (path: string): Promise<void> => {
    try {
      const parent = dirname(path);
      if (realpathSync(join(top, parent)) !== join(realTop, parent)) throw new Error('moved');
      await rm(join(top, path), { recursive: true });
      result.removed.push(path);
    } catch {
      result.failed.push(path);
    }
  };
  const sweep = async (paths: readonly string[]): Promise<void> => {
    for (const path of paths) {
      // A cache holding tracked bytecode: what it holds besides.
      if (kept.holders.has(path)) await sweep(await findBytecode(walk, path, true));
      else if (!kept.files.has(path)) await remove(path);
    }
  };
  await sweep(candidates);
  result.truncated = walk.truncated;
  return result;
}
