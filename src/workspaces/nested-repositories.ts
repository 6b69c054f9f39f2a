import { lstatSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Git, GitOptions } from 'src/workspaces/git';
import { IndexFile, readIndex, readIndexFile } from 'src/workspaces/hidden-index-entries';

/** The mode of a gitlink: an index entry that holds a nested repository's commit. */
const GITLINK = 0o160000;

/** The gitlinks of an index, by path (conflict stages once). */
export function gitlinksOf(index: IndexFile): string[] {
  return [...new Set(index.entries.filter((e) => e.mode === GITLINK).map((e) => e.path))];
}

/** The gitlinks `git ls-files --stage -z` lists (`<mode> <oid> <stage>\t<path>`), by path. */
export function gitlinksInLsFiles(output: string): string[] {
  const paths = output
    .split('\0')
    .map((line) => /^160000 [0-9a-f]+ \d\t(.+)$/s.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
  return [...new Set(paths)];
}

/**
 * Whether `path` (from the work tree's top `top`) is a directory reached through no link that
 * holds a `.git`: where git, comparing a gitlink with the work tree, runs `git status` in the
 * nested repository. Unsure (a directory it cannot read) counts as yes.
 */
export function holdsRepository(top: string, path: string): boolean {
  try {
    let at = top;
    for (const part of path.split('/')) {
      at = join(at, part);
      if (lstatSync(at, { throwIfNoEntry: false })?.isDirectory() !== true) return false;
    }
    return lstatSync(join(at, '.git'), { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}

/**
 * `git add -A -- .` but for `nested` (literal paths from the work tree's top, and what lies below
 * them).
 */
export function addAllArgs(nested: readonly string[]): string[] {
  return ['add', '-A', '--', '.', ...nested.map((path) => `:(top,exclude,literal)${path}`)];
}

/** Whether `path` (from the work tree's top) is `prefix` ('' for the top) or lies below it. */
export function isBelow(prefix: string, path: string): boolean {
  return prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * Stages every change below `options.cwd` in the work tree at `top` as `git add -A -- .` does
 * (in the index `indexFile`, the one `options` has git use; read here, or listed by git where it
 * cannot be), without asking a nested repository anything. For a gitlink whose directory holds
 * a repository, `git add` runs `git status` in it to see whether it is dirty; that git reads the
 * nested repository's own configuration, the agent's to write (in a sandbox too: it lies in the
 * workspace), and would run its clean filter outside the sandbox, as the user the server's git
 * runs as. So those gitlinks are left out of the `add` and staged with `git update-index`, which
 * reads their HEAD and nothing else: the commit holds the nested repository's commit as
 * `git add` would have staged it (its uncommitted files were never part of a commit).
 */
export async function addAll(
  git: Git,
  options: GitOptions,
  top: string,
  indexFile: string | null,
): Promise<void> {
  const bytes = await readIndexFile(indexFile);
  const read = bytes === null ? null : readIndex(bytes);
  const atTop = { ...options, cwd: top };
  const gitlinks =
    read !== null
      ? gitlinksOf(read)
      : gitlinksInLsFiles(await git.text(['ls-files', '--stage', '-z'], atTop));
  const prefix = relative(top, options.cwd);
  const nested = gitlinks.filter((path) => isBelow(prefix, path) && holdsRepository(top, path));
  await git.text(addAllArgs(nested), options);
  if (nested.length > 0) {
    await git.text(['update-index', '--add', '--remove', '--', ...nested], atTop);
  }
}
