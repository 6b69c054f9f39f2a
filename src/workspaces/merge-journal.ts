import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { readChildFile } from 'src/process';

/** The journal's file in the repository's common git directory, beside its lock. */
export const MERGE_JOURNAL_NAME = 'cta-merge-under-way.json';

/** A merge that is updating the checkout holding its target (see `MergeJournal`). */
export interface MergeUnderWay {
  /** The checkout being moved. */
  worktree: string;
  /** The branch checked out there, the merge's target. */
  target: string;
  /** The target's commit before the merge, which the ref still names until it moves. */
  previous: string;
  /** The merge's result, which the checkout is moved to before the ref. */
  commit: string;
}

const COMMIT = /^[0-9a-f]{40,64}$/;

function parse(text: string): MergeUnderWay | null {
  try {
    const value = JSON.parse(text) as Partial<Record<keyof MergeUnderWay, unknown>>;
    const { worktree, target, previous, commit } = value;
    if (typeof worktree !== 'string' || typeof target !== 'string') return null;
    if (typeof previous !== 'string' || typeof commit !== 'string') return null;
    if (!COMMIT.test(previous) || !COMMIT.test(commit)) return null;
    return { worktree, target, previous, commit };
  } catch {
    return null;
  }
}

/**
 * THE RECORD OF A MERGE THAT MOVES A CHECKOUT, so that a server killed half-way is found out. A
 * merge into the branch checked out in the user's tree moves that tree (`read-tree -m -u`) and
 * then the ref (`update-ref`): two steps, and a server killed between them leaves the tree at the
 * merge's result under a ref that still names the commit before (or, killed inside `read-tree`,
 * a tree holding part of the change). The merge writes this file before it moves the tree and
 * removes it once the tree and the ref agree again (the ref moved, or the tree put back); the
 * next merge into the repository, under the same lock, reads it. Written to a new file of a name
 * nobody can guess, never through a link, then renamed into place (a reader never sees half of
 * it, and a link planted at its name is replaced, not followed); read without following a link
 * and bounded (the repository's files are the agent's to write too); anything but a journal of
 * this shape reads as none.
 */
export class MergeJournal {
  readonly path: string;

  constructor(gitDir: string) {
    this.path = join(gitDir, MERGE_JOURNAL_NAME);
  }

  /** The merge the file records, or null when there is none (or none that parses). */
  read(): MergeUnderWay | null {
    const text = readChildFile(this.path, 64 * 1024);
    return text === null ? null : parse(text);
  }

  write(merge: MergeUnderWay): void {
    const temporary = `${this.path}.${randomBytes(8).toString('hex')}.tmp`;
    const fd = openSync(
      temporary,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
    try {
      writeSync(fd, `${JSON.stringify(merge)}\n`);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temporary, this.path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }

  clear(): void {
    rmSync(this.path, { force: true });
  }
}
