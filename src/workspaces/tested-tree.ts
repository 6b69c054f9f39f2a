import { createHash, Hash } from 'node:crypto';
import {
  BigIntStats,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  openSync,
  read,
  readlinkSync,
  readSync,
} from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { IndexEntry, IndexFile, IndexStat } from 'src/workspaces/hidden-index-entries';

/** One file of a tree: its mode and object id, as an index entry of stage 0 holds them. */
export interface TreeFile {
  mode: number;
  oid: string;
}

/**
 * THE TREE A TEST ROUND TESTED, recorded when it starts: every file of the work tree (from its
 * top) with the mode and blob id `git add -A` gives it as the round starts. The index as it is
 * then, overridden by what the work tree holds for the paths git reports changed or untracked
 * (hashed here, as git hashes a blob; a path gone from the work tree is deleted) and for the
 * entries the agent hid from `git add` (skip-worktree, assume-unchanged: `git status` does not
 * report them, the commit takes them as the work tree holds them). Plain data, kept in memory for the round.
 */
export interface TestedTree {
  files: Map<string, TreeFile>;
  /** The stat data of each file hashed here (`IndexStat`'s fields), to tell a filter's work. */
  stats: Map<string, IndexStat>;
  /**
   * Paths whose content is not known here (a directory where a file was: a submodule, a nested
   * repository): the commit's entries at or under them are not compared.
   */
  unknown: string[];
}

/** What `git status` reported at the round's start (paths from the work tree's top). */
export interface TreeChanges {
  /**
   * Every path it named: created, changed, deleted, untracked, a rename's both sides. Each is
   * taken as the work tree holds it: gone, it is deleted.
   */
  changed: readonly string[];
}

const REGULAR = 0o100644;
const EXECUTABLE = 0o100755;
const LINK = 0o120000;

/** A hash of a blob of `size` bytes as git hashes it, its header taken: the content to come. */
function blobHash(size: number, hashBytes: number): Hash {
  return createHash(hashBytes === 32 ? 'sha256' : 'sha1').update(`blob ${size}\0`);
}

/** Git's id of a blob holding `content`: the hash of `blob <length>\0<content>`. */
export function blobId(content: Buffer, hashBytes: number): string {
  return blobHash(content.length, hashBytes).update(content).digest('hex');
}

/** Stat data as the index keeps it: seconds and nanoseconds, ino and size, 32 bits each. */
function indexStat(stats: BigIntStats): IndexStat {
  const low = (value: bigint): number => Number(value & 0xffffffffn);
  return {
    ctimeS: low(stats.ctimeNs / 1_000_000_000n),
    ctimeNs: Number(stats.ctimeNs % 1_000_000_000n),
    mtimeS: low(stats.mtimeNs / 1_000_000_000n),
    mtimeNs: Number(stats.mtimeNs % 1_000_000_000n),
    ino: low(stats.ino),
    size: low(stats.size),
  };
}

/** Files up to this size are read and hashed at once; larger ones a chunk at a time. */
const HASH_AT_ONCE_BYTES = 1024 * 1024;

const readAsync = promisify(read);

/**
 * Git's id of the blob of the `size` bytes the open file `fd` holds. A large file is read a chunk
 * at a time through the thread pool: the event loop is never held for long, and memory holds one
 * chunk, however large the agent made the file. A file that changes while it is read gives an id
 * of no blob git will add for it: the commit is then refused as changed, never taken as tested.
 */
async function blobIdOfFile(fd: number, size: number, hashBytes: number): Promise<string> {
  const hash = blobHash(size, hashBytes);
  const chunk = Buffer.allocUnsafe(Math.min(HASH_AT_ONCE_BYTES, Math.max(1, size)));
  for (let done = 0; done < size; ) {
    const want = Math.min(chunk.length, size - done);
    const got =
      size <= HASH_AT_ONCE_BYTES
        ? readSync(fd, chunk, 0, want, done)
        : (await readAsync(fd, chunk, 0, want, done)).bytesRead;
    if (got === 0) break;
    hash.update(chunk.subarray(0, got));
    done += got;
  }
  return hash.digest('hex');
}

/**
 * The file at `top/path` as git would add it: its mode and blob id with its stat data; `gone`
 * when there is none (or a plain directory stands there: the files in it are named on their
 * own), `unknown` for a repository of its own (a submodule, a nested repository). A file is
 * opened without following a link at its name, waiting on a FIFO or taking a terminal, and only
 * when it is the file the `lstat` found (its device and inode): what a process put in the path's
 * place since is `gone`, and the commit is then refused.
 */
async function hashFile(
  top: string,
  path: string,
  hashBytes: number,
): Promise<{ file: TreeFile; stat: IndexStat } | 'gone' | 'unknown'> {
  const full = join(top, path);
  const stats = lstatSync(full, { bigint: true, throwIfNoEntry: false });
  if (stats === undefined) return 'gone';
  if (stats.isDirectory()) return existsSync(join(full, '.git')) ? 'unknown' : 'gone';
  if (stats.isSymbolicLink()) {
    const target = Buffer.from(readlinkSync(full, { encoding: 'buffer' }));
    return { file: { mode: LINK, oid: blobId(target, hashBytes) }, stat: indexStat(stats) };
  }
  if (!stats.isFile()) return 'gone';
  let fd: number;
  try {
    fd = openSync(
      full,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY,
    );
  } catch {
    return 'gone';
  }
  try {
    const opened = fstatSync(fd, { bigint: true });
    if (!opened.isFile() || opened.dev !== stats.dev || opened.ino !== stats.ino) return 'gone';
    const mode = (opened.mode & 0o100n) !== 0n ? EXECUTABLE : REGULAR;
    const oid = await blobIdOfFile(fd, Number(opened.size), hashBytes);
    return { file: { mode, oid }, stat: indexStat(opened) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Records the tree a test round is about to test (`TestedTree`) in the work tree `top`: `index`
 * is its index as the round starts, `changes` what `git status` reported then. Reads and hashes
 * the changed files in-process: no git call.
 */
export async function recordTestedTree(
  top: string,
  index: IndexFile,
  changes: TreeChanges,
): Promise<TestedTree> {
  const files = new Map<string, TreeFile>();
  const hidden: string[] = [];
  for (const entry of index.entries) {
    if (entry.stage !== 0) continue;
    files.set(entry.path, { mode: entry.mode, oid: entry.oid });
    if (entry.skipWorktree || entry.assumeUnchanged) hidden.push(entry.path);
  }
  const stats = new Map<string, IndexStat>();
  const unknown: string[] = [];
  for (const path of new Set([...changes.changed, ...hidden])) {
    const hashed = await hashFile(
      top,
      path.endsWith('/') ? path.slice(0, -1) : path,
      index.hashBytes,
    );
    if (hashed === 'unknown') {
      unknown.push(path.endsWith('/') ? path : `${path}/`);
    } else if (hashed === 'gone') {
      files.delete(path);
    } else {
      files.set(path, hashed.file);
      stats.set(path, hashed.stat);
    }
  }
  return { files, stats, unknown };
}

function sameStat(a: IndexStat, b: IndexStat): boolean {
  return (
    a.ctimeS === b.ctimeS &&
    a.ctimeNs === b.ctimeNs &&
    a.mtimeS === b.mtimeS &&
    a.mtimeNs === b.mtimeNs &&
    a.ino === b.ino &&
    a.size === b.size
  );
}

/**
 * Lockfiles a test command itself writes where there is none: `cargo test` resolves the
 * dependencies and writes `Cargo.lock` beside the `Cargo.toml` when it is missing (a task whose
 * baseline was reused from another task's run finds none). The tests ran with it, as the commit
 * holds it. (`npm test` writes no `package-lock.json`: `npm install` does, in the setup.)
 */
const TEST_COMMAND_LOCKFILES: Readonly<Record<string, string>> = { 'Cargo.lock': 'Cargo.toml' };

/** `path` is a lockfile the round's test command created (`TEST_COMMAND_LOCKFILES`). */
function writtenByTestCommand(path: string, tested: TestedTree): boolean {
  const slash = path.lastIndexOf('/');
  const manifest = TEST_COMMAND_LOCKFILES[path.slice(slash + 1)];
  return manifest !== undefined && tested.files.has(`${path.slice(0, slash + 1)}${manifest}`);
}

/**
 * The paths whose entry in `index` (read after `git add -A` in the work tree `top`, before the
 * commit) differs from the tree the round tested: changed, created or deleted since it started. A
 * file git stored other than as its bytes (a clean filter, an end-of-line conversion,
 * `core.fileMode=false`) is the same file when the index caches for it the very stat data it had
 * when the round started (its change time included, which no program can set back), or when it
 * was written again with the same bytes (a test rewriting a fixture): `addedAsTested`. A lockfile
 * the test command created (`Cargo.lock`: `writtenByTestCommand`) is not counted. Sorted.
 */
export async function changedSinceTested(
  tested: TestedTree,
  index: IndexFile,
  top: string,
): Promise<string[]> {
  const known = (path: string): boolean =>
    !tested.unknown.some((dir) => path.startsWith(dir) || `${path}/` === dir);
  const committed = new Map<string, IndexEntry>();
  for (const entry of index.entries) {
    if (entry.stage === 0 && known(entry.path)) committed.set(entry.path, entry);
  }
  const changed = new Set<string>();
  for (const [path, entry] of committed) {
    const expected = tested.files.get(path);
    if (expected === undefined && writtenByTestCommand(path, tested)) continue;
    if (expected !== undefined && expected.mode === entry.mode && expected.oid === entry.oid) {
      continue;
    }
    const stat = tested.stats.get(path);
    if (expected !== undefined && stat !== undefined) {
      if (sameStat(stat, entry.stat)) continue;
      if (await addedAsTested(top, path, expected, entry, index.hashBytes)) continue;
    }
    changed.add(path);
  }
  for (const path of tested.files.keys()) {
    if (!committed.has(path) && known(path)) changed.add(path);
  }
  return [...changed].sort();
}

/**
 * Whether the file at `top/path`, which the round hashed as it started (`expected`: its bytes'
 * blob id), holds those very bytes now, and is as `git add` found it (its stat data is what the
 * index caches for it in `entry`): then git stored what the round tested, however it converted it.
 * Hashed only for a file whose stored blob is not its bytes and whose stat data moved.
 */
async function addedAsTested(
  top: string,
  path: string,
  expected: TreeFile,
  entry: IndexEntry,
  hashBytes: number,
): Promise<boolean> {
  const now = await hashFile(top, path, hashBytes);
  return (
    typeof now === 'object' &&
    now.file.oid === expected.oid &&
    now.file.mode === expected.mode &&
    sameStat(now.stat, entry.stat)
  );
}
