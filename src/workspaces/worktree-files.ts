import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { gitdirPointer, pointerFileValue } from 'src/common';
import { readChildFile } from 'src/process';

/**
 * WHAT A WORKTREE'S OWN FILES SAY, read without starting git, for the questions a file answers
 * exactly (with the files ref backend, which git reads the same way); anything else, or a file
 * that is not as expected, is an unknown (null, false) and the caller asks git instead.
 *
 * The reads are synchronous: each is a file of a few dozen bytes, and a synchronous read costs the
 * event loop less than the bookkeeping of an asynchronous one (test/bench/RESULTS.md). They go
 * through `readChildFile` (the agent can write the worktree's `.git` file): a file that is itself a
 * symbolic link is not followed, nothing but a regular file is read, never more than `MAX_FILE_BYTES`, and a FIFO
 * cannot make one wait.
 */

/** Operations git keeps state for in the worktree's git directory, which `git commit` would finish. */
const IN_PROGRESS = [
  'MERGE_HEAD',
  'CHERRY_PICK_HEAD',
  'REVERT_HEAD',
  'rebase-merge',
  'rebase-apply',
  'sequencer',
];

const OBJECT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** More than a `.git` file, HEAD or a loose ref ever holds. */
const MAX_FILE_BYTES = 4096;

/** The worktree's own git directory, from its `.git` file (or `.git` itself when a directory). */
function ownGitDir(worktree: string): string | null {
  const dotGit = join(worktree, '.git');
  if (isDirectory(dotGit)) return dotGit;
  const text = readChildFile(dotGit, MAX_FILE_BYTES) ?? '';
  const pointer = gitdirPointer(text);
  if (pointer === null) return null;
  return isAbsolute(pointer) ? pointer : resolve(worktree, pointer);
}

/** The ref HEAD names in the git directory (`refs/heads/x`); null when detached or unreadable. */
function headRefIn(gitDir: string): string | null {
  const head = readChildFile(join(gitDir, 'HEAD'), MAX_FILE_BYTES) ?? '';
  return /^ref: (refs\/heads\/\S+)\n?$/.exec(head)?.[1] ?? null;
}

/** False only when `path` certainly does not exist. */
function mayExist(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * True when HEAD is on `branchRef` and no merge, cherry-pick, revert or rebase is under way: a
 * plain `git commit` there makes a commit whose only parent is the branch's tip, as
 * `commit-tree` plus `update-ref` would. False when unsure.
 */
export function isPlainlyOnBranch(worktree: string, branchRef: string): boolean {
  const gitDir = ownGitDir(worktree);
  if (gitDir === null || headRefIn(gitDir) !== branchRef) return false;
  return !IN_PROGRESS.some((name) => mayExist(join(gitDir, name)));
}

/**
 * True when `a` and `b` name the same file (device and inode), and it has no other name: a `.git`
 * file hard-linked to another worktree's would pass for that one's.
 */
function sameFile(a: string, b: string): boolean {
  try {
    const [x, y] = [lstatSync(a), lstatSync(b)];
    return x.dev === y.dev && x.ino === y.ino && x.nlink === 1;
  } catch {
    return false;
  }
}

/**
 * The worktree's own git directory when it is the one git registered for it (its `gitdir` file
 * points back at this worktree's `.git`: the agent can rewrite the `.git` file to point at another
 * repository's). Null otherwise, and for a main working tree.
 */
function registeredGitDir(worktree: string): string | null {
  const gitDir = ownGitDir(worktree);
  if (gitDir === null) return null;
  const back = pointerFileValue(readChildFile(join(gitDir, 'gitdir'), MAX_FILE_BYTES) ?? '');
  return back !== '' && sameFile(back, join(worktree, '.git')) ? gitDir : null;
}

/**
 * The worktree's entry in the repository whose common git directory is `commonDir`
 * (`<commonDir>/worktrees/<name>`): the one whose `gitdir` file names this worktree's `.git`,
 * found without reading that `.git` file (the agent's to write). Null when there is none.
 */
export function registeredEntry(worktree: string, commonDir: string): string | null {
  const dotGit = join(realOrSelf(worktree), '.git');
  const entries = join(commonDir, 'worktrees');
  let names: string[];
  try {
    names = readdirSync(entries);
  } catch {
    return null;
  }
  const entry = names
    .map((name) => join(entries, name))
    .find(
      (dir) =>
        pointerFileValue(readChildFile(join(dir, 'gitdir'), MAX_FILE_BYTES) ?? '') === dotGit,
    );
  return entry ?? null;
}

/**
 * The branch the worktree of `entry` (`<commonDir>/worktrees/<name>`) has checked out, as its
 * entry's HEAD says (`refs/heads/x`); null when detached or unreadable.
 */
export function entryBranch(entry: string): string | null {
  return headRefIn(entry);
}

/**
 * True while the worktree of `entry` is being created: `git worktree add` locks it so
 * (`initializing`) until its checkout is done, and one killed half-way leaves it so.
 */
export function isInitializing(entry: string): boolean {
  return (readChildFile(join(entry, 'locked'), MAX_FILE_BYTES) ?? '').trim() === 'initializing';
}

/** True when the worktree's `.git` is a file that leads to `entry` (its git directory). */
export function leadsTo(worktree: string, entry: string): boolean {
  const dotGit = join(worktree, '.git');
  if (isDirectory(dotGit)) return false;
  const gitDir = ownGitDir(worktree);
  return gitDir !== null && realOrSelf(gitDir) === realOrSelf(entry);
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The worktree's own index lock, when there is one (in its registered git directory). */
export function ownIndexLock(worktree: string): string | null {
  const gitDir = registeredGitDir(worktree);
  if (gitDir === null) return null;
  const lock = join(gitDir, 'index.lock');
  return mayExist(lock) ? lock : null;
}

/** The worktree's own index file (in its registered git directory); null when unsure. */
export function ownIndex(worktree: string): string | null {
  const gitDir = registeredGitDir(worktree);
  return gitDir === null ? null : join(gitDir, 'index');
}

/** The object id a loose ref of the repository holds; null when it is not a loose ref file. */
export function looseRef(commonDir: string, ref: string): string | null {
  const text = readChildFile(join(commonDir, ref), MAX_FILE_BYTES) ?? '';
  const id = text.replace(/\n$/, '');
  return OBJECT_ID.test(id) ? id : null;
}
