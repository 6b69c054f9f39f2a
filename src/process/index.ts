export { BoundedBuffer } from 'src/process/bounded-buffer';
export { buildChildEnv, isAllowedChildEnvName, matchesEnvPattern } from 'src/process/child-env';
export {
  IsolationError,
  NO_ISOLATION,
  probeSandbox,
  readableBy,
} from 'src/process/child-isolation';
export type { ChildIdentity, ChildIsolation } from 'src/process/child-isolation';
export { childTempDir, readChildFile } from 'src/process/child-files';
export {
  CHILD_ISOLATION,
  checkIsolation,
  isolationFromConfig,
  serverSecretFiles,
} from 'src/process/isolation-setup';
export type { IsolationVerdict } from 'src/process/isolation-setup';
export {
  groupWorksIn,
  isProcessAlive,
  isProcessGroupAlive,
  killProcessGroup,
  liveGroupMembers,
  runProcess,
  SpawnError,
} from 'src/process/process-group';
export type { ProcessEvent, ProcessSpec } from 'src/process/process-group';
export { ProcessGroups } from 'src/process/process-groups';
export { ProcessModule } from 'src/process/process.module';
export { checkWorkingDirectory, WorkingDirectoryGoneError } from 'src/process/working-directory';
