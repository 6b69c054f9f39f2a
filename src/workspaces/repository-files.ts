import { constants, lstatSync, realpathSync, Stats, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { gitdirPointer, pointerFileValue } from 'src/common';
import { readChildFile } from 'src/process';
import type { ProjectRepository, RepositoryLocation } from 'src/workspaces/git-repository';

/**
 * WHERE A PROJECT IS IN ITS REPOSITORY, AND WHAT IS CHECKED OUT THERE, read from the files the way
 * git's own discovery reads them (its `setup.c`, `refs/files-backend.c`), for the usual case and
 * without starting git: a session's and a task's creation ask it (a task's base commit is what is
 * checked out), and so does a workspace's preparation (the project still in the task's
 * repository). Whatever the files do not settle exactly as git would is an unknown (null), and the
 * caller asks git (`inspectDirectory`, `locateDirectory`), whose answer counts.
 *
 * The files are read as `worktree-files.ts` reads a worktree's: synchronously, through
 * `readChildFile` (no link followed, nothing but a regular file, a bounded read, no FIFO waited
 * on), and taken only whole, valid UTF-8 and free of control characters but tabs and line breaks
 * (`readWhole`); a path is taken only as valid UTF-8 too (`realPath`): what was decoded otherwise
 * could name another file. Any error of the file system (a path too long, a file where a directory
 * was) is an unknown.
 */

/** More than a `.git` file, HEAD or a loose ref ever holds. */
const MAX_FILE_BYTES = 4096;
/** More than a repository's own configuration holds, but for one git is asked about. */
const MAX_CONFIG_BYTES = 64 * 1024;
/** More than `packed-refs` holds, but for a repository of very many refs. */
const MAX_PACKED_REFS_BYTES = 1024 * 1024;

/**
 * A SHA-1 object id. A repository of SHA-256 ids declares `extensions.objectFormat`, and any
 * extension leaves the answer to git.
 */
const OBJECT_ID = /^[0-9a-f]{40}$/;

/**
 * `locateDirectory`'s answer from the files: the nearest `.git` above `dir`'s real path, on the
 * same file system (git stops at a boundary), a git directory or a `gitdir:` file leading to a
 * worktree's entry whose `commondir` names the repository. Null where git could answer otherwise:
 * a `.git` it would not take as a repository (it would look further up), a HEAD or a `.git` that
 * is a link, a git directory on the way up (a project inside one, or a bare repository), a
 * configuration that may place the work tree elsewhere or that git may not read as it is read
 * here (`plainConfig`), a work tree, `.git` or git directory not `uid`'s (the user git runs as: it
 * refuses another's repository unless `safe.directory` says otherwise), a path with a line break,
 * and any repository when git runs as another user than the server (RUN_AS_USER), which may not
 * read what the server reads. Where git would fail on what it reads (a directory it may not enter,
 * a setting whose value it rejects), the files still answer, and the task's first git call (its
 * workspace's `worktree add`) fails with git's message.
 */
export function projectLocation(dir: string, uid: number): RepositoryLocation | null {
  try {
    return locate(dir, uid)?.location ?? null;
  } catch {
    return null;
  }
}

/**
 * `inspectDirectory`'s answer from the files: `projectLocation` and HEAD, either a valid branch
 * name under `refs/heads/` whose commit is in a loose ref or in `packed-refs` (a loose one first,
 * as git reads them), or a detached HEAD's id. Null where the files leave a doubt: a branch with
 * no commit yet, a ref that is a link or a symbolic ref, refs not kept in files. The id is not
 * checked to name a commit that is there (only git can tell): a branch or HEAD holding another
 * object's id (made with `update-ref`; `git branch` and `checkout` never do) becomes a task's
 * base as it is, and its workspace's `git worktree add` fails on it.
 */
export function projectCheckout(dir: string, uid: number): ProjectRepository | null {
  try {
    const found = locate(dir, uid);
    if (found === null) return null;
    const { location, head } = found;
    if (OBJECT_ID.test(head)) return { ...location, head, branch: null };
    const commit = refValue(location.gitDir, head);
    if (commit === null) return null;
    return { ...location, head: commit, branch: head.slice('refs/heads/'.length) };
  } catch {
    return null;
  }
}

/** A repository found: where the project is in it, and its work tree's HEAD (`headOf`). */
interface Found {
  location: RepositoryLocation;
  head: string;
}

function locate(dir: string, uid: number): Found | null {
  // Git run as another user (RUN_AS_USER) may not read what the server reads: only it can tell.
  if (uid !== process.geteuid?.()) return null;
  const real = realPath(dir);
  if (real === null) return null;
  const start = statSync(real);
  if (!start.isDirectory()) return null;
  for (let top = real; ; top = dirname(top)) {
    if (lstatSync(top).dev !== start.dev) return null;
    const dotGit = join(top, '.git');
    if (exists(dotGit)) return locateAt(top, real, uid);
    // A git directory itself (HEAD is what git looks at first): inside `.git`, or a bare one.
    if (exists(join(top, 'HEAD')) || dirname(top) === top) return null;
  }
}

/** `locate` once the nearest `.git` is found at `top`. */
function locateAt(top: string, real: string, uid: number): Found | null {
  const dotGit = join(top, '.git');
  const own = gitDirOfWorkTree(top);
  const gitDir = own === null ? null : commonDirOf(own, dotGit);
  const head = own === null ? null : headOf(own);
  if (own === null || gitDir === null || head === null) return null;
  if (!isRepository(gitDir, uid) || !plainConfig(gitDir)) return null;
  // What git checks (`ensure_valid_ownership`): the `.git` file, the work tree, the git directory.
  if (![top, dotGit, own, gitDir].every((path) => lstatSync(path).uid === uid)) return null;
  if (`${real}${gitDir}`.includes('\n')) return null;
  return { location: { toplevel: top, prefix: relative(top, real), gitDir }, head };
}

/**
 * The git directory of the work tree at `top` (real path): its `.git` directory, or where its
 * `.git` file's one `gitdir:` line leads (relative to `top`), as git reads that file (only its
 * trailing line break dropped). Null when `.git` is neither.
 */
function gitDirOfWorkTree(top: string): string | null {
  const dotGit = join(top, '.git');
  const stat = lstatSync(dotGit);
  if (stat.isDirectory()) return realPath(dotGit);
  if (!stat.isFile()) return null;
  const pointer = plainLine(gitdirPointer(readWhole(dotGit, MAX_FILE_BYTES) ?? ''));
  return pointer === null ? null : realPath(under(top, pointer));
}

/**
 * A pointer file's path (as git reads it: `git-pointer-files.ts`) when it is one plain line;
 * null when empty or holding a line break within, which this reading leaves to git.
 */
function plainLine(path: string | null): string | null {
  return path === null || path === '' || /[\r\n]/.test(path) ? null : path;
}

/**
 * `path` as git opens it from directory `base`: appended, with no `..` taken off the text before
 * the links on the way are followed (the kernel's way, which `realPath` then takes).
 */
function under(base: string, path: string): string {
  return isAbsolute(path) ? path : `${base}/${path}`;
}

/** The real path of `path`; null when it is not valid UTF-8 (it could name another file). */
function realPath(path: string): string | null {
  const real = realpathSync.native(path);
  return real.includes('\uFFFD') ? null : real;
}

/**
 * The whole of the regular file at `path` as text: null past `maxBytes`, or when it is not valid
 * UTF-8 or holds a control character but a tab or a line break (which git may read otherwise).
 */
function readWhole(path: string, maxBytes: number): string | null {
  const text = readChildFile(path, maxBytes + 1);
  if (text === null || Buffer.byteLength(text) > maxBytes) return null;
  // eslint-disable-next-line no-control-regex
  return /[\uFFFD\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text) ? null : text;
}

/**
 * The common git directory of git directory `own`: itself, or where its `commondir` file leads
 * (relative to `own`'s real path, as git resolves it). Null when that file cannot be read as git
 * reads it.
 */
function commonDirOf(own: string, dotGit: string): string | null {
  const file = join(own, 'commondir');
  if (!exists(file)) return own;
  // A `.git` directory with a `commondir` of its own is a layout git allows but nobody makes.
  if (own === realPath(dotGit)) return null;
  const path = plainLine(pointerFileValue(readWhole(file, MAX_FILE_BYTES) ?? ''));
  return path === null ? null : realPath(under(own, path));
}

/**
 * What git's `is_git_directory` asks besides a valid HEAD (`headOf`): `objects` and `refs` in
 * `common` that git may enter (else it looks further up). They count only as `uid`'s own
 * directories with their owner's search bit: for root, who enters any directory, a stricter look
 * than git's.
 */
function isRepository(common: string, uid: number): boolean {
  const enterable = (stat: Stats) =>
    stat.isDirectory() && stat.uid === uid && (stat.mode & constants.S_IXUSR) !== 0;
  return enterable(statSync(join(common, 'objects'))) && enterable(statSync(join(common, 'refs')));
}

/**
 * HEAD of git directory `gitDir`: a branch's full ref name (`refs/heads/x`, checked as git checks
 * a ref's name) or a detached id; null for anything else, or a HEAD that is a link.
 */
function headOf(gitDir: string): string | null {
  const text = readWhole(join(gitDir, 'HEAD'), MAX_FILE_BYTES);
  const head = /^(?:ref: )?([^\n]+)\n?$/.exec(text ?? '');
  if (head === null) return null;
  const value = head[1];
  if (!head[0].startsWith('ref: ')) return OBJECT_ID.test(value) ? value : null;
  return value.startsWith('refs/heads/') && isBranchName(value.slice('refs/heads/'.length))
    ? value
    : null;
}

/**
 * True when git takes `name` for a branch name (`check_refname_format`): components neither empty
 * nor starting with `.` nor ending in `.lock`; no `..`, `@{`, control character, space or any of
 * `~^:?*[\`; not `@`, and not ending in `/` or `.`.
 */
function isBranchName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (name === '@' || /\.\.|@\{|[\x00-\x20\x7f~^:?*[\\]|[/.]$/.test(name)) return false;
  return name
    .split('/')
    .every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'));
}

/**
 * The id branch `ref` holds in repository `gitDir`: its loose ref, else its line in `packed-refs`,
 * taken only from a file as git writes it (a header first, then every line an id and a ref, or a
 * peeled id after one; the refs in strictly increasing order; the last line ended): git looks a
 * ref up there by bisection, and in a file edited otherwise could find another line, or none.
 */
function refValue(gitDir: string, ref: string): string | null {
  const loose = join(gitDir, ref);
  if (exists(loose)) {
    const id = (readWhole(loose, MAX_FILE_BYTES) ?? '').replace(/\n$/, '');
    return OBJECT_ID.test(id) ? id : null;
  }
  const packed = readWhole(join(gitDir, 'packed-refs'), MAX_PACKED_REFS_BYTES);
  if (packed === null || !packed.endsWith('\n')) return null;
  let previous: Buffer | null = null;
  let found: string | null = null;
  for (const [i, line] of packed.slice(0, -1).split('\n').entries()) {
    if (i === 0 && line.startsWith('# pack-refs with:')) continue;
    if (previous !== null && /^\^[0-9a-f]{40}$/.test(line)) continue;
    const entry = /^([0-9a-f]{40}) (refs\/[^ ]+)$/.exec(line);
    if (entry === null) return null;
    const name = Buffer.from(entry[2]);
    if (previous !== null && Buffer.compare(previous, name) >= 0) return null;
    previous = name;
    if (entry[2] === ref) found = entry[1];
  }
  return found;
}

/**
 * True when the repository's configuration is one git reads as it is read here and that leaves
 * the work tree where its `.git` is: a regular file of sections and `key = value` lines (no
 * continued line, no setting on a section's line, no quoted or escaped value), repository format
 * 0 or 1, no `extensions`, no `include`, and in `core` no `worktree` and no `bare` but false.
 */
function plainConfig(gitDir: string): boolean {
  const text = readWhole(join(gitDir, 'config'), MAX_CONFIG_BYTES);
  if (text === null) return false;
  let section = '';
  for (const raw of text.split('\n')) {
    // Git's own white space (not JavaScript's, which counts more characters).
    const line = raw.replace(/^[ \t\r]+|[ \t\r]+$/g, '');
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.endsWith('\\')) return false;
    const header = /^\[([A-Za-z0-9.-]+)(?:[ \t]+"[^"\\]*")?\]$/.exec(line);
    if (header !== null) {
      section = header[1].toLowerCase();
      if (/^(extensions|include)/.test(section)) return false;
      continue;
    }
    const setting = /^([A-Za-z][A-Za-z0-9-]*)[ \t]*(?:=[ \t]*(.*))?$/.exec(line);
    if (setting === null || /["\\]/.test(setting[2] ?? '')) return false;
    if (section === 'core' && !plainCoreSetting(setting[1].toLowerCase(), setting[2])) {
      return false;
    }
  }
  return true;
}

/** A `core` setting that leaves the work tree where its `.git` is. */
function plainCoreSetting(key: string, value: string | undefined): boolean {
  const plain = (value ?? 'true').replace(/[ \t]+[#;].*$/, '').toLowerCase();
  if (key === 'worktree') return false;
  if (key === 'bare') return ['false', 'no', 'off', '0'].includes(plain);
  if (key === 'repositoryformatversion') return plain === '0' || plain === '1';
  return true;
}

/** True when something (a link too, even a dangling one) is at `path`. */
function exists(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}
