import { Module } from '@nestjs/common';
import { ProcessGroups } from 'src/process/process-groups';
import { ProcessLauncher } from 'src/process/process-launcher';

/**
 * Child processes: started by the process host (`ProcessLauncher`) without a shell in their own
 * process group, their environment (`buildChildEnv`), bounded output, ending whole groups, and
 * the host's supervision of a task's processes by its lease.
 */
@Module({
  providers: [ProcessGroups, ProcessLauncher],
  exports: [ProcessGroups, ProcessLauncher],
})
export class ProcessModule {}
