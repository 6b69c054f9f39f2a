export { BaseCheckout } from 'src/workspaces/base-checkout';
export type { BaseTestChange, ScratchCheckout } from 'src/workspaces/base-checkout';
export { gitPlaceOf } from 'src/workspaces/pinned-work-tree';
export type { GitPlace } from 'src/workspaces/pinned-work-tree';
export { Git, GitCommandError } from 'src/workspaces/git';
export { GitConfigGuard } from 'src/workspaces/git-config-guard';
export type { ProjectRepository } from 'src/workspaces/git-repository';
export { acquireLockFile, LockTimeoutError } from 'src/workspaces/lock-file';
export { RefGuard } from 'src/workspaces/ref-guard';
export { LOCK_FILE_NAME } from 'src/workspaces/repository-locks';
export { FILE_CHANGE_STATUSES, WorkspaceDiffService } from 'src/workspaces/workspace-diff';
export type {
  DiffTarget,
  FileChange,
  FileChangeStatus,
  WorkspaceDiff,
} from 'src/workspaces/workspace-diff';
export { WorkspaceError, WorkspaceMissingError } from 'src/workspaces/workspace-errors';
export { MERGE_STRATEGIES, WorkspaceMergeService } from 'src/workspaces/workspace-merge';
export type { MergeOutcome, MergeStrategy } from 'src/workspaces/workspace-merge';
export type { StrayBytecode } from 'src/workspaces/stray-bytecode';
export type { TestedTree } from 'src/workspaces/tested-tree';
export { WorkspaceUsage } from 'src/workspaces/workspace-usage';
export type { WorkspaceUsageSnapshot } from 'src/workspaces/workspace-usage';
export { WorkspacesModule } from 'src/workspaces/workspaces.module';
export { WorkspacesService } from 'src/workspaces/workspaces.service';
export type {
  ChangedSinceTested,
  CommitResult,
  PreparedWorkspace,
  RetireResult,
  TaskBase,
  WorkspaceRef,
  WorkspaceSpec,
} from 'src/workspaces/workspaces.service';
export type { GitConfigFingerprint } from 'src/workspaces/git-config-fingerprint';
export { GitConfigChangedError } from 'src/workspaces/workspace-errors';
