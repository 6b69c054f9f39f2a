import { Module } from '@nestjs/common';
import { ProcessModule } from 'src/process';
import { TestRunnerModule } from 'src/test-runner';
import { BaseCheckout } from 'src/workspaces/base-checkout';
import { Git } from 'src/workspaces/git';
import { GitConfigCopies } from 'src/workspaces/git-config-copies';
import { GitConfigGuard } from 'src/workspaces/git-config-guard';
import { RefGuard } from 'src/workspaces/ref-guard';
import { RepositoryLocks } from 'src/workspaces/repository-locks';
import { WorkspaceDiffService } from 'src/workspaces/workspace-diff';
import { WorkspaceMergeService } from 'src/workspaces/workspace-merge';
import { WorkspaceRoot } from 'src/workspaces/workspace-root';
import { WorkspaceUsage } from 'src/workspaces/workspace-usage';
import { WorkspacesService } from 'src/workspaces/workspaces.service';

/**
 * Task workspaces: git worktrees (one per task and branch), their setup command, commits, diffs,
 * merges, removal, disk use and quota, the per-repository lock their git operations hold, and the
 * guard that keeps the agent's git off the user's refs.
 */
@Module({
  imports: [ProcessModule, TestRunnerModule],
  providers: [
    Git,
    GitConfigCopies,
    GitConfigGuard,
    RepositoryLocks,
    WorkspaceRoot,
    WorkspaceUsage,
    WorkspacesService,
    WorkspaceDiffService,
    WorkspaceMergeService,
    BaseCheckout,
    RefGuard,
  ],
  exports: [
    BaseCheckout,
    Git,
    GitConfigGuard,
    RefGuard,
    WorkspacesService,
    WorkspaceDiffService,
    WorkspaceMergeService,
    WorkspaceUsage,
  ],
})
export class WorkspacesModule {}
