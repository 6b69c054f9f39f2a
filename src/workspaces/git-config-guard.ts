import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import {
  CHILD_ISOLATION,
  ChildIsolation,
  childTempDir,
  NO_ISOLATION,
  removeChildTempDir,
  removeOrphanedChildTempDirs,
} from 'src/process';
import { Git, GitCommandError } from 'src/workspaces/git';
import { GitConfigCopies } from 'src/workspaces/git-config-copies';
import { configEntries, sameGuardedEntries } from 'src/workspaces/git-config-entries';
import {
  changedGitConfigPaths,
  configFilePaths,
  fileValue,
  GitConfigFingerprint,
  takeGitConfigFingerprint,
  unreadPaths,
} from 'src/workspaces/git-config-fingerprint';
import { GitConfigChangedError, WorkspaceError } from 'src/workspaces/workspace-errors';

/** The name of the directory a comparison hands the files to git in starts so (`childTempDir`). */
const LISTING_PREFIX = 'cta-git-config-';

/** Listings of configuration files kept, by their content's hash, at most. */
const MAX_KEPT_LISTINGS = 64;

/**
 * WHAT THE SERVER'S GIT MAY RUN THROUGH: the repository's git configuration, hooks and `info/`
 * files as a task's workspace was ready for its agent (`GitConfigFingerprint`), and the check
 * against them before the server's git runs in the workspace or merges it.
 *
 * The check costs no process while nothing changed (the fingerprint is read in-process). A
 * configuration file (`config`, `config.worktree`) that changed is compared entry by entry, as
 * git itself lists the copy kept when the fingerprint was taken (`GitConfigCopies`) and the file
 * as it is now: what the user's own git commands write beside the tasks (an upstream, a remote,
 * `user.name`: `isUserSetting`) passes; any other entry added, removed, changed or moved counts.
 * A change to a hook or an `info/` file always counts.
 */
@Injectable()
export class GitConfigGuard {
  /**
   * What git listed of each configuration file compared, by its content (`fileValue`): the same
   * bytes list the same, so a change in the user's settings alone costs its two git processes
   * once, not at every check of every task after it (the oldest let go past MAX_KEPT_LISTINGS).
   */
  private readonly listed = new Map<string, string[]>();

  constructor(
    private readonly git: Git,
    private readonly copies: GitConfigCopies,
    @Inject(CHILD_ISOLATION) private readonly isolation: ChildIsolation,
  ) {}

  /**
   * The fingerprint of the repository at `gitDir` for task `taskId`'s workspace (its own git
   * directory `worktree`, from `gitDir`; null: none), its configuration files copied aside. One
   * that could not record everything (a hook past the size bound) is refused: a change to it
   * could not be told.
   */
  async take(
    taskId: string,
    gitDir: string,
    worktree: string | null,
  ): Promise<GitConfigFingerprint> {
    const { fingerprint, configFiles } = await takeGitConfigFingerprint(gitDir, worktree);
    const unread = unreadPaths(fingerprint);
    if (unread.length > 0) {
      throw new WorkspaceError(
        `${unread.join(', ')} in ${gitDir} are too large (or too many) to fingerprint: a change to them could not be told, so tasks do not run in workspaces of this repository`,
      );
    }
    const kept = { ...fingerprint, copies: taskId };
    return this.copies.keep(taskId, configFiles.values(), kept) ? kept : fingerprint;
  }

  /**
   * The fingerprint `take` last took for task `taskId`, kept with its copies until its workspace
   * is removed; null when none was kept.
   */
  taken(taskId: string): GitConfigFingerprint | null {
    return this.copies.fingerprint(taskId);
  }

  /**
   * Throws `GitConfigChangedError`, naming the paths, when the repository at `gitDir` is not as
   * `expected` recorded but for the user's own settings (nothing when `expected` is null).
   */
  async assertUnchanged(gitDir: string, expected: GitConfigFingerprint | null): Promise<void> {
    if (expected === null) return;
    const { fingerprint, configFiles } = await takeGitConfigFingerprint(gitDir, expected.worktree);
    const changed = changedGitConfigPaths(expected, fingerprint);
    if (changed.length === 0) return;
    const configs = new Set(configFilePaths(expected.worktree));
    const counted: string[] = [];
    for (const path of changed) {
      const userSettingsOnly =
        configs.has(path) &&
        (await this.userSettingsOnly(expected, path, fingerprint.paths[path], configFiles));
      if (!userSettingsOnly) counted.push(path);
    }
    if (counted.length > 0) throw new GitConfigChangedError(gitDir, counted);
  }

  /** Removes what `take` kept for task `taskId` (its workspace is gone). */
  forget(taskId: string): void {
    this.copies.forget(taskId);
  }

  /** Removes the directories of comparisons a server that is gone left behind. */
  removeOrphans(): Promise<number> {
    return removeOrphanedChildTempDirs(LISTING_PREFIX);
  }

  /**
   * Whether the configuration file at `path` changed in the user's settings alone: it was and is
   * a plain file or absent (absent reads as empty), its copy is there, and git lists the same
   * other entries in both. `now` is its fingerprint's value now, `configFiles` what it held.
   */
  private async userSettingsOnly(
    expected: GitConfigFingerprint,
    path: string,
    now: string | undefined,
    configFiles: ReadonlyMap<string, Buffer>,
  ): Promise<boolean> {
    const was = expected.paths[path];
    const before = was === undefined ? EMPTY : this.copyOf(expected, was);
    const after = now === undefined ? EMPTY : configFiles.get(path);
    if (before === null || after === undefined) return false;
    // A copy read back and a file just fingerprinted have these hashes already.
    const listings = await this.listings([
      { key: was ?? EMPTY_VALUE, bytes: before },
      { key: now ?? EMPTY_VALUE, bytes: after },
    ]);
    return listings !== null && sameGuardedEntries(listings[0], listings[1]);
  }

  private copyOf(expected: GitConfigFingerprint, value: string): Buffer | null {
    return expected.copies === undefined ? null : this.copies.read(expected.copies, value);
  }

  /**
   * What `git config --file <file> --list -z` lists of each of `files` (includes are not followed
   * with `--file`), each given with its content's hash (`fileValue`), from `listed` where those
   * bytes were listed before; null when git could not read one (or could not run, or timed out).
   */
  private async listings(
    files: readonly { key: string; bytes: Buffer }[],
  ): Promise<string[][] | null> {
    const known = files.map((file) => this.listed.get(file.key));
    const unlisted = files.filter((_, i) => known[i] === undefined);
    const fetched =
      unlisted.length === 0 ? [] : await this.listWithGit(unlisted.map((file) => file.bytes));
    if (fetched === null) return null;
    let next = 0;
    const listings = known.map((entries) => entries ?? fetched[next++]);
    files.forEach((file, i) => this.keepListing(file.key, listings[i]));
    return listings;
  }

  /** Keeps `entries` as the newest listing; the least recently used goes past MAX_KEPT_LISTINGS. */
  private keepListing(key: string, entries: string[]): void {
    this.listed.delete(key);
    this.listed.set(key, entries);
    if (this.listed.size > MAX_KEPT_LISTINGS) {
      this.listed.delete(this.listed.keys().next().value as string);
    }
  }

  /**
   * `listings` by git, one process a file. The files are handed to git in a directory of the
   * server's; with RUN_AS_USER (git's user) it may read them through their group, never write
   * them.
   */
  private async listWithGit(files: readonly Buffer[]): Promise<string[][] | null> {
    const dir = childTempDir(NO_ISOLATION, LISTING_PREFIX);
    try {
      const names = files.map((bytes, i) => {
        const name = `config-${i}`;
        writeFileSync(join(dir, name), bytes, { mode: 0o600 });
        return name;
      });
      const who = this.isolation.identity;
      if (who !== null) {
        for (const path of [dir, ...names.map((name) => join(dir, name))]) {
          chownSync(path, process.geteuid?.() ?? 0, who.gid);
        }
        chmodSync(dir, 0o750);
        for (const name of names) chmodSync(join(dir, name), 0o640);
      }
      const listed: string[][] = [];
      for (const name of names) {
        const result = await this.git
          .run(['config', '--no-includes', '--file', name, '--list', '-z'], {
            cwd: dir,
            env: { GIT_CEILING_DIRECTORIES: dirname(dir) },
          })
          .catch((error: unknown) => {
            if (error instanceof GitCommandError) return null;
            throw error;
          });
        if (result === null || result.exitCode !== 0) return null;
        listed.push(configEntries(result.stdout));
      }
      return listed;
    } finally {
      await removeChildTempDir(dir);
    }
  }
}

const EMPTY = Buffer.alloc(0);
const EMPTY_VALUE = fileValue(EMPTY);
