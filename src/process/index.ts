export { BoundedBuffer } from 'src/process/bounded-buffer';
export { buildChildEnv, isAllowedChildEnvName, matchesEnvPattern } from 'src/process/child-env';
export {
  endProcess,
  groupWorksIn,
  isDirectoryInUse,
  isProcessAlive,
  isProcessGroupAlive,
  killProcessGroup,
  liveGroupMembers,
  processesMarkedWith,
  SpawnError,
} from 'src/process/process-group';
export type { ProcessEvent, ProcessSpec } from 'src/process/process-group';
export { WORK_DIR_MARKER } from 'src/process/host/host-protocol';
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
