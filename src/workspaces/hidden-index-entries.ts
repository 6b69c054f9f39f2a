import { readWholeChildFileAsync } from 'src/process';
import { Git, GitOptions } from 'src/workspaces/git';

/**
 * Entries of a git index that `git add -A` passes over whatever the work tree holds: marked
 * `--skip-worktree` or `--assume-unchanged` (`git update-index`). The agent can mark a file so and
 * then edit it: its tests see the edit, a commit (or a snapshot) made through that index does not.
 */
export interface HiddenIndexEntries {
  skipWorktree: string[];
  assumeUnchanged: string[];
}

/** The fixed part of an index entry before its object id: times, dev, ino, mode, uid, gid, size. */
const STAT_BYTES = 40;
const ASSUME_VALID = 0x8000;
const EXTENDED = 0x4000;
const STAGE = 0x3000;
const NAME_LENGTH = 0x0fff;
const SKIP_WORKTREE = 0x4000;

/**
 * The stat data an index entry caches of its work-tree file when git last hashed it (32 bits
 * each, as the index keeps them): git's own test of whether a file changed since.
 */
export interface IndexStat {
  ctimeS: number;
  ctimeNs: number;
  mtimeS: number;
  mtimeNs: number;
  ino: number;
  size: number;
}

/** One entry of a git index. */
export interface IndexEntry {
  /** From the repository's top, as git stores it. */
  path: string;
  /** `0o100644`, `0o100755`, `0o120000` (a link), `0o160000` (a submodule's commit). */
  mode: number;
  /** The object id, hex. */
  oid: string;
  /** 0, or 1 to 3 for the sides of a conflict. */
  stage: number;
  stat: IndexStat;
  skipWorktree: boolean;
  assumeUnchanged: boolean;
}

/** A whole index read: its entries, and the length of its object ids (20: SHA-1, 32: SHA-256). */
export interface IndexFile {
  hashBytes: number;
  entries: IndexEntry[];
}

class UnreadableIndex extends Error {}

/** The extension of a split index (`core.splitIndex`): most entries are in another file. */
const SPLIT_INDEX = 'link';

/** Whether the extensions after the entries (from `at`, before the checksum) name a split index. */
function isSplit(index: Buffer, at: number, hashBytes: number): boolean {
  for (let next = at; next + 8 <= index.length - hashBytes; ) {
    if (index.toString('latin1', next, next + 4) === SPLIT_INDEX) return true;
    next += 8 + index.readUInt32BE(next + 4);
  }
  return false;
}

/**
 * The entries of an index file's bytes (versions 2 to 4, object ids of `hashBytes`); null for a
 * split index, whose other entries are elsewhere. Throws `UnreadableIndex` when the bytes are not
 * such an index.
 */
function readEntries(index: Buffer, hashBytes: number): IndexEntry[] | null {
  const need = (end: number): void => {
    if (end > index.length) throw new UnreadableIndex();
  };
  need(12);
  if (index.toString('latin1', 0, 4) !== 'DIRC') throw new UnreadableIndex();
  const version = index.readUInt32BE(4);
  if (version < 2 || version > 4) throw new UnreadableIndex();
  const count = index.readUInt32BE(8);
  const entries: IndexEntry[] = [];
  let at = 12;
  let previous: Buffer = Buffer.alloc(0);
  for (let i = 0; i < count; i += 1) {
    const start = at;
    need(at + STAT_BYTES + hashBytes + 2);
    const stat: IndexStat = {
      ctimeS: index.readUInt32BE(at),
      ctimeNs: index.readUInt32BE(at + 4),
      mtimeS: index.readUInt32BE(at + 8),
      mtimeNs: index.readUInt32BE(at + 12),
      ino: index.readUInt32BE(at + 20),
      size: index.readUInt32BE(at + 36),
    };
    const mode = index.readUInt32BE(at + 24);
    const oid = index.toString('hex', at + STAT_BYTES, at + STAT_BYTES + hashBytes);
    at += STAT_BYTES + hashBytes;
    const flags = index.readUInt16BE(at);
    at += 2;
    let extended = 0;
    if (flags & EXTENDED) {
      if (version < 3) throw new UnreadableIndex();
      need(at + 2);
      extended = index.readUInt16BE(at);
      at += 2;
    }
    let name: Buffer;
    if (version === 4) {
      // The path: how many bytes of the previous one to drop (a varint), then the rest.
      need(at + 1);
      let byte = index[at];
      at += 1;
      let drop = byte & 0x7f;
      while (byte & 0x80) {
        need(at + 1);
        byte = index[at];
        at += 1;
        drop = ((drop + 1) << 7) | (byte & 0x7f);
      }
      if (drop > previous.length) throw new UnreadableIndex();
      const end = index.indexOf(0, at);
      if (end < 0) throw new UnreadableIndex();
      name = Buffer.concat([previous.subarray(0, previous.length - drop), index.subarray(at, end)]);
      at = end + 1;
    } else {
      const end = index.indexOf(0, at);
      if (end < 0) throw new UnreadableIndex();
      name = index.subarray(at, end);
      // Padded with NULs to a multiple of 8 bytes, at least one.
      at = start + ((end - start + 8) & ~7);
      need(at);
    }
    const length = flags & NAME_LENGTH;
    if (name.length === 0 || (length < NAME_LENGTH && length !== name.length)) {
      throw new UnreadableIndex();
    }
    previous = name;
    entries.push({
      path: name.toString('utf8'),
      mode,
      oid,
      stage: (flags & STAGE) >> 12,
      stat,
      skipWorktree: (extended & SKIP_WORKTREE) !== 0,
      assumeUnchanged: (flags & ASSUME_VALID) !== 0,
    });
  }
  return isSplit(index, at, hashBytes) ? null : entries;
}

/**
 * The entries of the index file `index` (its bytes); null when the bytes are no index this reads,
 * or a split index (git is asked instead). Object ids of SHA-1 or SHA-256.
 */
export function readIndex(index: Buffer): IndexFile | null {
  for (const hashBytes of [20, 32]) {
    try {
      const entries = readEntries(index, hashBytes);
      return entries === null ? null : { hashBytes, entries };
    } catch (error) {
      if (!(error instanceof UnreadableIndex)) throw error;
    }
  }
  return null;
}

/**
 * The entries of the index file `index` (its bytes) that `git add` passes over; null when the
 * bytes are no index this reads, or a split index (git is asked instead).
 */
export function hiddenIndexEntries(index: Buffer): HiddenIndexEntries | null {
  const read = readIndex(index);
  if (read === null) return null;
  return {
    skipWorktree: read.entries.filter((e) => e.skipWorktree).map((e) => e.path),
    assumeUnchanged: read.entries.filter((e) => e.assumeUnchanged).map((e) => e.path),
  };
}

/**
 * The hidden entries as `git ls-files -v -z` tags them: `S` skip-worktree, a lower-case tag
 * assume-unchanged (`s` both).
 */
export function hiddenInLsFiles(output: string): HiddenIndexEntries {
  const hidden: HiddenIndexEntries = { skipWorktree: [], assumeUnchanged: [] };
  for (const entry of output.split('\0')) {
    if (entry.length < 3 || entry[1] !== ' ') continue;
    const tag = entry[0];
    const path = entry.slice(2);
    if (tag === 'S' || tag === 's') hidden.skipWorktree.push(path);
    if (tag !== tag.toUpperCase()) hidden.assumeUnchanged.push(path);
  }
  return hidden;
}

/** Paths per `git update-index` call: an argument list stays far below the system's limit. */
const PATHS_PER_CALL = 1000;

/** Largest index read or copied in-process; git reads a larger one (`git ls-files`). */
export const MAX_INDEX_BYTES = 512 * 1024 * 1024;

/**
 * The whole index file `file`, or null when there is none, it is no regular file or it is larger
 * than MAX_INDEX_BYTES. Opened and, when small, read at once; a large one (an index grows with the
 * repository) through the thread pool.
 */
export function readIndexFile(file: string | null): Promise<Buffer | null> {
  return file === null ? Promise.resolve(null) : readWholeChildFileAsync(file, MAX_INDEX_BYTES);
}

/**
 * Clears the skip-worktree and assume-unchanged marks of the index `indexFile` (the one `options`
 * has git use), so that `git add -A` takes every file as the work tree holds it: what is
 * committed is what the tests ran against. The index is read here (no process: a pass over its
 * entries; `read` when the caller has read it already); git is started only when something is
 * marked, or when the index cannot be read (`git ls-files -v` then). A workspace is a full
 * checkout: no mark in it is git's own.
 */
export async function revealHiddenEntries(
  git: Git,
  indexFile: string | null,
  options: GitOptions,
  read: Buffer | null = null,
): Promise<HiddenIndexEntries> {
  const bytes = read ?? (await readIndexFile(indexFile));
  const hidden =
    (bytes === null ? null : hiddenIndexEntries(bytes)) ??
    hiddenInLsFiles(await git.text(['ls-files', '-v', '-z'], options));
  for (const [flag, paths] of [
    ['--no-skip-worktree', hidden.skipWorktree],
    ['--no-assume-unchanged', hidden.assumeUnchanged],
  ] as const) {
    for (let i = 0; i < paths.length; i += PATHS_PER_CALL) {
      await git.text(['update-index', flag, '--', ...paths.slice(i, i + PATHS_PER_CALL)], options);
    }
  }
  return hidden;
}
