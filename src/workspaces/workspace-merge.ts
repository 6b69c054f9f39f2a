import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { DomainError, ErrorCode } from 'src/common';
import { isDirectoryInUse } from 'src/process';
import { branchOperation } from 'src/workspaces/branch-operation';
import { failure, Git, GitOptions } from 'src/workspaces/git';
import { GitConfigFingerprint } from 'src/workspaces/git-config-fingerprint';
import { MergeJournal, MergeUnderWay } from 'src/workspaces/merge-journal';
import { RepositoryLocks } from 'src/workspaces/repository-locks';
import { WorkspaceRoot } from 'src/workspaces/workspace-root';
import { WorkspacesService } from 'src/workspaces/workspaces.service';

export const MERGE_STRATEGIES = ['merge', 'squash', 'fast_forward'] as const;

export type MergeStrategy = (typeof MERGE_STRATEGIES)[number];

export interface MergeRequest {
  gitDir: string;
  /** The task's base commit: the review showed the change from it to `source`. */
  base: string;
  /** The commit to merge (the task's head). */
  source: string;
  /** The task's branch (never a target). */
  sourceBranch: string;
  /** The branch to merge into (`main`, not `refs/heads/main`). */
  target: string;
  strategy: MergeStrategy;
  /** Message of the merge or squash commit. */
  message: string;
  /**
   * The repository's git configuration as the task's workspace was ready for its agent (the
   * task's fingerprint): a merge through any other is refused, the user's own settings aside.
   * Null: not checked (a task from before fingerprints, or whose setup command never passed).
   */
  gitConfig: GitConfigFingerprint | null;
  /** The target's commit the caller saw (refused when it is elsewhere); null: not checked. */
  expectedTarget: string | null;
}

export interface MergeOutcome {
  /** The target's new commit: the merge or squash commit, or the source for a fast-forward. */
  commit: string;
  /** The target's commit before. */
  previous: string;
  /** The working tree that has the target checked out and was updated with it, if any. */
  updatedWorktree: string | null;
  /**
   * The task's branch's commit when the branch moved from the source (commits made after the
   * review): what it holds besides was not merged. Null when the branch is at the source.
   */
  branchAhead: string | null;
  /**
   * The target held the source already (merged by hand, or by a merge whose server died before
   * it was recorded): nothing changed, and `commit` is the target's commit.
   */
  alreadyMerged: boolean;
}

/**
 * The caller's records of a merge, kept under the repository's lock with the merge itself, so that
 * two requests to merge one task cannot both merge: `ensure` runs before git is asked anything
 * (it throws when the merge is refused, as one already recorded is), `record` once the target
 * moved.
 */
export interface MergeRecords {
  ensure(): Promise<void>;
  record(outcome: MergeOutcome): Promise<unknown>;
}

const refused = (message: string, reason: string, details: Record<string, unknown> = {}) =>
  new DomainError(ErrorCode.MergeRefused, message, { reason, ...details });

/** Conflicted paths from `git merge-tree --write-tree --name-only -z` (after the tree id). */
export function parseConflictedFiles(output: string): string[] {
  const fields = output.split('\0');
  const files: string[] = [];
  for (let i = 1; i < fields.length && fields[i] !== ''; i += 1) {
    if (!files.includes(fields[i])) files.push(fields[i]);
  }
  return files;
}

/**
 * MERGING A TASK'S BRANCH, without a working tree: `git merge-tree --write-tree` computes the
 * result, `git commit-tree` makes the merge (or squash) commit and `git update-ref <target> <new>
 * <old>` moves the target only if nothing else moved it. A conflict changes nothing (409 with the
 * files). A target that holds the source already changes nothing either and is answered as
 * merged (`alreadyMerged`: merged by hand, or by a merge whose record a restart cut off). Only
 * what the review showed is merged: a target that does not hold the task's base commit, or a head
 * that does not descend from it, is refused (`assertOnlyReviewed`), and so is a target that is a
 * symbolic ref or that a worktree is rebasing or bisecting. All of it holds the repository's
 * lock. Before git is asked anything, the repository's git
 * configuration is compared with the task's fingerprint of it: changed, nothing is merged (409
 * `git_config_changed`).
 *
 * When the target is checked out in a working tree (the user's checkout), that tree is updated
 * too, so that it does not suddenly look changed: only when it has no changes to tracked files
 * and nothing untracked where the merge adds a file (else 409 `working_tree_dirty`), with
 * `git read-tree -m -u <old> <new>` (which refuses to overwrite anything else), and back again
 * should the ref update fail. A target checked out in a
 * task's workspace is refused.
 *
 * A server killed between moving that tree and moving the ref leaves them disagreeing; the merge
 * records what it does first (`MergeJournal`), and the next merge into the repository settles
 * it before anything else (`settleInterrupted`): a ref that moved, or a checkout back in step
 * with its ref, needs nothing; a checkout moved whole to the result under the old ref is put back
 * (`read-tree -m -u <result> <old>`, refusing to overwrite anything); a checkout holding part of
 * the change is left to the user, and merges into its branch are refused
 * (`merge_interrupted`, saying how to put it back) until it holds no changes to tracked files
 * and none of the files the change adds (a move cut off before git wrote the index has written
 * only new files).
 */
@Injectable()
export class WorkspaceMergeService {
  private readonly logger = new Logger('WorkspaceMerge');

  constructor(
    private readonly git: Git,
    private readonly locks: RepositoryLocks,
    private readonly workspaces: WorkspacesService,
    private readonly root: WorkspaceRoot,
  ) {}

  merge(request: MergeRequest, records: MergeRecords): Promise<MergeOutcome> {
    return this.locks.withLock(request.gitDir, async () => {
      await records.ensure();
      const outcome = await this.mergeLocked(request);
      await records.record(outcome);
      return outcome;
    });
  }

  private async mergeLocked(request: MergeRequest): Promise<MergeOutcome> {
    const repo: GitOptions = { cwd: request.gitDir, gitDir: request.gitDir };
    const { target, source } = request;
    await this.assertGitConfigUnchanged(request);
    const journal = new MergeJournal(request.gitDir);
    await this.settleInterrupted(journal, request);
    const targetRef = `refs/heads/${target}`;
    const valid = await this.git.test(['check-ref-format', targetRef], repo);
    if (valid) await this.refuseSymbolicTarget(target, repo);
    const previous = valid ? await this.workspaces.tip(request.gitDir, target) : null;
    if (previous === null || target === request.sourceBranch) {
      throw new DomainError(
        ErrorCode.MergeTargetInvalid,
        target === request.sourceBranch
          ? `${target} is the task's own branch`
          : `There is no branch ${target} to merge into`,
        { target_branch: target },
      );
    }
    if (await this.git.test(['merge-base', '--is-ancestor', source, previous], repo)) {
      return this.alreadyMerged(request, previous);
    }
    if (request.expectedTarget !== null && request.expectedTarget.toLowerCase() !== previous) {
      throw refused(
        `${target} is at ${previous}, not at the expected ${request.expectedTarget}: it moved since; nothing was merged`,
        'target_changed',
        { target_commit: previous },
      );
    }
    await this.assertOnlyReviewed(request, previous, repo);
    this.assertNoOperationOn(request.gitDir, target);
    const holder = (await this.workspaces.worktrees(request.gitDir)).find(
      (w) => w.branch === targetRef,
    );
    if (holder !== undefined && this.root.contains(holder.path)) {
      throw refused(
        `${target} is checked out in the task workspace ${holder.path}`,
        'target_in_workspace',
      );
    }
    if (holder !== undefined && !existsSync(holder.path)) {
      // Gone for good (removed) or for now (a disk unmounted): git cannot tell, and neither can we.
      throw new DomainError(
        ErrorCode.WorkspaceUnavailable,
        `${target} is checked out in ${holder.path}, which does not exist now: git keeps it registered until it is back (a disk unmounted) or \`git -C ${request.gitDir} worktree prune\` forgets it (it was removed); merge again then`,
        { worktree: holder.path },
      );
    }
    if (holder !== undefined) await this.assertClean(holder.path, target);
    const commit = await this.result(request, previous, repo);
    if (commit === previous) return this.alreadyMerged(request, previous);
    if (holder !== undefined) {
      await this.assertNothingInTheWay(holder.path, target, previous, commit, repo);
      journal.write({ worktree: holder.path, target, previous, commit });
      await this.updateWorktree(holder.path, previous, commit, target, journal);
    }
    const moved = await this.git.run(
      [
        'update-ref',
        '-m',
        `cta: ${request.strategy} ${request.sourceBranch}`,
        '--no-deref',
        targetRef,
        commit,
        previous,
      ],
      repo,
    );
    if (moved.exitCode !== 0) {
      if (holder !== undefined) {
        await this.updateWorktree(holder.path, commit, previous, target, null);
        journal.clear();
      }
      throw refused(`${target} moved while the merge was made; try again`, 'target_moved');
    }
    if (holder !== undefined) journal.clear();
    return {
      commit,
      previous,
      updatedWorktree: holder?.path ?? null,
      branchAhead: await this.branchAhead(request),
      alreadyMerged: false,
    };
  }

  /**
   * 409 `git_config_changed` naming the files when the repository's git configuration, hooks or
   * `info/` files are not what the task's fingerprint recorded, before git is asked anything: a
   * merge driver or a smudge filter set there would run in the merge and in the checkout it
   * updates, and none of it is in the diff that was reviewed.
   */
  private assertGitConfigUnchanged(request: MergeRequest): Promise<void> {
    return this.workspaces.refuseChangedGitConfig(
      request.gitDir,
      request.gitConfig,
      `nothing was merged. Look at those files; if the change is yours, merge ${request.sourceBranch} with git yourself`,
    );
  }

  /**
   * 400 `merge_target_invalid` for a target that is a symbolic ref (`refs/heads/master` naming
   * `refs/heads/main`): `update-ref` would move the branch it names, whose checkout is looked up
   * by name and would be found under neither, so a checked-out branch would move under its
   * checkout, unchecked and not updated (the user's next commit reverting the merge). The
   * branch it names is the one to merge into.
   */
  private async refuseSymbolicTarget(target: string, repo: GitOptions): Promise<void> {
    const symbolic = await this.git.run(['symbolic-ref', '-q', `refs/heads/${target}`], repo);
    if (symbolic.exitCode !== 0) return;
    const to = symbolic.stdout.toString('utf8').trim();
    throw new DomainError(
      ErrorCode.MergeTargetInvalid,
      `${target} is a symbolic ref to ${to}: merge into ${to.replace(/^refs\/heads\//, '')} itself`,
      { target_branch: target, symbolic_ref_to: to },
    );
  }

  /**
   * 409 `merge_refused` (`target_being_rebased`, `target_being_bisected`) while a worktree of the
   * repository rebases or bisects the target (`branchOperation`), which git itself refuses to
   * move then: a rebase's last step would fail on a branch moved meanwhile, its user stuck.
   */
  private assertNoOperationOn(gitDir: string, target: string): void {
    const found = branchOperation(gitDir, target);
    if (found === null) return;
    const [being, ends] =
      found.operation === 'rebase'
        ? ['rebased', '`git rebase --continue` or `git rebase --abort`']
        : ['bisected', '`git bisect reset`'];
    throw refused(
      `${target} is being ${being} in a worktree of the repository (${found.file} says so); nothing was merged. Merge again once it has ended (${ends})`,
      `target_being_${being}`,
      { file: found.file },
    );
  }

  /**
   * 409 `merge_refused` unless the merge can add to the target nothing but the change the review
   * showed, `git diff <base> <source>`. git merges (and fast-forwards) from the commits' own merge
   * base, not from the task's base: a target that does not hold the base (a task based on another
   * branch, a target reset since the task started) would also receive every commit between the
   * two (`base_not_in_target`), and a head that does not descend from the base (a branch the
   * agent rebuilt on an older commit) would bring back what the target changed since that older
   * commit, a revert undone (`head_not_from_base`). With the base in both, git's merge base is
   * the base or a later commit both hold, and the merge adds what the head changed since then.
   */
  private async assertOnlyReviewed(
    request: MergeRequest,
    previous: string,
    repo: GitOptions,
  ): Promise<void> {
    const { base, source, target } = request;
    const details = { base_commit: base, head_commit: source, target_commit: previous };
    if (!(await this.git.test(['merge-base', '--is-ancestor', base, previous], repo))) {
      throw refused(
        `${target} does not hold the task's base commit ${base}: merging would bring in the commits between them besides the change that was reviewed (the diff against ${base}); nothing was merged. Merge into a branch that holds the base commit, or merge with git yourself`,
        'base_not_in_target',
        details,
      );
    }
    if (!(await this.git.test(['merge-base', '--is-ancestor', base, source], repo))) {
      throw refused(
        `The task's head commit ${source} does not descend from its base commit ${base} (its branch was rebuilt on another commit): merging would not be the change that was reviewed; nothing was merged`,
        'head_not_from_base',
        details,
      );
    }
  }

  /** The target holds the change already (at `previous`): nothing changes. */
  private async alreadyMerged(request: MergeRequest, previous: string): Promise<MergeOutcome> {
    const branchAhead = await this.branchAhead(request);
    return { commit: previous, previous, updatedWorktree: null, branchAhead, alreadyMerged: true };
  }

  /** The task's branch's commit when it is past the source; null when it is at it. */
  private async branchAhead(request: MergeRequest): Promise<string | null> {
    const branch = await this.workspaces.tip(request.gitDir, request.sourceBranch);
    return branch !== null && branch !== request.source ? branch : null;
  }

  /**
   * The target's new commit for the strategy (nothing is changed yet); `previous` itself when a
   * squash would change nothing.
   */
  private async result(request: MergeRequest, previous: string, repo: GitOptions): Promise<string> {
    const { source, target } = request;
    if (request.strategy === 'fast_forward') {
      if (!(await this.git.test(['merge-base', '--is-ancestor', previous, source], repo))) {
        throw new DomainError(
          ErrorCode.MergeNotFastForward,
          `${target} has commits the task's branch does not have: it cannot be fast-forwarded; merge or squash instead`,
          { target_branch: target, target_commit: previous },
        );
      }
      return source;
    }
    const merged = await this.git.run(
      ['merge-tree', '--write-tree', '--name-only', '-z', '--no-messages', previous, source],
      repo,
    );
    if (merged.exitCode === 1) {
      const files = parseConflictedFiles(merged.stdout.toString('utf8'));
      throw new DomainError(
        ErrorCode.MergeConflict,
        `Merging into ${target} conflicts in ${files.length} file(s): ${files.slice(0, 20).join(', ')}; nothing was changed`,
        { target_branch: target, files },
      );
    }
    if (merged.exitCode !== 0) throw failure(['merge-tree'], merged);
    const tree = merged.stdout.toString('utf8').split('\0')[0];
    // Squashed before (by hand, or by a merge whose record a restart cut off): the target's tree
    // holds the change, and a squash would be an empty commit.
    if (
      request.strategy === 'squash' &&
      tree === (await this.git.text(['rev-parse', `${previous}^{tree}`], repo))
    ) {
      return previous;
    }
    const parents =
      request.strategy === 'merge' ? ['-p', previous, '-p', source] : ['-p', previous];
    return this.git.text(['commit-tree', tree, ...parents, '-m', request.message], repo);
  }

  /**
   * Settles what a merge that a killed server cut off left in the checkout of its target (see the
   * class), before this merge asks git anything; the repository's lock is held, so no merge of
   * this repository runs now. Refuses this merge only when its target is that checkout's branch
   * and the checkout holds part of the change.
   */
  private async settleInterrupted(journal: MergeJournal, request: MergeRequest): Promise<void> {
    const cut = journal.read();
    if (cut === null) return;
    const state = await this.interruptedState(cut, request.gitDir);
    if (state === 'in_step') {
      journal.clear();
      return;
    }
    const { worktree, target, previous, commit } = cut;
    if (state === 'moved_whole') {
      try {
        await this.updateWorktree(worktree, commit, previous, target, null);
      } catch (error) {
        // Not this merge's checkout: it goes on, the checkout is put back by a later merge.
        if (target === request.target) throw error;
        this.logger.warn(`Putting ${worktree} back to ${previous} failed: ${String(error)}`);
        return;
      }
      journal.clear();
      this.logger.warn(
        `A merge into ${target} cut off by a stopped server had moved ${worktree} to ${commit} but not ${target}: the checkout was put back to ${previous}`,
      );
      return;
    }
    if (target !== request.target) return;
    throw refused(
      `A merge into ${target} was cut off (its server or its git was stopped) while it moved ${worktree} from ${previous} to ${commit}: ${target} was not moved, but the checkout holds part of the change. \`git -C ${worktree} status\` shows what; \`git -C ${worktree} reset --hard\` puts the tracked files back, and removing the new files it lists as untracked the rest. Merges into ${target} go ahead once the checkout holds no changes to tracked files and none of the files the change adds. The server knows of that merge from ${journal.path}, in the repository's git directory, which a task's agent can write too: if no merge of yours was cut off (those files are your own), remove that file instead`,
      'merge_interrupted',
      { worktree, previous_commit: previous, merge_commit: commit, journal: journal.path },
    );
  }

  /**
   * Where a cut-off merge left its target's checkout: `in_step` with its ref (the ref moved
   * after it, or the checkout holds no changes to tracked files and none of the files the change
   * adds: never touched, put back; or it is gone, or has another branch checked out now),
   * `moved_whole` (the old ref, and the index and tracked files exactly the merge's result), or
   * `part_way` (anything else).
   */
  private async interruptedState(
    cut: MergeUnderWay,
    gitDir: string,
  ): Promise<'in_step' | 'moved_whole' | 'part_way'> {
    // Only a checkout of the repository that still has the target checked out is looked at: the
    // journal is a file in the repository, which the agent can write too.
    const holder = (await this.workspaces.worktrees(gitDir)).find(
      (w) => w.path === cut.worktree && w.branch === `refs/heads/${cut.target}`,
    );
    if (holder === undefined || !existsSync(holder.path)) return 'in_step';
    const tip = await this.workspaces.tip(gitDir, cut.target);
    if (tip === cut.commit) return 'in_step';
    const at = { cwd: cut.worktree };
    if (
      tip === cut.previous &&
      (await this.git.test(['diff', '--cached', '--quiet', cut.commit, '--'], at)) &&
      (await this.git.test(['diff', '--quiet'], at))
    ) {
      return 'moved_whole';
    }
    if ((await this.changedFiles(cut.worktree)).length > 0) return 'part_way';
    // A move cut off before git wrote the index leaves only new files: none was there before the
    // merge (`assertNothingInTheWay`), so any there now is the merge's.
    const repo = { cwd: gitDir, gitDir };
    const added = await this.addedPresent(cut.worktree, cut.previous, cut.commit, repo);
    return added.length === 0 ? 'in_step' : 'part_way';
  }

  /** The tracked files with changes in the tree at `path` (staged or not). */
  private async changedFiles(path: string): Promise<string[]> {
    const status = await this.git.text(['status', '--porcelain=v1', '-z', '--untracked-files=no'], {
      cwd: path,
    });
    const entries = status.split('\0');
    const files: string[] = [];
    for (let i = 0; i < entries.length; i += 1) {
      if (entries[i].length < 4) continue;
      files.push(entries[i].slice(3));
      if (entries[i][0] === 'R' || entries[i][0] === 'C') i += 1;
    }
    return files;
  }

  /** 409 `working_tree_dirty` unless the tree at `path` has no changes to tracked files. */
  private async assertClean(path: string, target: string): Promise<void> {
    const files = await this.changedFiles(path);
    if (files.length > 0) {
      throw new DomainError(
        ErrorCode.WorkingTreeDirty,
        `${target} is checked out in ${path}, which has uncommitted changes; commit or stash them, or merge into another branch`,
        { worktree: path, files: files.slice(0, 100) },
      );
    }
  }

  /**
   * 409 `working_tree_dirty` when a path the merge adds (or a directory it adds a file under) is
   * in the checkout at `path` already, untracked: `git read-tree -m -u` refuses to overwrite an
   * untracked file, but takes one the repository ignores as expendable, and would replace the
   * user's `.env` with the task's.
   */
  private async assertNothingInTheWay(
    path: string,
    target: string,
    previous: string,
    commit: string,
    repo: GitOptions,
  ): Promise<void> {
    const files = await this.addedPresent(path, previous, commit, repo);
    if (files.length > 0) {
      throw new DomainError(
        ErrorCode.WorkingTreeDirty,
        `${target} is checked out in ${path}, where the merge would overwrite untracked files (ignored ones too): ${files.slice(0, 20).join(', ')}; move them away, or merge into another branch`,
        { worktree: path, files: files.slice(0, 100) },
      );
    }
  }

  /**
   * What stands in the checkout at `path` (at `previous`) where the change from `previous` to
   * `commit` adds a file, and is not the change's to replace (`inTheWay`): the file itself, or
   * what is there instead of a directory on its way.
   */
  private async addedPresent(
    path: string,
    previous: string,
    commit: string,
    repo: GitOptions,
  ): Promise<string[]> {
    const added = await this.git.text(
      ['diff', '--name-only', '-z', '--no-renames', '--diff-filter=A', previous, commit],
      repo,
    );
    const present = new Set<string>();
    for (const file of added.split('\0').filter((f) => f !== '')) {
      const parts = file.split('/');
      for (let depth = 1; depth <= parts.length; depth += 1) {
        const rel = parts.slice(0, depth).join('/');
        const stat = lstatSync(join(path, rel), { throwIfNoEntry: false });
        if (stat === undefined) break;
        if (depth < parts.length && stat.isDirectory()) continue;
        if (await this.inTheWay(path, rel, stat.isDirectory(), previous, repo)) present.add(rel);
        break;
      }
    }
    return [...present];
  }

  /**
   * Whether what stands at `rel` in the checkout at `path`, where the change adds a file (at or
   * under it), is more than the change replaces. A file `previous` tracks there (a file the change
   * makes a directory), or a directory of files it tracks (one the change makes a file), the
   * change deletes, and `read-tree -m -u` replaces (the checkout has no changes to tracked files:
   * `assertClean`). Anything else is in the way: an untracked file, or a directory holding one,
   * ignored or not (`ls-files --others` without exclusions lists both), which `read-tree` refuses
   * to overwrite, or deletes without a word when the repository ignores it.
   */
  private async inTheWay(
    path: string,
    rel: string,
    isDirectory: boolean,
    previous: string,
    repo: GitOptions,
  ): Promise<boolean> {
    const tracked = await this.git.text(
      ['ls-tree', '-z', '--name-only', previous, '--', rel],
      repo,
    );
    if (tracked === '') return true;
    if (!isDirectory) return false;
    const others = await this.git.text(['ls-files', '--others', '-z', '--', `:(literal)${rel}`], {
      cwd: path,
    });
    return others !== '';
  }

  /**
   * Moves the checked-out tree at `path` from `from` to `to` (refusing to overwrite anything).
   * The target's ref moves only after this succeeded. Moving it to the merge's result, a git that
   * refused changed nothing, and the `journal` of the move is cleared (a git stopped may have
   * changed part of the tree: it stays); putting it back (`journal` null), the journal stays
   * until the tree is back.
   */
  private async updateWorktree(
    path: string,
    from: string,
    to: string,
    target: string,
    journal: MergeJournal | null,
  ): Promise<void> {
    // The index's record of each file's modification time made fresh first, as `git status`
    // does where it may write (the server's may not: GIT_OPTIONAL_LOCKS=0): read-tree takes a
    // file that was only touched for one with changes ("not uptodate").
    await this.git.run(['update-index', '-q', '--refresh'], { cwd: path });
    const result = await this.git.run(['read-tree', '-m', '-u', from, to], { cwd: path });
    if (result.exitCode !== null && result.exitCode !== 0) journal?.clear();
    if (result.exitCode === null && !result.truncated) {
      throw refused(
        `Updating ${path} was cut off (its git was stopped): ${target} was not moved, but the checkout may hold part of the change; \`git -C ${path} status\` shows what, \`git -C ${path} reset --hard\` and removing the new files it lists put it back`,
        'worktree_update_interrupted',
        { worktree: path },
      );
    }
    if (result.exitCode !== 0 && /index\.lock/.test(result.stderr)) {
      // Nobody works there: a git that was killed (with a server that was) left its lock.
      if (!isDirectoryInUse(path)) {
        throw refused(
          `${target} is checked out in ${path}, whose index.lock was left by a git process that was stopped (none runs there now); once you are sure no git runs there, remove the file \`git -C ${path} rev-parse --git-path index.lock\` names`,
          'worktree_lock_stale',
          { worktree: path },
        );
      }
      throw refused(
        `${target} is checked out in ${path}, where another git process holds the index (index.lock); try again once it is done`,
        'worktree_locked',
        { worktree: path },
      );
    }
    if (result.exitCode !== 0) {
      throw new DomainError(
        ErrorCode.WorkingTreeDirty,
        `${target} is checked out in ${path}, whose files would be overwritten: ${result.stderr.trim().split('\n')[0]}`,
        { worktree: path },
      );
    }
  }
}
