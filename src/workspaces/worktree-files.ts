import { access, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * WHAT A WORKTREE'S OWN FILES SAY, read without starting git, for the questions a file answers
 * exactly (with the files ref backend, which git reads the same way); anything else, or a file
 * that is not as expected, is an unknown (null, false) and the caller asks git instead.
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

/** The worktree's own git directory, from its `.git` file (or `.git` itself when a directory). */
async function ownGitDir(worktree: string): Promise<string | null> {
  const dotGit = join(worktree, '.git');
  const pointer = await readFile(dotGit, 'utf8').then(
    (text) => /^gitdir: (.+)$/m.exec(text)?.[1].trim() ?? null,
    (error: NodeJS.ErrnoException) => (error.code === 'EISDIR' ? dotGit : null),
  );
  if (pointer === null) return null;
  return isAbsolute(pointer) ? pointer : resolve(worktree, pointer);
}

/** The ref HEAD names in the git directory (`refs/heads/x`); null when detached or unreadable. */
async function headRefIn(gitDir: string): Promise<string | null> {
  const head = await readFile(join(gitDir, 'HEAD'), 'utf8').catch(() => '');
  return /^ref: (refs\/heads\/\S+)\n?$/.exec(head)?.[1] ?? null;
}

/** False only when `path` certainly does not exist. */
function mayExist(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => error.code !== 'ENOENT',
  );
}

/**
 * True when HEAD is on `branchRef` and no merge, cherry-pick, revert or rebase is under way: a
 * plain `git commit` there makes a commit whose only parent is the branch's tip, as
 * `commit-tree` plus `update-ref` would. False when unsure.
 */
export async function isPlainlyOnBranch(worktree: string, branchRef: string): Promise<boolean> {
  const gitDir = await ownGitDir(worktree);
  if (gitDir === null || (await headRefIn(gitDir)) !== branchRef) return false;
  const found = await Promise.all(IN_PROGRESS.map((name) => mayExist(join(gitDir, name))));
  return !found.includes(true);
}

/** The object id a loose ref of the repository holds; null when it is not a loose ref file. */
export async function looseRef(commonDir: string, ref: string): Promise<string | null> {
  const text = await readFile(join(commonDir, ref), 'utf8').catch(() => '');
  const id = text.replace(/\n$/, '');
  return OBJECT_ID.test(id) ? id : null;
}
