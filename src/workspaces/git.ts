import { existsSync } from 'node:fs';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { AppConfig } from 'src/config';
import {
  buildChildEnv,
  CHILD_ISOLATION,
  ChildIsolation,
  ProcessLauncher,
  SpawnError,
  withoutCliSettings,
} from 'src/process';
import { EmptyDirectory } from 'src/workspaces/empty-directory';

/**
 * Settings every git command of the server runs with, whatever the user's configuration says:
 *
 * - `core.hooksPath=/dev/null`: none of the repository's hooks run. The commits, worktrees and
 *   merges the server makes are its own bookkeeping; a user's pre-commit hook (a linter, a test
 *   run, a prompt) would run unattended on the agent's work, could hang or fail, and would run
 *   code from the repository with the server's rights. Review happens at the merge, by a person.
 * - no signing (a key agent may prompt), no filesystem monitor daemon, no automatic gc or
 *   maintenance (a background process that would outlive the command), no submodule recursion
 *   (it would fetch), and diff output that does not depend on `diff.*` settings.
 * - `diff.ignoreSubmodules=dirty`: a status, diff or commit compares a gitlink's commit only, and
 *   runs no `git status` in the nested repository to see whether its files are dirty: that git
 *   reads the nested repository's own configuration, the agent's to write, and would run its
 *   clean filter outside any sandbox. (`git add` reads no such setting: `addAll`.)
 * - `core.excludesFile=/dev/null`: what is part of a change is decided by the repository's own
 *   ignore rules (its `.gitignore` files and `info/exclude`), not by the server user's global
 *   ones, which the test-file finder's git does not see in a sandbox (`FINDER_GIT_SETTINGS`): the
 *   commit must hold exactly the tree the tests ran against.
 * - `core.attributesFile=/dev/null`: no global attributes either (`~/.config/git/attributes` is
 *   read without any setting naming it). They live in the HOME the agent shares with this git
 *   (RUN_AS_USER, ALLOW_ROOT), and could hide a file's diff (`-diff`) or apply a smudge filter
 *   in the merge's update of the user's checkout. The global configuration is not read at all
 *   (`gitEnv`).
 */
export const GIT_SETTINGS: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.quotepath=false',
  'core.excludesFile=/dev/null',
  'core.attributesFile=/dev/null',
  'color.ui=false',
  'gc.auto=0',
  'maintenance.auto=false',
  'commit.gpgSign=false',
  'submodule.recurse=false',
  'diff.ignoreSubmodules=dirty',
  'diff.noprefix=false',
  'diff.mnemonicPrefix=false',
  'diff.relative=false',
].flatMap((setting) => ['-c', setting]);

/** Prefix of the empty directory commands on a repository run in (`Git`). */
const REPOSITORY_CWD_PREFIX = 'cta-git-cwd-';

/** Longest stdout kept by default (a diff or a listing); more is reported as `truncated`. */
const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Longest stderr kept. */
const MAX_STDERR_BYTES = 64 * 1024;

export interface GitOptions {
  /**
   * Directory git runs in: a workspace. With `gitDir` alone (callers give the git directory here)
   * git runs in an empty directory of the server's instead (see `Git`); with `workTree` too, here
   * (in that work tree: paths and `--show-prefix` are read from where it runs).
   */
  cwd: string;
  /**
   * Run against this git directory without a work tree (`--git-dir`): for commands on the
   * repository itself (refs, worktrees, diffs of commits, merges), which then cannot touch any
   * checkout.
   */
  gitDir?: string;
  /**
   * With `gitDir`, the work tree it belongs to (`--work-tree`): git then reads neither the
   * checkout's `.git` file nor a `.git` on the way to it, which are the agent's to write.
   */
  workTree?: string;
  /** Extra environment (e.g. `GIT_INDEX_FILE`). */
  env?: Record<string, string>;
  /** stdout kept at most; the command is stopped once it printed more (`truncated`). */
  maxOutputBytes?: number;
  /**
   * Takes stdout as it comes instead of keeping it (the result's stdout is then empty and
   * `maxOutputBytes` does not apply): for output too long to hold, read once.
   */
  onStdout?: (chunk: Buffer) => void;
}

export interface GitResult {
  /** Exit code; null when the command was stopped (output over the limit) or ended by a signal. */
  exitCode: number | null;
  stdout: Buffer;
  stderr: string;
  /** stdout went past `maxOutputBytes`: the first `maxOutputBytes + 1` bytes are kept. */
  truncated: boolean;
}

/** A git command that could not run, timed out, or failed where success was required. */
export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    message: string,
    readonly result: GitResult | null = null,
  ) {
    super(message);
    this.name = 'GitCommandError';
  }
}

/**
 * THE ONLY WAY THE SERVER RUNS GIT. Every call is started by the process host (`ProcessLauncher`:
 * argv, no shell, its own process group, stdin closed) with the allowlisted environment,
 * `LC_ALL=C`, no prompts, no optional index writes (`GIT_OPTIONAL_LOCKS=0`: reading a status never
 * rewrites an index), the repository's real objects (`GIT_NO_REPLACE_OBJECTS=1`: a
 * `refs/replace/` ref the agent made, shared by every worktree, cannot swap the base commit's
 * tree, so the diff, the checks and the merge see the whole change), no global configuration,
 * the configured author and committer, the fixed settings above and
 * GIT_TIMEOUT_SECONDS.
 *
 * A command on a repository (`gitDir`) runs in an empty directory of the server's
 * (`EmptyDirectory`), not in the git directory: git takes the directory it runs in for the top of
 * a work tree and reads attributes from it (`.gitattributes` there, and in each directory of a
 * path: `src/.gitattributes`), in `git diff <base> <head>` and `git merge-tree` too. In the git
 * directory, which an agent that is not sandboxed can write, and whose fingerprint holds only
 * its configuration files, `hooks/` and `info/`, such a file would hide every file's diff as binary (`-diff`)
 * and turn a merge's conflict into both sides' lines (`merge=union`), none of it in the change.
 */
@Injectable()
export class Git implements OnModuleDestroy {
  private readonly isolation: ChildIsolation;
  /** Built once: the server's environment does not change while it runs. */
  private readonly baseEnv: NodeJS.ProcessEnv;
  /** Where commands on a repository run. */
  private readonly repositoryCwd = new EmptyDirectory(REPOSITORY_CWD_PREFIX);

  constructor(
    private readonly config: AppConfig,
    private readonly launcher: ProcessLauncher,
    @Inject(CHILD_ISOLATION) isolation: ChildIsolation,
  ) {
    // As the children's user (the workspace's files are the agent's), never in the sandbox: git
    // writes the repository's own directory, which the sandbox hides.
    this.isolation = { identity: isolation.identity, sandbox: null };
    this.baseEnv = gitEnv(process.env, config);
  }

  /** The user git runs as: RUN_AS_USER, else the server's. */
  get uid(): number {
    return this.isolation.identity?.uid ?? process.geteuid?.() ?? -1;
  }

  /** Removes the directories commands on a repository ran in that servers which are gone left. */
  removeOrphans(): Promise<number> {
    return this.repositoryCwd.removeOrphans();
  }

  async onModuleDestroy(): Promise<void> {
    await this.repositoryCwd.remove();
  }

  /** Runs `git <args>`; resolves with whatever exit code it had. */
  run(args: readonly string[], options: GitOptions): Promise<GitResult> {
    if (options.gitDir !== undefined && !existsSync(options.gitDir)) {
      return Promise.reject(new GitCommandError(args, directoryGone(args, options.gitDir)));
    }
    const onRepository = options.gitDir !== undefined && options.workTree === undefined;
    const cwd = onRepository ? this.repositoryCwd.path() : options.cwd;
    const argv = [
      ...GIT_SETTINGS,
      ...(options.gitDir !== undefined ? [`--git-dir=${options.gitDir}`] : []),
      ...(options.workTree !== undefined ? [`--work-tree=${options.workTree}`] : []),
      ...args,
    ];
    const maxBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const timeoutMs = this.config.GIT_TIMEOUT_SECONDS * 1000;
    return new Promise<GitResult>((resolve, reject) => {
      const stdout: Buffer[] = [];
      let stdoutBytes = 0;
      let stderr = '';
      let settled = false;
      const subscription = new Subscription();
      const done = (finish: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        subscription.unsubscribe();
        finish();
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(new GitCommandError(args, `git ${args[0]} timed out after ${timeoutMs} ms`)),
          ),
        timeoutMs,
      );
      const child = this.launcher
        .run({
          command: 'git',
          args: argv,
          cwd,
          env: options.env === undefined ? this.baseEnv : { ...this.baseEnv, ...options.env },
          killGraceMs: 1000,
          isolation: this.isolation,
        })
        .subscribe({
          next: (event) => {
            if (event.type === 'stdout' && options.onStdout !== undefined) {
              options.onStdout(event.chunk);
            } else if (event.type === 'stdout') {
              stdout.push(event.chunk);
              stdoutBytes += event.chunk.length;
              if (stdoutBytes > maxBytes) {
                done(() =>
                  resolve({
                    exitCode: null,
                    stdout: Buffer.concat(stdout).subarray(0, maxBytes + 1),
                    stderr,
                    truncated: true,
                  }),
                );
              }
            } else if (event.type === 'stderr') {
              if (stderr.length < MAX_STDERR_BYTES) stderr += event.chunk.toString('utf8');
            } else if (event.type === 'exit') {
              const exitCode = event.code;
              done(() =>
                resolve({ exitCode, stdout: Buffer.concat(stdout), stderr, truncated: false }),
              );
            }
          },
          error: (error: unknown) =>
            done(() => reject(new GitCommandError(args, couldNotRun(args, cwd, error)))),
        });
      // Added after subscribing: if the command already ended, this ends what is left of it.
      subscription.add(child);
    });
  }

  /** Runs `git <args>` and returns its stdout (utf8, trailing newline removed); throws unless it exits 0. */
  async text(args: readonly string[], options: GitOptions): Promise<string> {
    const result = await this.run(args, options);
    if (result.exitCode !== 0) throw failure(args, result);
    return result.stdout.toString('utf8').replace(/\n$/, '');
  }

  /** True when `git <args>` exits 0, false when it exits 1; throws on anything else. */
  async test(args: readonly string[], options: GitOptions): Promise<boolean> {
    const result = await this.run(args, options);
    if (result.exitCode === 0 || result.exitCode === 1) return result.exitCode === 0;
    throw failure(args, result);
  }
}

/**
 * The environment of every git call: the allowlisted part of the server's (`buildChildEnv`)
 * without the CLI's credentials (`withoutCliSettings`: git runs outside the sandbox, and so do
 * the filters and hooks it runs), a C locale, no prompts, no optional locks or replace objects,
 * the configured author, and no global configuration: git runs as the children's user, with the
 * HOME the agent writes (RUN_AS_USER, ALLOW_ROOT), where a filter, an attributes file or
 * `core.fsmonitor` of its own would run in the server's git, and nothing there is in the reviewed
 * diff. The server needs nothing from there: its identity is set here, the settings it depends
 * on are `GIT_SETTINGS`, and the repository's own configuration (checked against the task's
 * fingerprint) is read as ever. The system configuration (`/etc/gitconfig`) is read: only root writes it, and an agent
 * running as root (ALLOW_ROOT without RUN_AS_USER) has the machine anyway; it is where an
 * operator sets `safe.directory` for repositories owned by another user, or git-lfs's filter.
 */
export function gitEnv(parent: NodeJS.ProcessEnv, config: AppConfig): NodeJS.ProcessEnv {
  const name = config.COMMIT_AUTHOR_NAME;
  const email = config.COMMIT_AUTHOR_EMAIL;
  const env = buildChildEnv(parent, {
    GIT_CONFIG_GLOBAL: '/dev/null',
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_NO_REPLACE_OBJECTS: '1',
    GIT_AUTHOR_NAME: name,
    GIT_AUTHOR_EMAIL: email,
    GIT_COMMITTER_NAME: name,
    GIT_COMMITTER_EMAIL: email,
  });
  return withoutCliSettings(env);
}

/**
 * Why `git <args>` could not start in `cwd`: ENOENT is a missing directory as often as a missing
 * git (a repository or workspace removed meanwhile).
 */
function couldNotRun(args: readonly string[], cwd: string, error: unknown): string {
  if (!(error instanceof SpawnError) || error.code !== 'ENOENT') {
    return `git ${args[0]} could not run: ${String(error)}`;
  }
  return existsSync(cwd) ? 'git is not installed (not found on PATH)' : directoryGone(args, cwd);
}

/** Why `git <args>` could not run: the directory it was to work on is gone. */
function directoryGone(args: readonly string[], dir: string): string {
  return `git ${args[0]} could not run: the directory ${dir} no longer exists`;
}

/** The error for a git command that did not exit 0: its first stderr lines. */
export function failure(args: readonly string[], result: GitResult): GitCommandError {
  const stderr = result.stderr.trim().split('\n').slice(0, 5).join(' / ');
  return new GitCommandError(
    args,
    `git ${args[0]} failed (exit ${result.exitCode ?? 'stopped'}): ${stderr || 'no message'}`,
    result,
  );
}
