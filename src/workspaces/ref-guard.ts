import { chmodSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import {
  CHILD_ISOLATION,
  ChildIsolation,
  childTempDir,
  NO_ISOLATION,
  readableBy,
  removeChildTempDir,
  removeOrphanedChildTempDirs,
} from 'src/process';

/** The name of the hooks directory starts so (`childTempDir`). */
const HOOKS_PREFIX = 'cta-hooks-';

/**
 * git's `reference-transaction` hook, run by the agent's git (through `core.hooksPath`), in the
 * "prepared" state of every ref update. In the task's repository (`CTA_GIT_DIR`, its common git
 * directory) it refuses to move or delete:
 *
 * - an existing branch, tag or note other than the task's own branch (`CTA_TASK_BRANCH`);
 * - `refs/replace` refs (they change what every worktree of the repository sees) and `refs/stash`
 *   (the user's stash, shared by every worktree: a `git stash pop` with nothing stashed would take
 *   the user's);
 * - HEAD and the other refs of a worktree that is not the task's (`CTA_WORKTREE`), such as the
 *   user's checkout reached with `git -C`.
 *
 * New branches and tags pass, and so do updates that change no ref's value: `git pack-refs` (run
 * by `git gc`, told by the hook's parent process), which packs every ref and deletes its loose
 * file, and an update to the value a ref has. The old value git passes is no guide: zero for an
 * update that does not name one. Other repositories (a project's tests making their own) are left
 * alone.
 */
export const REFERENCE_TRANSACTION_HOOK = `#!/bin/sh
# Installed by the Claude Task Automation Server for its agent's git (core.hooksPath).
[ "$1" = prepared ] || exit 0
# git pack-refs (git gc runs it) moves refs into packed-refs and deletes the loose files: no ref
# changes its value, though the deletions look like any other.
case " $(tr '\\0' ' ' < /proc/$PPID/cmdline 2>/dev/null)" in *" pack-refs "*) exit 0 ;; esac
common=$(git rev-parse --git-common-dir 2>/dev/null) || exit 0
[ "$(cd "$common" 2>/dev/null && pwd -P)" = "$CTA_GIT_DIR" ] || exit 0
top=$(git rev-parse --show-toplevel 2>/dev/null)
own=no
[ -n "$top" ] && [ "$(cd "$top" 2>/dev/null && pwd -P)" = "$CTA_WORKTREE" ] && own=yes
status=0
while read -r _old new ref; do
  case "$ref" in
    "$CTA_TASK_BRANCH") continue ;;
    refs/replace/* | refs/stash) ;;
    refs/heads/* | refs/tags/* | refs/notes/*)
      git show-ref --verify --quiet "$ref" || continue ;;
    refs/*) continue ;;
    *) [ "$own" = yes ] && continue ;;
  esac
  [ "$(git rev-parse -q --verify "$ref" 2>/dev/null)" = "$new" ] && continue
  echo "error: this task may move only its own branch, \${CTA_TASK_BRANCH#refs/heads/}, and the refs of its own worktree; $ref is the repository's" >&2
  status=1
done
exit $status
`;

/**
 * git's `pre-push` hook, run by the agent's git (through `core.hooksPath`): refuses every push
 * from the task's repository (`CTA_GIT_DIR`) and every push into it from another one (a clone the
 * agent made, pushing to its origin). A push to the repository itself (`git push .
 * HEAD:main`) is received by a `git receive-pack` that reads none of the agent's git settings,
 * so the reference-transaction hook would never see it; a push to the project's remote would
 * publish the unreviewed change with the server's credentials. Pushes between other repositories
 * (a project's tests making their own) are left alone.
 */
export const PRE_PUSH_HOOK = `#!/bin/sh
# Installed by the Claude Task Automation Server for its agent's git (core.hooksPath).
common_of() {
  (unset GIT_DIR GIT_WORK_TREE GIT_COMMON_DIR GIT_INDEX_FILE
   cd "$1" 2>/dev/null && common=$(git rev-parse --git-common-dir 2>/dev/null) &&
   cd "$common" 2>/dev/null && pwd -P)
}
here=$(git rev-parse --git-common-dir 2>/dev/null) && here=$(cd "$here" 2>/dev/null && pwd -P)
there=$(common_of "\${2#file://}")
[ "$here" = "$CTA_GIT_DIR" ] || [ "$there" = "$CTA_GIT_DIR" ] || exit 0
echo "error: this task may not push from or into its repository (to $2): its change is reviewed and merged through the server" >&2
exit 1
`;

/**
 * THE AGENT'S GIT MAY NOT MOVE THE USER'S REFS. A task's worktree shares the repository's
 * branches: an agent's `git update-ref refs/heads/main ...` (or `git branch -f`, `git replace`)
 * in it would change the user's repository, whatever becomes of the task. `envFor` gives the
 * agent's environment the settings (`GIT_CONFIG_*`, which no repository configuration outranks)
 * that make its git run `REFERENCE_TRANSACTION_HOOK` and `PRE_PUSH_HOOK`, installed once in a
 * directory of the server's that the agent's user may read but not change. The tests run in the
 * workspace get the same environment (the agent wrote them). It stops a mistake or a plain command;
 * an agent set on it can still write the repository's files itself (what RUN_AS_USER and
 * SANDBOX contain). The repository's own hooks do not run for the agent's git.
 */
@Injectable()
export class RefGuard implements OnModuleDestroy {
  private readonly logger = new Logger('RefGuard');
  private hooksDir: string | null = null;

  constructor(@Inject(CHILD_ISOLATION) private readonly isolation: ChildIsolation) {}

  /**
   * The environment that guards the refs of the repository at `gitDir` (its common git
   * directory) but `branch` and those of the worktree at `worktree`.
   */
  envFor(branch: string, gitDir: string, worktree: string): Record<string, string> {
    return {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'core.hooksPath',
      GIT_CONFIG_VALUE_0: this.installed(),
      CTA_TASK_BRANCH: `refs/heads/${branch}`,
      CTA_GIT_DIR: gitDir,
      CTA_WORKTREE: realpathSync(worktree),
    };
  }

  /** Removes the hooks directories of servers that are gone (killed before they removed theirs). */
  async removeOrphans(): Promise<number> {
    return removeOrphanedChildTempDirs(HOOKS_PREFIX);
  }

  async onModuleDestroy(): Promise<void> {
    if (this.hooksDir !== null) await removeChildTempDir(this.hooksDir);
    this.hooksDir = null;
  }

  private installed(): string {
    if (this.hooksDir !== null) return this.hooksDir;
    const dir = childTempDir(NO_ISOLATION, HOOKS_PREFIX);
    const hook = join(dir, 'reference-transaction');
    writeFileSync(hook, REFERENCE_TRANSACTION_HOOK, { mode: 0o755 });
    chmodSync(hook, 0o755);
    writeFileSync(join(dir, 'pre-push'), PRE_PUSH_HOOK, { mode: 0o755 });
    chmodSync(join(dir, 'pre-push'), 0o755);
    chmodSync(dir, 0o755);
    this.hooksDir = dir;
    // git skips a hook it cannot run, without a word: say so once (a private TMPDIR, say).
    const who = this.isolation.identity;
    if (who !== null && !readableBy(hook, who)) {
      this.logger.warn(
        `${hook} cannot be read by RUN_AS_USER ${who.user}: the agent's git is not kept off the repository's other refs`,
      );
    }
    return dir;
  }
}
