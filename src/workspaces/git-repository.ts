import { realpathSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { DomainError, ErrorCode } from 'src/common';
import { Git } from 'src/workspaces/git';

/** A project directory inside a git work tree (the user's checkout). */
export interface ProjectRepository {
  /** Top of the work tree the project is in. */
  toplevel: string;
  /** The project's path inside that work tree ('' at its top), with '/' separators. */
  prefix: string;
  /** The repository's common git directory (shared by all its worktrees), canonical. */
  gitDir: string;
  /** The commit checked out there; null in a repository without commits. */
  head: string | null;
  /** The branch checked out there (`main`, not `refs/heads/main`); null when detached. */
  branch: string | null;
}

/** One entry of `git worktree list --porcelain`. */
export interface WorktreeEntry {
  path: string;
  head: string | null;
  /** `refs/heads/x`, or null when detached (or bare). */
  branch: string | null;
  bare: boolean;
  /** Why the worktree is locked (`initializing` while `git worktree add` runs); null if not. */
  locked: string | null;
}

/** The entries of `git worktree list --porcelain -z`. */
export function parseWorktreeList(output: string): WorktreeEntry[] {
  const entries: WorktreeEntry[] = [];
  let current: WorktreeEntry | null = null;
  for (const field of output.split('\0')) {
    if (field === '') {
      if (current !== null) entries.push(current);
      current = null;
      continue;
    }
    const space = field.indexOf(' ');
    const key = space === -1 ? field : field.slice(0, space);
    const value = space === -1 ? '' : field.slice(space + 1);
    if (key === 'worktree') {
      if (current !== null) entries.push(current);
      current = { path: value, head: null, branch: null, bare: false, locked: null };
    } else if (current !== null) {
      if (key === 'HEAD') current.head = value;
      else if (key === 'branch') current.branch = value;
      else if (key === 'bare') current.bare = true;
      else if (key === 'locked') current.locked = value;
    }
  }
  if (current !== null) entries.push(current);
  return entries;
}

/** Where `dir` is in its repository: its work tree, its place in it, the common git directory. */
export type RepositoryLocation = Pick<ProjectRepository, 'toplevel' | 'prefix' | 'gitDir'>;

/**
 * The first four lines of `rev-parse`'s answer, as a location; null unless inside a work tree.
 * The two paths are resolved synchronously (`realpath(3)`): cheaper for the event loop than
 * through the thread pool (test/bench/RESULTS.md), and a task's creation and start each do it.
 */
function toLocation(dir: string, lines: string[]): RepositoryLocation | null {
  const [inside, toplevel, prefix, commonDir] = lines;
  if (inside !== 'true' || !toplevel || commonDir === undefined) return null;
  return {
    toplevel: realpathSync.native(toplevel),
    prefix: prefix.replace(/\/$/, ''),
    gitDir: realpathSync.native(isAbsolute(commonDir) ? commonDir : join(dir, commonDir)),
  };
}

/**
 * The lines of a `rev-parse` answer of `count` lines. It prints one path a line, so a work tree
 * or git directory whose path holds a line break makes more of them, and which line is which can
 * no longer be told: 400 `project_path_invalid` (such a path was a 500 here), not a guess.
 */
function answerLines(dir: string, stdout: Buffer, count: number): string[] {
  const lines = stdout.toString('utf8').split('\n');
  if (lines.length > count + 1) {
    throw new DomainError(
      ErrorCode.ProjectPathInvalid,
      'project_path is in a git repository whose work tree or git directory has a line break in its path, which git cannot report unambiguously; rename it',
      { project_path: dir.slice(0, 1000) },
    );
  }
  return lines;
}

const LOCATION_ARGS = [
  'rev-parse',
  '--is-inside-work-tree',
  '--show-toplevel',
  '--show-prefix',
  '--git-common-dir',
];

/**
 * The work tree and repository `dir` is in (one git call), or null when it is not inside a work
 * tree (no repository, a bare one, inside `.git`, or no git at all). Reads only.
 */
export async function locateDirectory(git: Git, dir: string): Promise<RepositoryLocation | null> {
  const probe = await git.run(LOCATION_ARGS, { cwd: dir }).catch(() => null);
  if (probe === null || probe.exitCode !== 0) return null;
  return toLocation(dir, answerLines(dir, probe.stdout, LOCATION_ARGS.length - 1));
}

/**
 * What git says about `dir`: the repository and work tree it is in and what is checked out there,
 * or null when it is not inside a work tree. Reads only. One git call: `rev-parse` prints the
 * location, HEAD's commit, then (once `--symbolic-full-name` is given) the ref HEAD names, or
 * `HEAD` when detached. It fails where HEAD names no commit yet (or outside a work tree); then
 * the location and the branch are asked for apart.
 */
export async function inspectDirectory(git: Git, dir: string): Promise<ProjectRepository | null> {
  const probe = await git
    .run([...LOCATION_ARGS, 'HEAD^{commit}', '--symbolic-full-name', 'HEAD', '--'], { cwd: dir })
    .catch(() => null);
  if (probe !== null && probe.exitCode === 0) {
    // The location's four lines, HEAD's commit, the ref HEAD names and the `--` echoed.
    const lines = answerLines(dir, probe.stdout, LOCATION_ARGS.length + 2);
    const location = toLocation(dir, lines);
    const [head, ref] = lines.slice(4, 6);
    if (location !== null && /^[0-9a-f]{40,64}$/.test(head ?? '')) {
      return { ...location, head, branch: branchOf(ref ?? '') };
    }
  }
  const location = await locateDirectory(git, dir);
  if (location === null) return null;
  const head = await git.run(['rev-parse', '--verify', '-q', 'HEAD^{commit}'], { cwd: dir });
  const symbolic = await git.run(['symbolic-ref', '-q', 'HEAD'], { cwd: dir });
  return {
    ...location,
    head: head.exitCode === 0 ? head.stdout.toString('utf8').trim() : null,
    branch: branchOf(symbolic.exitCode === 0 ? symbolic.stdout.toString('utf8').trim() : ''),
  };
}

function branchOf(ref: string): string | null {
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null;
}
