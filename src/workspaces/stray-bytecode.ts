import { Dirent } from 'node:fs';
import { readdir, realpath, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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

/** What a look for bytecode git does not track found (paths from the work tree's top). */
export interface StrayBytecode {
  removed: string[];
  /** Found but not removed, or directories that could not be looked in (no permission, say). */
  failed: string[];
  /** The look stopped at MAX_BYTECODE_LOOK_ENTRIES. */
  truncated: boolean;
}

/** The tracked bytecode of `tracked`, and every directory holding some. */
function trackedBytecode(tracked: readonly string[]): Set<string> {
  const kept = new Set<string>();
  for (const path of tracked) {
    if (!isPythonBytecode(path)) continue;
    for (let at = path; at !== '.' && !kept.has(at); at = dirname(at)) kept.add(at);
  }
  return kept;
}

/**
 * Removes the Python bytecode in the work tree at `top` that git does not track (`tracked`: the
 * index's paths): `__pycache__` directories and `.pyc`/`.pyo` files, outside git's and the
 * installed dependencies' directories (NOT_LOOKED_IN) and nested repositories (a submodule's
 * files are its own index's). Python takes a `.pyc` it finds for its source (one compiled with
 * an unchecked hash, or with the source's time and size, whatever the source says now), and a
 * `.pyc` without a source for the module: bytecode the agent left would be what the tests run,
 * while the commit holds the source. The test commands write none (`PYTHONDONTWRITEBYTECODE`), so
 * after this a round runs the sources. A `__pycache__` that is a link is removed as a link; a
 * path whose directory no longer leads where the look found it (swapped for a link since) is not
 * removed but `failed`, and so is a directory that cannot be read. Tracked bytecode is left: the
 * commit holds it, and the verification asks about it (`BaseCheckout.testChanges`).
 */
export async function removeStrayBytecode(
  top: string,
  tracked: readonly string[],
): Promise<StrayBytecode> {
  const kept = trackedBytecode(tracked);
  const realTop = await realpath(top);
  const found: StrayBytecode = { removed: [], failed: [], truncated: false };
  let looked = 0;

  const remove = async (path: string): Promise<void> => {
    try {
      const parent = dirname(path);
      if ((await realpath(join(top, parent))) !== join(realTop, parent)) throw new Error('moved');
      await rm(join(top, path), { recursive: true });
      found.removed.push(path);
    } catch {
      found.failed.push(path);
    }
  };

  const visit = async (dir: string, inCache: boolean): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir === '' ? top : join(top, dir), { withFileTypes: true });
    } catch {
      found.failed.push(dir === '' ? '.' : dir);
      return;
    }
    if (dir !== '' && entries.some((entry) => entry.name === '.git')) return;
    for (const entry of entries) {
      looked += 1;
      if (looked > MAX_BYTECODE_LOOK_ENTRIES) {
        found.truncated = true;
        return;
      }
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      const cache = inCache || entry.name === PYTHON_CACHE_DIR;
      if (entry.isDirectory()) {
        if (NOT_LOOKED_IN.has(entry.name)) continue;
        if (cache && !kept.has(path)) await remove(path);
        else await visit(path, cache);
      } else if ((cache || PYTHON_BYTECODE_FILE.test(entry.name)) && !kept.has(path)) {
        await remove(path);
      }
      if (found.truncated) return;
    }
  };

  await visit('', false);
  return found;
}
