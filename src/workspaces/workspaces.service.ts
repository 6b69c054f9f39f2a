import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { Observable } from 'rxjs';
import {
  DomainError,
  gitdirPointer,
  invalidRequest,
  KeyedSerializer,
  pointerFileValue,
} from 'src/common';
import { AppConfig, serverName } from 'src/config';
import { checkWorkingDirectory, isDirectoryInUse, rewriteChildFile } from 'src/process';
import { CommandEvent, splitCommandLine, TestCommandRunner } from 'src/test-runner';
import { branchCandidates } from 'src/workspaces/branch-name';
import { failure, Git, GitOptions } from 'src/workspaces/git';
import { GitPlace, gitPlaceOf } from 'src/workspaces/pinned-work-tree';
import { GitConfigFingerprint } from 'src/workspaces/git-config-fingerprint';
import { GitConfigGuard } from 'src/workspaces/git-config-guard';
import {
  IndexEntry,
  IndexFile,
  readIndex,
  readIndexFile,
  revealHiddenEntries,
} from 'src/workspaces/hidden-index-entries';
import {
  inspectDirectory,
  locateDirectory,
  parseWorktreeList,
  ProjectRepository,
  WorktreeEntry,
} from 'src/workspaces/git-repository';
import { addAll } from 'src/workspaces/nested-repositories';
import { projectCheckout, projectLocation } from 'src/workspaces/repository-files';
import { RepositoryLocks } from 'src/workspaces/repository-locks';
import {
  changedSinceTested,
  recordTestedTree,
  TestedTree,
  TreeChanges,
} from 'src/workspaces/tested-tree';
import { removeStrayBytecode, StrayBytecode } from 'src/workspaces/stray-bytecode';
import { isAttachable, isTaskWorktree } from 'src/workspaces/task-worktree';
import {
  GitConfigChangedError,
  WorkspaceError,
  WorkspaceMissingError,
} from 'src/workspaces/workspace-errors';
import { WorkspaceRoot } from 'src/workspaces/workspace-root';
import { WorkspaceUsage } from 'src/workspaces/workspace-usage';
import {
  isPlainlyOnBranch,
  leadsTo,
  looseRef,
  ownIndex,
  ownIndexLock,
  registeredEntry,
} from 'src/workspaces/worktree-files';

/** Where a task starts from, resolved when it is created. */
export interface TaskBase {
  /** The ref as asked for (the task's, else the session's); null for the checked-out HEAD. */
  baseRef: string | null;
  baseCommit: string;
  /** The branch a merge goes into by default: the local branch `baseRef` names, or the one checked out. */
  targetBranch: string | null;
}

/** A task's workspace as the task knows it. */
export interface WorkspaceSpec {
  taskId: string;
  description: string;
  /** The session's project directory (its place inside the work tree is where the agent works). */
  projectPath: string;
  /** The repository's common git directory. */
  gitDir: string;
  baseCommit: string;
  /** The branch recorded on the task, once it has one. */
  branch: string | null;
  /** The workspace recorded on the task, once it has one (the agent may have worked in it). */
  workspacePath: string | null;
}

export interface PreparedWorkspace {
  /** The worktree. */
  path: string;
  /** Where the agent, the tests and the setup command run: the project's place in the worktree. */
  directory: string;
  branch: string;
  /** Checked out now (a new workspace, or one made again from its branch): needs its setup. */
  created: boolean;
}

/** A workspace whose changes are committed: its worktree, branch and repository. */
export interface WorkspaceRef {
  path: string;
  branch: string;
  gitDir: string;
  /**
   * The repository's git configuration as the workspace was ready for the agent: a commit through
   * any other is refused (`GitConfigChangedError`). Null: not checked (the setup command has not
   * completed yet, a leftover workspace without its task, a task from before fingerprints).
   */
  gitConfig: GitConfigFingerprint | null;
}

export interface CommitResult {
  /** The branch's commit afterwards. */
  commit: string;
  /** A commit was made (the workspace had changes). */
  changed: boolean;
}

/** A commit refused: files changed since the test round that may complete the task started. */
export interface ChangedSinceTested {
  /** From the worktree's top, sorted. */
  changedSinceTested: string[];
}

export interface RetireSpec {
  path: string;
  /** The repository; read from the workspace when unknown (a leftover without its task). */
  gitDir: string | null;
  branch: string | null;
  /** Commit message for changes still uncommitted in the workspace. */
  message: string;
  /** Delete the branch too, if it still points at this commit (a merged task's head). */
  deleteBranchAt: string | null;
  /** The task's fingerprint of the repository's git configuration (`WorkspaceRef.gitConfig`). */
  gitConfig: GitConfigFingerprint | null;
}

export interface RetireResult {
  /** The commit that kept uncommitted changes, if there were any. */
  keptCommit: string | null;
  branchDeleted: boolean;
}

const invalidBase = (field: string, message: string): DomainError =>
  invalidRequest(field, `${field}: ${message}`);

/**
 * TASK WORKSPACES: one git worktree per task, under WORKSPACES_DIR, on its own branch
 * (`<WORKSPACE_BRANCH_PREFIX><short id>-<slug>`) from the task's base commit.
 *
 * - The user's checkout (working tree, index, checked-out branch) is never touched: commands on
 *   the repository run against its git directory without a work tree (`--git-dir`), commands in
 *   a workspace run there, and status reads write no index.
 * - Creating and removing worktrees, and moving branches, hold the repository's lock
 *   (`RepositoryLocks`), across server instances too.
 * - Creation is idempotent (the path and branch follow from the task id), so a task resumed after
 *   a crash re-attaches to its workspace, and one whose creation was cut off starts it again. A
 *   task resumed by an instance with another WORKSPACES_DIR re-attaches to the workspace it
 *   recorded, when the repository has it as the task's worktree on this host (`locate`); one
 *   whose workspace and branch are both missing here fails (`WorkspaceMissingError`) rather than
 *   start again from its base.
 * - Commits take every change but ignored files (`add -A`), and run no hook, editor or signing:
 *   one `git commit` when HEAD is on the branch with nothing under way (read from the worktree's
 *   files), else git's plumbing (`write-tree`, `commit-tree`, `update-ref`).
 * - A new task's workspace is one `git worktree add -b`; only when git refuses it (a branch or a
 *   path left over) are the worktrees listed and the branch names tried one by one.
 * - What in the repository's git directory decides what git runs (its configuration, hooks and
 *   `info/` files) is fingerprinted once the workspace is ready for the agent (`fingerprint`,
 *   `GitConfigGuard`); a commit through anything else (the user's own settings aside) is refused
 *   before its `git add` (which would run a filter set there).
 * - Removal commits what is left uncommitted first, then renames the directory away (atomic),
 *   has git forget it (`worktree prune`) and deletes it, one removal of a workspace at a time:
 *   only a workspace directory inside WORKSPACES_DIR, or a task's worktree its repository has
 *   on the task's branch (one under another instance's WORKSPACES_DIR).
 */
@Injectable()
export class WorkspacesService {
  private readonly logger = new Logger('Workspaces');
  private readonly removals = new KeyedSerializer();

  constructor(
    private readonly config: AppConfig,
    private readonly git: Git,
    private readonly locks: RepositoryLocks,
    private readonly root: WorkspaceRoot,
    private readonly usage: WorkspaceUsage,
    private readonly commands: TestCommandRunner,
    private readonly gitConfig: GitConfigGuard,
  ) {}

  /**
   * The git work tree `dir` is in, or null when it is in none (then tasks run in place). Read
   * from the files where they say (`projectCheckout`: no process at a task's creation), else
   * asked of git.
   */
  async inspect(dir: string): Promise<ProjectRepository | null> {
    return projectCheckout(dir, this.git.uid) ?? inspectDirectory(this.git, dir);
  }

  /**
   * Resolves where a task of the project at `dir` starts: `ref` (any commit-ish: a branch, tag,
   * remote branch or commit) or, when null, the commit checked out there. A ref that names no
   * commit is a 400 naming `field`.
   */
  async resolveBase(
    repo: ProjectRepository,
    dir: string,
    ref: string | null,
    field = 'base_ref',
  ): Promise<TaskBase> {
    if (ref === null) {
      if (repo.head === null) {
        throw invalidBase(field, 'the repository has no commit yet to start a workspace from');
      }
      return { baseRef: null, baseCommit: repo.head, targetBranch: repo.branch };
    }
    const options = { cwd: dir };
    const commit = await this.git.run(
      ['rev-parse', '--verify', '-q', '--end-of-options', `${ref}^{commit}`],
      options,
    );
    if (commit.exitCode !== 0) throw invalidBase(field, `${ref} names no commit in ${dir}`);
    const full = await this.git.run(
      ['rev-parse', '--verify', '-q', '--symbolic-full-name', '--end-of-options', ref],
      options,
    );
    const name = full.exitCode === 0 ? full.stdout.toString('utf8').trim() : '';
    return {
      baseRef: ref,
      baseCommit: commit.stdout.toString('utf8').trim(),
      targetBranch: name.startsWith('refs/heads/') ? name.slice('refs/heads/'.length) : null,
    };
  }

  /** The worktrees of a repository. */
  async worktrees(gitDir: string): Promise<WorktreeEntry[]> {
    const out = await this.git.text(['worktree', 'list', '--porcelain', '-z'], this.repo(gitDir));
    return parseWorktreeList(out);
  }

  /**
   * Creates the task's workspace, or re-attaches to the one it has. A workspace whose directory
   * was lost is checked out again from its branch (what was committed is all there is). That the
   * project is still in the task's repository is read from the files where they say so, else
   * asked of git (a process fewer a task: `projectLocation`); a project directory this server
   * cannot find is a `WorkingDirectoryGoneError` (it may be on the server that accepted the task).
   */
  async prepare(spec: WorkspaceSpec): Promise<PreparedWorkspace> {
    checkWorkingDirectory(spec.projectPath, serverName(this.config));
    const byFiles = projectLocation(spec.projectPath, this.git.uid);
    const repo =
      byFiles?.gitDir === spec.gitDir ? byFiles : await locateDirectory(this.git, spec.projectPath);
    if (repo === null || repo.gitDir !== spec.gitDir) {
      throw new WorkspaceError(
        `${spec.projectPath} is no longer in the git repository the task was created in (${spec.gitDir})`,
      );
    }
    const prepared = await this.locks.withLock(spec.gitDir, () =>
      this.checkOut(spec, this.locate(spec)),
    );
    const path = prepared.path;
    if (prepared.created) this.usage.invalidate(path);
    else this.clearStaleIndexLock(path);
    const directory = join(path, repo.prefix);
    mkdirSync(directory, { recursive: true });
    return { ...prepared, directory };
  }

  /**
   * Where task `spec.taskId`'s workspace is: the one the task recorded when it can be re-attached
   * to here (`isAttachable`: its repository has it as the task's worktree, its directory is on
   * this host), even under another instance's WORKSPACES_DIR (the task moved here from an
   * instance with another one: a checkout here would find its branch checked out there, and
   * leave its uncommitted work behind); else its directory in this server's WORKSPACES_DIR.
   * Read from the files: the run supervises the processes working there before it prepares it.
   */
  locate(spec: { taskId: string; gitDir: string | null; workspacePath: string | null }): string {
    const own = this.root.pathFor(spec.taskId);
    const recorded = spec.workspacePath;
    if (recorded === null || recorded === own || spec.gitDir === null) return own;
    return isAttachable(recorded, spec.gitDir, spec.taskId) ? recorded : own;
  }

  /**
   * The fingerprint of the repository's git configuration for task `taskId`'s workspace at
   * `path` (`GitConfigGuard.take`), taken once the workspace is ready for the agent: after the
   * session's setup command, which is the key holder's and may write there (`npm ci` installing
   * husky sets `core.hooksPath`). The server's own hooks for the agent (`RefGuard`) live in a
   * directory of the server's, not in the repository.
   */
  fingerprint(taskId: string, gitDir: string, path: string): Promise<GitConfigFingerprint> {
    const entry = registeredEntry(path, gitDir);
    return this.gitConfig.take(taskId, gitDir, entry === null ? null : relative(gitDir, entry));
  }

  /**
   * The repository (common git directory) the workspace at `path` belongs to, as its `.git` file
   * says; null when it cannot tell.
   */
  repositoryOf(path: string): Promise<string | null> {
    return gitDirOf(path);
  }

  /**
   * The fingerprint last taken for task `taskId`'s workspace (`fingerprint`), kept with the
   * copies of the configuration until the workspace is removed; null when none was kept. What a
   * workspace whose task is gone is held to.
   */
  takenFingerprint(taskId: string): GitConfigFingerprint | null {
    return this.gitConfig.taken(taskId);
  }

  /**
   * Throws `GitConfigChangedError` when the repository's git configuration, hooks or `info/` files
   * are not what `expected` recorded, the user's own settings aside (`GitConfigGuard`; nothing
   * when it is null): before any git of the server's runs through them (`git add`, which runs
   * filters; a merge, which runs drivers and filters).
   */
  assertGitConfigUnchanged(gitDir: string, expected: GitConfigFingerprint | null): Promise<void> {
    return this.gitConfig.assertUnchanged(gitDir, expected);
  }

  /**
   * `assertGitConfigUnchanged` as an answer to a request: 409 `git_config_changed` naming the
   * files, its message followed by `then` (what was refused, and what to do about it).
   */
  refuseChangedGitConfig(
    gitDir: string,
    expected: GitConfigFingerprint | null,
    then: string,
  ): Promise<void> {
    return GitConfigChangedError.refusing(this.assertGitConfigUnchanged(gitDir, expected), then);
  }

  private async checkOut(
    spec: WorkspaceSpec,
    path: string,
  ): Promise<Omit<PreparedWorkspace, 'directory'>> {
    if (spec.branch === null && !existsSync(path)) {
      const created = await this.checkOutNew(spec, path);
      if (created !== null) return created;
    }
    const options = this.repo(spec.gitDir);
    const entries = await this.worktrees(spec.gitDir);
    // A worktree whose directory was deleted is pruned below and checked out again.
    const entry = existsSync(path) ? entries.find((e) => e.path === path) : undefined;
    if (entry !== undefined && entry.locked !== 'initializing') {
      const branch = spec.branch ?? stripHeads(entry.branch);
      if (branch === null) throw new WorkspaceError(`${path} is not on a branch`);
      return { path, branch, created: false };
    }
    if (entry !== undefined) {
      // `git worktree add` was cut off (a crash): nobody worked in it yet.
      await this.git.text(['worktree', 'remove', '--force', '--force', path], options);
    } else if (existsSync(path)) {
      if (spec.workspacePath !== null) {
        throw new WorkspaceError(
          `${path} exists but is no longer a worktree of ${spec.gitDir}; it was left as it is`,
        );
      }
      // Debris of a creation cut off before git registered it: nothing was worked in it.
      await rm(path, { recursive: true, force: true });
    }
    // A registered path whose directory is gone would make `worktree add` refuse it, and so
    // would the task's branch, checked out in the workspace it recorded elsewhere, now gone.
    const gone = (e: WorktreeEntry): boolean =>
      e.path === path || (e.path === spec.workspacePath && !existsSync(e.path));
    if (entries.some(gone)) {
      await this.git.text(['worktree', 'prune'], options);
    }
    const { name: branch, tip } =
      spec.branch !== null
        ? { name: spec.branch, tip: await this.tip(spec.gitDir, spec.branch) }
        : // The entry at `path`, if any, is gone now: its branch is free again.
          await this.freeBranch(
            spec,
            entries.filter((e) => e.path !== path),
          );
    if (spec.branch !== null && tip === null) throw this.missing(spec, branch);
    await this.git.text(
      tip !== null
        ? ['worktree', 'add', '--quiet', path, branch]
        : ['worktree', 'add', '--quiet', '--no-track', '-b', branch, path, spec.baseCommit],
      options,
    );
    return this.checkedOut(spec, path, branch);
  }

  /**
   * Why a resumed task's workspace cannot be checked out again here: neither the workspace it
   * recorded nor its branch is here, and a new branch from the base would drop its work unseen.
   */
  private missing(spec: WorkspaceSpec, branch: string): WorkspaceMissingError {
    const recorded = spec.workspacePath ?? '(none recorded)';
    return new WorkspaceMissingError(
      `the task's workspace ${recorded} and its branch ${branch} are not on this server ` +
        `(${serverName(this.config)}): ${recorded} is no worktree of ${spec.gitDir} here, and ` +
        `${spec.gitDir} has no branch ${branch}. The task worked on another machine (its work is ` +
        'on that disk) or both were removed; it is not started again from its base commit, ' +
        'which would drop the work done so far. Resume it on the server that has its workspace, ' +
        'or retry it as a new task',
    );
  }

  /**
   * The common case in one git call: a new task, its directory absent, its first branch name
   * free. `git worktree add -b` refuses a branch that exists and a path git still has registered
   * (having made the branch at the base then, which `freeBranch` takes again); null when it
   * refused, and the careful way above sorts out why.
   */
  private async checkOutNew(
    spec: WorkspaceSpec,
    path: string,
  ): Promise<Omit<PreparedWorkspace, 'directory'> | null> {
    const [branch] = branchCandidates(
      this.config.WORKSPACE_BRANCH_PREFIX,
      spec.taskId,
      spec.description,
    );
    const added = await this.git.run(
      ['worktree', 'add', '--quiet', '--no-track', '-b', branch, path, spec.baseCommit],
      this.repo(spec.gitDir),
    );
    return added.exitCode === 0 ? this.checkedOut(spec, path, branch) : null;
  }

  private checkedOut(
    spec: WorkspaceSpec,
    path: string,
    branch: string,
  ): Omit<PreparedWorkspace, 'directory'> {
    this.logger.log(`Task ${spec.taskId}: workspace ${path} on ${branch}`);
    return { path, branch, created: true };
  }

  /** The first branch name the task may take (unused, or unused work at its base), and its tip. */
  private async freeBranch(
    spec: WorkspaceSpec,
    entries: WorktreeEntry[],
  ): Promise<{ name: string; tip: string | null }> {
    const candidates = branchCandidates(
      this.config.WORKSPACE_BRANCH_PREFIX,
      spec.taskId,
      spec.description,
    );
    for (const name of candidates) {
      const tip = await this.tip(spec.gitDir, name);
      if (tip === null) return { name, tip };
      const checkedOut = entries.some((e) => e.branch === `refs/heads/${name}`);
      if (tip === spec.baseCommit && !checkedOut) return { name, tip };
    }
    throw new WorkspaceError(`the branch names ${candidates.join(', ')} are all taken`);
  }

  /** The commit branch `name` points at, or null when there is no such branch. */
  async tip(gitDir: string, name: string): Promise<string | null> {
    const result = await this.git.run(
      ['rev-parse', '--verify', '-q', `refs/heads/${name}^{commit}`],
      this.repo(gitDir),
    );
    return result.exitCode === 0 ? result.stdout.toString('utf8').trim() : null;
  }

  /**
   * Removes a git index lock left in the workspace by a git process that died with a killed server
   * (SIGKILL leaves git no time to remove it; every later `git add` then fails, and with it the
   * commit that keeps the task's work), when no process works in the workspace: the run's own git
   * calls and the agent are over when it commits, and after a restart when it re-attaches.
   */
  private clearStaleIndexLock(path: string): void {
    const lock = ownIndexLock(path);
    if (lock === null || isDirectoryInUse(path)) return;
    rmSync(lock, { force: true });
    this.logger.warn(
      `Removed a stale git index lock in ${path}, left by a git process killed with its server`,
    );
  }

  /**
   * Commits every change in the workspace (ignored files excepted; files the agent marked
   * skip-worktree or assume-unchanged as the work tree holds them, the marks cleared) on its branch and returns the
   * branch's commit. Should the agent have moved the workspace off its branch, the commit is
   * made on top of where it left HEAD, joined with the branch when that is not a fast-forward,
   * and the workspace is put back on its branch: nothing of either is lost. Refused before any
   * git runs (`GitConfigChangedError`) when the repository's git configuration is not what
   * `ws.gitConfig` recorded.
   */
  async commit(ws: WorkspaceRef, message: string): Promise<CommitResult> {
    const branchRef = `refs/heads/${ws.branch}`;
    await this.assertGitConfigUnchanged(ws.gitDir, ws.gitConfig);
    await this.restoreGitLink(ws);
    this.clearStaleIndexLock(ws.path);
    const at = this.pinned(ws);
    await revealHiddenEntries(this.git, ownIndex(ws.path), at);
    await addAll(this.git, at, ws.path, ownIndex(ws.path));
    return this.commitIndex(ws, at, branchRef, message);
  }

  /**
   * Puts the workspace's `.git` file back when it no longer leads to the workspace's own entry in
   * its repository, before the server's git works there. The file is the agent's to write (in a
   * sandbox too: it lies in the workspace): pointed at the user's git directory, or at another
   * task's entry, the `git add` and `git commit` of the commit would write that checkout's index
   * and move or switch its branch. Also called before each test round, so that the round and
   * the verification's git read the workspace's own index. Only a plain file or link is replaced,
   * in a workspace directory reached through no link (inside WORKSPACES_DIR, or the task's
   * worktree under another instance's: `isTaskWorktree`; the server may be root, the workspace
   * the agent's: a workspace swapped for a link must not lead it elsewhere); a
   * `.git` directory, or a workspace the repository has no entry for, is left as it is
   * (`WorkspaceError`).
   */
  async restoreGitLink(ws: WorkspaceRef): Promise<void> {
    const entry = registeredEntry(ws.path, ws.gitDir);
    if (entry === null) {
      throw new WorkspaceError(`${ws.path} is not a worktree of ${ws.gitDir}; left as it is`);
    }
    if (leadsTo(ws.path, entry)) return;
    const dotGit = join(ws.path, '.git');
    const plain =
      (this.root.isWorkspacePath(ws.path) || isTaskWorktree(ws.path, ws.gitDir, {})) &&
      lstatSync(ws.path).isDirectory() &&
      realpathSync(dirname(ws.path)) === dirname(ws.path) &&
      lstatSync(dotGit, { throwIfNoEntry: false })?.isDirectory() !== true;
    if (!plain) {
      throw new WorkspaceError(
        `${dotGit} does not lead to the workspace's own entry in ${ws.gitDir}, and cannot be put back; left as it is`,
      );
    }
    await rm(dotGit, { force: true });
    await writeFile(dotGit, `gitdir: ${entry}\n`, { flag: 'wx', mode: 0o644 });
    this.logger.warn(
      `${dotGit} did not lead to the workspace's own entry in ${ws.gitDir} (the agent changed it): put back to ${entry}`,
    );
  }

  /**
   * Where the commit's git runs: in the workspace, given its entry in the repository and its work
   * tree (`--git-dir`, `--work-tree`), not the `.git` file `restoreGitLink` put back, which a
   * process of the agent's still running could point elsewhere again before git reads it.
   */
  private pinned(ws: WorkspaceRef): GitPlace {
    return gitPlaceOf(ws.path, ws.gitDir);
  }

  /** Commits the workspace's index, its git run at `at` (`pinned`, resolved once a commit). */
  private commitIndex(
    ws: WorkspaceRef,
    at: GitPlace,
    branchRef: string,
    message: string,
  ): Promise<CommitResult> {
    return isPlainlyOnBranch(ws.path, branchRef)
      ? this.commitOnBranch(ws, at, branchRef, message)
      : this.commitAnywhere(ws, at, branchRef, message);
  }

  /**
   * The tree a test round is about to test in the workspace (`TestedTree`): its index as it is
   * now, read in-process, with the files `changes` (what `git status` reported, from the
   * worktree's top) and those the agent hid from `git add` hashed as git would add them.
   */
  async recordTested(path: string, changes: TreeChanges): Promise<TestedTree> {
    return recordTestedTree(path, await this.readOwnIndex(path), changes);
  }

  /**
   * Removes the Python bytecode in the workspace its index does not track (`removeStrayBytecode`),
   * before a test round: the round runs the sources the commit holds.
   */
  async removeStrayBytecode(path: string): Promise<StrayBytecode> {
    const found = await removeStrayBytecode(path, async () =>
      (await this.readOwnIndex(path)).entries.map((entry) => entry.path),
    );
    if (found.removed.length > 0) {
      this.logger.debug(
        `removed ${found.removed.length} untracked Python bytecode path(s) in ${path} before a test round`,
      );
    }
    return found;
  }

  /**
   * Commits the workspace as `commit` does, only when what `git add -A` staged is the tree the
   * passing test round tested (`tested`, recorded as it started): else nothing is committed, the
   * index is put back as it was before the `add`, and the files that changed since are returned.
   * Something still running changed them, or the tests themselves rewrote tracked files (a
   * snapshot update, generated code): the commit would hold what no test ran against.
   */
  async commitTested(
    ws: WorkspaceRef,
    message: string,
    tested: TestedTree,
  ): Promise<CommitResult | ChangedSinceTested> {
    const branchRef = `refs/heads/${ws.branch}`;
    await this.assertGitConfigUnchanged(ws.gitDir, ws.gitConfig);
    await this.restoreGitLink(ws);
    this.clearStaleIndexLock(ws.path);
    const indexFile = ownIndex(ws.path);
    const read = await readIndexFile(indexFile);
    const at = this.pinned(ws);
    const hidden = await revealHiddenEntries(this.git, indexFile, at, read);
    const revealed = hidden.skipWorktree.length + hidden.assumeUnchanged.length > 0;
    const before = revealed ? await readIndexFile(indexFile) : read;
    await addAll(this.git, at, ws.path, indexFile);
    const changed = await changedSinceTested(tested, await this.readOwnIndex(ws.path), ws.path);
    if (changed.length === 0) return this.commitIndex(ws, at, branchRef, message);
    if (indexFile !== null && before !== null) this.restoreIndex(indexFile, before);
    return { changedSinceTested: changed };
  }

  /**
   * Puts a worktree's index back as it was (`bytes`), written over the file git keeps there as
   * the user git runs as could write it (`rewriteChildFile`): the directory is the agent's, which
   * may have put a link anywhere on the way. Refused, the index stays as the `add` left it (every
   * change staged; the next commit stages them again), said in the log. Written in place, not
   * renamed into place: a write cut off (a full disk) leaves an index git refuses, and the task
   * then fails in its next git step rather than commit anything the tests did not run against.
   */
  private restoreIndex(file: string, bytes: Buffer): void {
    try {
      rewriteChildFile(file, bytes, this.git.uid);
    } catch (error) {
      this.logger.warn(`index not put back after a refused commit: ${String(error)}`);
    }
  }

  /**
   * The worktree's own index, read in-process; where it cannot be (a split index, an unknown
   * format), from `git ls-files --stage` (without the stat data the index caches).
   */
  private async readOwnIndex(path: string): Promise<IndexFile> {
    const bytes = await readIndexFile(ownIndex(path));
    const read = bytes === null ? null : readIndex(bytes);
    if (read !== null) return read;
    const listed = await this.git.text(['ls-files', '--stage', '-v', '-z'], { cwd: path });
    return indexOfLsFiles(listed);
  }

  /**
   * HEAD on the branch, no merge or the like under way: one `git commit` (hooks and signing off
   * as every git call has them, the message verbatim, the same author and committer, the
   * branch moved only from the commit it read), the branch's commit read from its ref file.
   */
  private commitOnBranch(
    ws: WorkspaceRef,
    at: GitPlace,
    branchRef: string,
    message: string,
  ): Promise<CommitResult> {
    return this.locks.withLock(ws.gitDir, async () => {
      const args = [
        'commit',
        '--quiet',
        '--no-verify',
        '--cleanup=verbatim',
        '--untracked-files=no',
        '-m',
        message,
      ];
      const result = await this.git.run(args, {
        ...at,
        env: { GIT_REFLOG_ACTION: 'cta' },
      });
      const unchanged =
        result.exitCode === 1 &&
        /^(nothing to commit|no changes added to commit)/m.test(result.stdout.toString('utf8'));
      if (result.exitCode !== 0 && !unchanged) throw failure(args, result);
      const commit =
        looseRef(ws.gitDir, branchRef) ??
        (await this.git.text(['rev-parse', '--verify', `${branchRef}^{commit}`], at));
      return { commit, changed: !unchanged };
    });
  }

  /** The general case, with git's plumbing: HEAD anywhere, and put back on the branch. */
  private async commitAnywhere(
    ws: WorkspaceRef,
    here: GitPlace,
    branchRef: string,
    message: string,
  ): Promise<CommitResult> {
    const tree = await this.git.text(['write-tree'], here);
    const [head, headTree] = (
      await this.git.text(['rev-parse', 'HEAD^{commit}', 'HEAD^{tree}'], here)
    ).split('\n');
    const symbolic = await this.git.run(['symbolic-ref', '-q', 'HEAD'], here);
    const onBranch = symbolic.stdout.toString('utf8').trim() === branchRef;
    if (onBranch && tree === headTree) return { commit: head, changed: false };
    return this.locks.withLock(ws.gitDir, async () => {
      const tip = onBranch ? head : ((await this.tip(ws.gitDir, ws.branch)) ?? head);
      const fastForward =
        tip === head ||
        (await this.git.test(['merge-base', '--is-ancestor', tip, head], this.repo(ws.gitDir)));
      const commit =
        tree === headTree && fastForward
          ? head
          : await this.git.text(
              [
                'commit-tree',
                tree,
                ...(fastForward ? ['-p', head] : ['-p', tip, '-p', head]),
                '-m',
                message,
              ],
              here,
            );
      await this.git.text(
        ['update-ref', '-m', `cta: ${firstLine(message)}`, branchRef, commit, tip],
        this.repo(ws.gitDir),
      );
      if (!onBranch) await this.git.text(['symbolic-ref', 'HEAD', branchRef], here);
      return { commit, changed: commit !== head || !onBranch };
    });
  }

  /**
   * Removes a workspace without losing work: uncommitted changes are committed on its branch
   * first (a failure stops the removal); then the directory is renamed out of the way (atomic:
   * from then on nothing in it is ever committed, and a removal cut off half-way cannot look like
   * work that deleted files), git forgets it (`git worktree prune`) and the files are removed.
   * Only a directory named like a workspace directly inside WORKSPACES_DIR is ever removed, or
   * a task's worktree that lies under another instance's WORKSPACES_DIR (`removable`).
   * Removals of one workspace run one after the other (a deleted task's and the sweep's, say):
   * the later one finds nothing left, where the two would collide in the worktree's index.
   * Once it is gone, so are the copies of the repository's configuration kept for its task.
   */
  async retire(spec: RetireSpec): Promise<RetireResult> {
    if (!this.removable(spec)) {
      throw new WorkspaceError(
        `${spec.path} is not a workspace inside ${this.root.path}, nor a worktree of ` +
          `${spec.gitDir ?? 'its repository'} on branch ${spec.branch ?? '-'} on this server ` +
          `(${serverName(this.config)}); left as it is`,
      );
    }
    const result = await this.removals.run(spec.path, () => this.remove(spec));
    this.gitConfig.forget(basename(spec.path));
    return result;
  }

  /**
   * Whether `retire` may remove the workspace at `spec.path`: a workspace directory inside
   * WORKSPACES_DIR, or a task's worktree elsewhere that the repository the task recorded has on
   * the task's branch (`isTaskWorktree`: one under the WORKSPACES_DIR of the instance the task
   * came from; its directory may be gone, git forgets it then). The first two of what is known
   * of it come from the task, never from the workspace's own files.
   */
  removable(spec: Pick<RetireSpec, 'path' | 'gitDir' | 'branch'>): boolean {
    if (this.root.isWorkspacePath(spec.path)) return true;
    if (spec.gitDir === null || spec.branch === null) return false;
    return isTaskWorktree(spec.path, spec.gitDir, { branch: spec.branch });
  }

  private async remove(spec: RetireSpec): Promise<RetireResult> {
    const gitDir = spec.gitDir ?? (await gitDirOf(spec.path));
    if (gitDir === null || !existsSync(gitDir)) {
      if (!existsSync(spec.path)) return { keptCommit: null, branchDeleted: false };
      throw new WorkspaceError(
        `cannot tell which repository ${spec.path} belongs to; left as it is`,
      );
    }
    const entry = (await this.worktrees(gitDir)).find((e) => e.path === spec.path);
    const branch = spec.branch ?? stripHeads(entry?.branch ?? null);
    let keptCommit: string | null = null;
    const onDisk = existsSync(spec.path);
    if (entry !== undefined && onDisk) {
      if (branch === null) throw new WorkspaceError(`${spec.path} is on no branch; left as it is`);
      const kept = await this.commit(
        { path: spec.path, branch, gitDir, gitConfig: spec.gitConfig },
        spec.message,
      );
      if (kept.changed) keptCommit = kept.commit;
    } else if (onDisk) {
      throw new WorkspaceError(`${spec.path} is not a worktree of ${gitDir}; left as it is`);
    }
    const removing = this.root.removingPathFor(spec.path);
    // What an earlier removal of the same path left (the workspace was made again since).
    if (onDisk && existsSync(removing)) await removeTree(removing);
    const branchDeleted = await this.locks.withLock(gitDir, async () => {
      const options = this.repo(gitDir);
      if (onDisk) renameSync(spec.path, removing);
      await this.git.text(['worktree', 'prune'], options);
      if (spec.deleteBranchAt === null || branch === null || keptCommit !== null) return false;
      const deleted = await this.git.run(
        ['update-ref', '-d', `refs/heads/${branch}`, spec.deleteBranchAt],
        options,
      );
      return deleted.exitCode === 0;
    });
    await removeTree(removing);
    this.usage.invalidate(spec.path);
    this.logger.log(
      `Removed workspace ${spec.path}` +
        (keptCommit ? `; uncommitted changes kept as ${keptCommit} on ${branch}` : '') +
        (branchDeleted ? `; merged branch ${branch} deleted` : ''),
    );
    return { keptCommit, branchDeleted };
  }

  /**
   * Finishes the removals a stopped server left half-done (directories renamed for removal): git
   * forgets each (`git worktree prune` in its repository, where its `.git` file still says which)
   * and its files go; nothing in them is committed. One that cannot be removed is logged and left
   * for the next sweep. Returns how many were finished.
   */
  async finishRemovals(): Promise<number> {
    const names = await readdir(this.root.path).catch(() => [] as string[]);
    let finished = 0;
    for (const name of names) {
      const taskId = WorkspaceRoot.removingTaskId(name);
      if (taskId === null) continue;
      const path = join(this.root.path, name);
      // After a removal of the same workspace under way here, if any (it removes it itself).
      await this.removals
        .run(this.root.pathFor(taskId), async () => {
          if (!existsSync(path)) return;
          const gitDir = await gitDirOf(path);
          await removeTree(path);
          if (gitDir !== null) {
            await this.locks.withLock(gitDir, () =>
              this.git.text(['worktree', 'prune'], this.repo(gitDir)),
            );
          }
          finished += 1;
        })
        .catch((error: unknown) =>
          this.logger.warn(`${path} (a removal left half-done) not removed: ${String(error)}`),
        );
    }
    if (finished > 0) {
      this.logger.warn(`Finished removing ${finished} workspace(s) a stopped server was removing`);
    }
    return finished;
  }

  /**
   * Runs `fn` while no git operation of this server's (a merge, a removal) runs on the
   * repositories at `gitDirs`, holding their locks (taken in one order; a repository that is gone
   * is skipped).
   */
  whileRepositoriesIdle<T>(gitDirs: readonly string[], fn: () => Promise<T>): Promise<T> {
    return [...new Set(gitDirs)]
      .filter((gitDir) => existsSync(gitDir))
      .sort()
      .reduceRight<() => Promise<T>>(
        (inner, gitDir) => () => this.locks.withLock(gitDir, inner),
        fn,
      )();
  }

  /** The task ids of the workspace directories in WORKSPACES_DIR. */
  async listWorkspaceIds(): Promise<string[]> {
    const names = await readdir(this.root.path).catch(() => [] as string[]);
    return names.filter((name) => WorkspaceRoot.isWorkspaceName(name)).sort();
  }

  /** The workspace directory of a task. */
  pathFor(taskId: string): string {
    return this.root.pathFor(taskId);
  }

  /**
   * Runs a session's setup command in a workspace (or in one of the scratch checkouts of a task's
   * verification: of its change, of its base commit): no shell, SETUP_TIMEOUT_SECONDS, output
   * bounded like a test command's.
   * Cold, like test runs: unsubscribing ends its process group.
   */
  runSetup(directory: string, command: string): Observable<CommandEvent> {
    return this.commands.run({
      argv: splitCommandLine(command),
      cwd: directory,
      timeoutMs: this.config.SETUP_TIMEOUT_SECONDS * 1000,
      maxOutputBytes: this.config.TEST_OUTPUT_MAX_BYTES,
    });
  }

  private repo(gitDir: string): GitOptions {
    return { cwd: gitDir, gitDir };
  }
}

const NO_STAT = { ctimeS: 0, ctimeNs: 0, mtimeS: 0, mtimeNs: 0, ino: 0, size: 0 };

/**
 * An index as `git ls-files --stage -v -z` lists it (`<tag> <mode> <oid> <stage>\t<path>`, the tag
 * `S`/`s` for skip-worktree, lower case for assume-unchanged), without stat data.
 */
export function indexOfLsFiles(output: string): IndexFile {
  const entries: IndexEntry[] = [];
  for (const line of output.split('\0')) {
    const match = /^(\S) (\d+) ([0-9a-f]+) (\d)\t(.+)$/s.exec(line);
    if (match === null) continue;
    const [, tag, mode, oid, stage, path] = match;
    entries.push({
      path,
      mode: parseInt(mode, 8),
      oid,
      stage: Number(stage),
      stat: NO_STAT,
      skipWorktree: tag === 'S' || tag === 's',
      assumeUnchanged: tag !== tag.toUpperCase(),
    });
  }
  return { hashBytes: entries.length > 0 ? entries[0].oid.length / 2 : 20, entries };
}

function stripHeads(ref: string | null): string | null {
  return ref !== null && ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0].slice(0, 200);
}

/**
 * The common git directory a worktree belongs to, read from its `.git` file; null if unreadable,
 * or when the worktree's entry (`<git dir>/worktrees/<name>`) is not in the git directory its
 * `commondir` names. The workspace's files are the agent's: a `.git` file it wrote must not send
 * the server's git, or its lock file, anywhere else.
 */
export async function gitDirOf(workspace: string): Promise<string | null> {
  try {
    const pointer = gitdirPointer(await readFile(join(workspace, '.git'), 'utf8'));
    if (pointer === null) return null;
    const admin = await realpath(resolve(workspace, pointer));
    const common = pointerFileValue(await readFile(join(admin, 'commondir'), 'utf8'));
    const gitDir = await realpath(isAbsolute(common) ? common : resolve(admin, common));
    return dirname(admin) === join(gitDir, 'worktrees') ? gitDir : null;
  } catch {
    return null;
  }
}

/**
 * Removes the tree at `path`; where a directory without write permission stopped that (an agent's
 * `chmod -w`, a read-only module cache), makes the tree's directories writable and tries again.
 */
async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw error;
    makeWritable(path);
    await rm(path, { recursive: true, force: true });
  }
}

/** Makes the directory `dir` and the directories below it (links not followed) writable by us. */
function makeWritable(dir: string): void {
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) makeWritable(join(dir, entry.name));
  }
}
