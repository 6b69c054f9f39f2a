/**
 * GIT'S POINTER FILES as git reads them (`read_gitfile_gently` and `get_common_dir_noenv` in its
 * setup.c): a linked work tree's `.git` file (`gitdir: <path>`), its git directory's `commondir`
 * and `gitdir` files. The path is the whole file after any prefix, less the line feeds and
 * carriage returns that end it: it may hold any other character (a carriage return or U+2028
 * within, a space at either end), where a regular expression's `.` or a `trim` would cut it short.
 */

const GITDIR_PREFIX = 'gitdir: ';

/** The path a `.git` file names; null when it does not start `gitdir: ` or names nothing. */
export function gitdirPointer(text: string): string | null {
  if (!text.startsWith(GITDIR_PREFIX)) return null;
  const path = pointerFileValue(text.slice(GITDIR_PREFIX.length));
  return path === '' ? null : path;
}

/** The path a `commondir` or `gitdir` file holds (empty when none). */
export function pointerFileValue(text: string): string {
  let end = text.length;
  while (end > 0 && (text[end - 1] === '\n' || text[end - 1] === '\r')) end -= 1;
  return text.slice(0, end);
}
