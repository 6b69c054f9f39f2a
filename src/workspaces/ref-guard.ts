import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { childTempDir, NO_ISOLATION, orphanedChildTempDirs, removeChildTempDir } from 'src/process';

/** The name of the hooks directory starts so (`childTempDir`). */
const HOOKS_PREFIX = 'cta-hooks-';

/**
 * git's `reference-transaction` hook, run by the agent's git (through `core.hooksPath`), in the
 * "prepared" state of every ref update: in the task's repository (`CTA_GIT_DIR`, its common git
 * directory) it refuses to move or delete a branch, tag or note that exists, other than the
 * task's own branch (`CTA_TASK_BRANCH`), and any `refs/replace` ref (which would change what every
 * worktree of the repository sees). New branches and tags, and the worktree's own refs (HEAD),
 * pass. (The old value git passes is no guide: zero for an update that does not name one.) Other
 * repositories (a project's tests making repositories of their own) are left alone.
 */
export const REFERENCE_TRANSACTION_HOOK = `#!/bin/sh
# Installed by the Claude Task Automation Server for its agent's git (core.hooksPath).
[ "$1" = prepared ] || exit 0
common=$(git rev-parse --git-common-dir 2>/dev/null) || exit 0
[ "$(cd "$common" 2>/dev/null && pwd -P)" = "$CTA_GIT_DIR" ] || exit 0
status=0
while read -r _old _new ref; do
  case "$ref" in
    "$CTA_TASK_BRANCH") continue ;;
    refs/replace/*) ;;
    refs/heads/* | refs/tags/* | refs/notes/*)
      git show-ref --verify --quiet "$ref" || continue ;;
    *) continue ;;
  esac
  echo "error: this task may move only its own branch, \${CTA_TASK_BRANCH#refs/heads/}; $ref is the repository's" >&2
  status=1
done
exit $status
`;

/**
 * THE AGENT'S GIT MAY NOT MOVE THE USER'S REFS. A task's worktree shares the repository's
 * branches: an agent's `git update-ref refs/heads/main ...` (or `git branch -f`, `git replace`)
 * in it would change the user's repository, whatever becomes of the task. `envFor` gives the
 * agent's environment the settings (`GIT_CONFIG_*`, which no repository configuration outranks)
 * that make its git run `REFERENCE_TRANSACTION_HOOK`, installed once in a directory of the
 * server's that the agent's user may read but not change. It stops a mistake or a plain command;
 * an agent set on it can still write the repository's files itself (what RUN_AS_USER and
 * SANDBOX contain). The repository's own hooks do not run for the agent's git.
 */
@Injectable()
export class RefGuard implements OnModuleDestroy {
  private hooksDir: string | null = null;

  /** The environment that guards the refs of the repository at `gitDir` but `branch`. */
  envFor(branch: string, gitDir: string): Record<string, string> {
    return {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'core.hooksPath',
      GIT_CONFIG_VALUE_0: this.installed(),
      CTA_TASK_BRANCH: `refs/heads/${branch}`,
      CTA_GIT_DIR: gitDir,
    };
  }

  /** Removes the hooks directories of servers that are gone (killed before they removed theirs). */
  async removeOrphans(): Promise<number> {
    const orphans = orphanedChildTempDirs(HOOKS_PREFIX);
    for (const dir of orphans) await removeChildTempDir(dir);
    return orphans.length;
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
    chmodSync(dir, 0o755);
    this.hooksDir = dir;
    return dir;
  }
}
