import { createHash } from 'node:crypto';
import { Dir, lstatSync, opendirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { smallDirectoryEntries } from 'src/common';
import { readWholeChildFileAsync } from 'src/process';

/**
 * What, in a repository's common git directory, decides which programs git runs and how it reads
 * the files it adds or checks out, as it was when a task's workspace was ready for its agent: each
 * path (from the common git directory, `/`-separated) with what it held. A path that is absent
 * was absent.
 */
export interface GitConfigFingerprint {
  /** The workspace's own git directory, from the common one (`worktrees/<name>`); null: none. */
  worktree: string | null;
  /**
   * The task under whose id private copies of its configuration files were kept as it was taken
   * (`GitConfigCopies`), so that a change to them can be compared entry by entry; absent (a
   * fingerprint from before copies): any change to them counts.
   */
  copies?: string;
  /**
   * Path → `file:<sha256 of its content>`, `link:<target>`, `directory`, `other` (a FIFO, a
   * socket, a device), or `too_large` / `too_many_entries` for what was past the bounds.
   */
  paths: Record<string, string>;
}

/**
 * The configuration files: the repository's shared `config` (filters, `core.hooksPath`,
 * `core.fsmonitor`, aliases, `include.path`, merge and diff drivers) and `config.worktree`.
 */
const CONFIG_FILES = ['config', 'config.worktree'];

/** The directories every file of which is looked at: `hooks/` and `info/` (`attributes`, `exclude`). */
const DIRECTORIES = ['hooks', 'info'];

/**
 * Written by git itself (`git update-server-info`, which every `git repack`, hence `git gc`, runs)
 * and read only by clients of the dumb HTTP protocol: no git command runs or reads files by it.
 */
const WRITTEN_BY_GIT = new Set(['info/refs']);

/**
 * Paths not looked at: those git itself writes (above), and the sample hooks `git init` puts in
 * `hooks/` (`pre-commit.sample`): git runs a hook only by its exact name, so a sample never runs,
 * and one renamed to run is a new path.
 */
const notLookedAt = (path: string): boolean =>
  WRITTEN_BY_GIT.has(path) || (path.startsWith('hooks/') && path.endsWith('.sample'));

/** A file larger than this is not hashed (`too_large`): no configuration file or hook is. */
export const MAX_FINGERPRINT_FILE_BYTES = 16 * 1024 * 1024;

/** Paths looked at in all, at most; past it a directory is `too_many_entries`. */
export const MAX_FINGERPRINT_PATHS = 1000;

/** The values that say a path was past the bounds, not what it held. */
const UNREAD = new Set(['too_large', 'too_many_entries']);

/** A fingerprint with the content of the configuration files it read, by path (never stored). */
export interface GitConfigReading {
  fingerprint: GitConfigFingerprint;
  /** Of `configFilePaths`, those that were plain files, with what they held as it was taken. */
  configFiles: Map<string, Buffer>;
}

/** The configuration files a fingerprint of the workspace `worktree` (null: none) looks at. */
export function configFilePaths(worktree: string | null): string[] {
  return worktree === null ? CONFIG_FILES : [...CONFIG_FILES, `${worktree}/config.worktree`];
}

/**
 * The fingerprint of the common git directory `commonDir` (and of the workspace's own git
 * directory `worktree`, from it, when not null): read in-process, no git started (git would read
 * the very configuration in question). Links are recorded by their target, never followed; only
 * regular files are read (a FIFO cannot make it wait), each up to MAX_FINGERPRINT_FILE_BYTES,
 * MAX_FINGERPRINT_PATHS paths in all.
 */
export async function takeGitConfigFingerprint(
  commonDir: string,
  worktree: string | null,
): Promise<GitConfigReading> {
  const paths: Record<string, string> = {};
  const configFiles = new Map<string, Buffer>();
  const files = configFilePaths(worktree);
  let budget = MAX_FINGERPRINT_PATHS;
  const look = async (path: string): Promise<void> => {
    if (notLookedAt(path)) return;
    budget -= 1;
    const read = await describe(join(commonDir, path));
    if (read === null) return;
    const { what, bytes } = read;
    paths[path] = what;
    if (bytes !== null && files.includes(path)) configFiles.set(path, bytes);
    if (what !== 'directory') return;
    const names = namesIn(join(commonDir, path), read.size, budget + 1).sort();
    if (names.length > budget) {
      paths[path] = 'too_many_entries';
      return;
    }
    for (const name of names) await look(`${path}/${name}`);
  };
  for (const path of [...files, ...DIRECTORIES]) await look(path);
  return { fingerprint: { worktree, paths }, configFiles };
}

/**
 * The names in the directory `path` (of `stat` size `size`), at most `limit` of them (none when
 * it cannot be read): a directory of a million entries costs no more than `limit`.
 */
function namesIn(path: string, size: number, limit: number): string[] {
  let dir: Dir;
  try {
    const small = smallDirectoryEntries(path, size);
    if (small !== null) return small.slice(0, limit).map((entry) => entry.name);
    dir = opendirSync(path);
  } catch {
    return [];
  }
  const names: string[] = [];
  try {
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      names.push(entry.name);
      if (names.length >= limit) break;
    }
  } finally {
    dir.closeSync();
  }
  return names;
}

/**
 * What is at `path` (see `GitConfigFingerprint.paths`), with the bytes hashed for a plain file,
 * and its `stat` size; null when nothing is. The looks are made at once, not through the thread
 * pool: a handful of small local files, several times a task.
 */
async function describe(
  path: string,
): Promise<{ what: string; bytes: Buffer | null; size: number } | null> {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return null;
  const only = (what: string) => ({ what, bytes: null, size: stat.size });
  if (stat.isSymbolicLink()) return only(`link:${readLinkOrUnknown(path)}`);
  if (stat.isDirectory()) return only('directory');
  if (!stat.isFile()) return only('other');
  if (stat.size > MAX_FINGERPRINT_FILE_BYTES) return only('too_large');
  const bytes = await readWholeChildFileAsync(path, MAX_FINGERPRINT_FILE_BYTES);
  // Replaced between the two looks: by something that is no longer a plain file of that size.
  if (bytes === null) return only('other');
  return { what: fileValue(bytes), bytes, size: stat.size };
}

function readLinkOrUnknown(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '?';
  }
}

/** A plain file's value in `GitConfigFingerprint.paths`: `file:<sha256 of its content>`. */
export function fileValue(bytes: Buffer): string {
  return `file:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The paths whose content the fingerprint could not record (too large, too many), sorted. */
export function unreadPaths(fingerprint: GitConfigFingerprint): string[] {
  return Object.keys(fingerprint.paths)
    .filter((path) => UNREAD.has(fingerprint.paths[path]))
    .sort();
}

/**
 * The paths that differ between two fingerprints of one repository (added, removed or changed;
 * one past the bounds counts as changed, since what it holds is unknown), sorted.
 */
export function changedGitConfigPaths(
  before: GitConfigFingerprint,
  after: GitConfigFingerprint,
): string[] {
  const all = new Set([...Object.keys(before.paths), ...Object.keys(after.paths)]);
  return [...all]
    .filter((path) => {
      const was = before.paths[path];
      const is = after.paths[path];
      return was !== is || UNREAD.has(is);
    })
    .sort();
}
