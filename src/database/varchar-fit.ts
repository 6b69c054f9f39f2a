import { createHash } from 'node:crypto';

/**
 * `text` made to fit a `varchar(length)` column, for a display name the server cannot bound
 * before it is stored (a test's name, a test file's path). Unchanged when it fits; else its start
 * is kept and the cut is marked with the whole text's length and the start of its sha256, so two
 * different texts never read the same once cut, and one text reads the same in every run.
 * MySQL refuses a longer value where SQLite stores it; MySQL counts characters and JavaScript
 * counts UTF-16 units, never fewer, so what fits here fits on both.
 */
export function fitVarchar(text: string, length: number): string {
  if (text.length <= length) return text;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const mark = `… [cut: ${text.length} characters in all, sha256 ${hash}]`;
  const head = text.slice(0, Math.max(0, length - mark.length));
  // A surrogate pair split by the cut would be stored as a replacement character.
  return `${/[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head}${mark}`;
}
