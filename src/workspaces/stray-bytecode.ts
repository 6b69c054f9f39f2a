import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

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

const BYTECODE_FILE = /\.py[co]$/;
const CACHE_DIR = '__pycache__';

/** Most directory entries looked at in one look; past it the look stops (`truncated`). */
export const MAX_BYTECODE_LOOK_ENTRIES = 200_000;

/** Whether `path` (slash-separated) is Python bytecode: a `.pyc` or `.pyo`, or in a `__pycache__`. */
export function isBytecodePath(path: string): boolean {
  return BYTECODE_FILE.test(path) || path.split('/').includes(CACHE_DIR);
}

/** What a look for bytecode git does not track found (paths from the work tree's top). */
export interface StrayBytecode {
  removed: string[];
  /** Found but not removed (no permission, say). */
  failed: string[];
  /** The look stopped at MAX_BYTECODE_LOOK_ENTRIES. */
  truncated: boolean;
}

/**
 * Removes the Python bytecode in the work tree at `top` that git does not track (`tracked`: the
 * index's paths): `__pycache__` directories and `.pyc`/`.pyo` files, outside git's and the
 * installed dependencies' directories (NOT_LOOKED_IN). Python takes a `.pyc` it finds for its
 * source (one compiled with an unchecked hash, or with the source's time and size, whatever the
 * source says now), and a `.pyc` without a source for the module: bytecode the agent left would
 * be what the tests run, while the commit holds the source. The test commands write none
 * (`PYTHONDONTWRITEBYTECODE`), so after this a round runs the sources. A `__pycache__` that is a
 * link is removed as a link. Tracked bytecode is left: the commit holds it, for a reviewer to see.
 */
export async function removeStrayBytecode(
  top: string,
  tracked: readonly string[],
): Promise<StrayBytecode> {
  const keep = tracked.filter(isBytecodePath);
  const holdsTracked = (path: string): boolean =>
    keep.some((kept) => kept === path || kept.startsWith(`${path}/`));
  const found: StrayBytecode = { removed: [], failed: [], truncated: false };
  let looked = 0;

  const remove = async (path: string): Promise<void> => {
    try {
      await rm(join(top, path), { recursive: true, force: true });
      found.removed.push(path);
    } catch {
      found.failed.push(path);
    }
  };

  const visit = async (dir: string, inCache: boolean): Promise<void> => {
    const entries = await readdir(dir === '' ? top : join(top, dir), { withFileTypes: true }).catch(
      () => null,
    );
    if (entries === null) return;
    for (const entry of entries) {
      looked += 1;
      if (looked > MAX_BYTECODE_LOOK_ENTRIES) {
        found.truncated = true;
        return;
      }
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      const cache = inCache || entry.name === CACHE_DIR;
      if (entry.isDirectory()) {
        if (NOT_LOOKED_IN.has(entry.name)) continue;
        if (cache && !holdsTracked(path)) await remove(path);
        else await visit(path, cache);
      } else if ((cache || BYTECODE_FILE.test(entry.name)) && !holdsTracked(path)) {
        await remove(path);
      }
      if (found.truncated) return;
    }
  };

  await visit('', false);
  return found;
}
