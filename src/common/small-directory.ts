import { Dirent, readdirSync } from 'node:fs';

/** A directory at most this large (its `stat` size, in bytes) is read with one `readdir`. */
export const SMALL_DIRECTORY_BYTES = 16 * 1024;

/**
 * The entries of the directory `path`, whose `stat` gave `size`, read at once when that size says
 * it is small: one `readdir` costs the process about a third of reading the same few entries one
 * by one through `opendir` (test/bench/fs-calls.ts), and the server lists a few small directories
 * per task (a git directory's `hooks/`, a workspace, a report directory). Null when it is not
 * known to be small: then the caller reads it entry by entry, so that a directory of a million
 * entries costs no more than the caller's bound. A directory's size grows with its entries on
 * every common file system (ext4, xfs, btrfs, tmpfs), and never shrinks on ext4; a size of 0 (a
 * file system that does not tell) is not small. Throws what `readdir` throws.
 */
export function smallDirectoryEntries(path: string, size: number): Dirent[] | null {
  if (size <= 0 || size > SMALL_DIRECTORY_BYTES) return null;
  return readdirSync(path, { withFileTypes: true });
}
