import { realpathSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
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
 * The work tree and repository `dir` is in (one git call), or null when it is not inside a work
 * tree (no repository, a bare one, inside `.git`, or no git at all). Reads only.
 */
export async function locateDirectory(git: Git, dir: string): Promise<RepositoryLocation | null> {
  const probe = await git
    .run(
      [
        'rev-parse',
        '--is-inside-work-tree',
        '--show-toplevel',
        '--show-prefix',
        '--git-common-dir',
      ],
      { cwd: dir },
    )
    .catch(() => null);
  if (probe === null || probe.exitCode !== 0) return null;
  const [inside, toplevel, prefix, commonDir] = probe.stdout.toString('utf8').split('\n');
  if (inside !== 'true' || !toplevel || commonDir === undefined) return null;
  return {
    toplevel: realpathSync(toplevel),
    prefix: prefix.replace(/\/$/, ''),
    gitDir: realpathSync(isAbsolute(commonDir) ? commonDir : join(dir, commonDir)),
  };
}

/**
 * What git says about `dir`: the repository and work tree it is in and what is checked out there,
 * or null when it is not inside a work tree. Reads only.
 */
export async function inspectDirectory(git: Git, dir: string): Promise<ProjectRepository | null> {
  const location = await locateDirectory(git, dir);
  if (location === null) return null;
  const head = await git.run(['rev-parse', '--verify', '-q', 'HEAD^{commit}'], { cwd: dir });
  const symbolic = await git.run(['symbolic-ref', '-q', 'HEAD'], { cwd: dir });
  const ref = symbolic.exitCode === 0 ? symbolic.stdout.toString('utf8').trim() : '';
  return {
    ...location,
    head: head.exitCode === 0 ? head.stdout.toString('utf8').trim() : null,
    branch: ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null,
  };
}
