export { BoundedBuffer } from 'src/process/bounded-buffer';
export { closeInheritedDescriptors } from 'src/process/inherited-descriptors';
export { machineMonotonicMs } from 'src/process/machine-clock';
export {
  buildChildEnv,
  cliCredentials,
  isAllowedChildEnvName,
  matchesEnvPattern,
  withoutCliSettings,
} from 'src/process/child-env';
export {
  findOnPath,
  IsolationError,
  NO_ISOLATION,
  probeSandbox,
  readableBy,
  usableBy,
} from 'src/process/child-isolation';
export type { ChildIdentity, ChildIsolation } from 'src/process/child-isolation';
export {
  childTempDir,
  copyChildFile,
  filledChildTempDir,
  orphanedChildTempDirs,
  readChildFile,
  readChildFileAsync,
  readWholeChildFileAsync,
  removeChildTempDir,
  removeOrphanedChildTempDirs,
  rewriteChildFile,
} from 'src/process/child-files';
export {
  CHILD_ISOLATION,
  checkIsolation,
  isolationFromConfig,
  serverOwnPaths,
  serverSecretFiles,
} from 'src/process/isolation-setup';
export type { IsolationVerdict } from 'src/process/isolation-setup';
export {
  endProcess,
  groupWorksIn,
  isAtOrUnder,
  isDirectoryInUse,
  isProcessAlive,
  isProcessGroupAlive,
  killProcessGroup,
  liveGroupMembers,
  SpawnError,
} from 'src/process/process-group';
export { processesMarkedWith } from 'src/process/server-processes';
export type { ProcessEvent, ProcessSpec } from 'src/process/process-group';
export {
  currentProcess,
  isLocalProcess,
  isProcessGone,
  pidNamespace,
  processStartTime,
} from 'src/process/process-identity';
export type { ProcessIdentity } from 'src/process/process-identity';
export { ProcessGroups } from 'src/process/process-groups';
export { ProcessLauncher } from 'src/process/process-launcher';
export { ProcessModule } from 'src/process/process.module';
export { checkWorkingDirectory, WorkingDirectoryGoneError } from 'src/process/working-directory';
