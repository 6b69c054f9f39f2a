import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** What a repository's HEAD file holds: a symbolic ref under refs/, or a commit id. */
const HEAD_CONTENT = /^(ref: refs\/|[0-9a-f]{40}\s*$|[0-9a-f]{64}\s*$)/;

async function isDirectory(place: string): Promise<boolean> {
  return (await fs.stat(place).catch(() => null))?.isDirectory() ?? false;
}

/**
 * True when `dir` is a git directory as git itself tells one (`is_git_directory` in git's
 * setup.c): a HEAD naming a ref or a commit beside `objects` and `refs` directories. A `.git`
 * is one, and so is a bare repository, whatever its name.
 */
export async function isGitDirectory(dir: string): Promise<boolean> {
  const head = await fs.readFile(path.join(dir, 'HEAD'), 'utf8').catch(() => null);
  if (head === null || !HEAD_CONTENT.test(head)) return false;
  const [objects, refs] = await Promise.all(
    ['objects', 'refs'].map((name) => isDirectory(path.join(dir, name))),
  );
  return objects && refs;
}

/** The git directory `real` (canonical) is or lies inside, nearest first; null when none. */
export async function enclosingGitDirectory(real: string): Promise<string | null> {
  for (let dir = real; ; dir = path.dirname(dir)) {
    if (await isGitDirectory(dir)) return dir;
    if (path.dirname(dir) === dir) return null;
  }
}
