import { Module } from '@nestjs/common';
import { AppConfig } from 'src/config';
import { CHILD_ISOLATION, isolationFromConfig } from 'src/process/isolation-setup';
import { ProcessGroups } from 'src/process/process-groups';
import { ProcessLauncher } from 'src/process/process-launcher';

/**
 * Child processes: started by the process host (`ProcessLauncher`) without a shell in their own
 * process group, their environment (`buildChildEnv`), the user and sandbox they run in
 * (`CHILD_ISOLATION`, from RUN_AS_USER and SANDBOX), bounded output, ending whole groups, and the
 * host's supervision of a task's processes by its lease.
 */
@Module({
  providers: [
    ProcessGroups,
    ProcessLauncher,
    { provide: CHILD_ISOLATION, inject: [AppConfig], useFactory: isolationFromConfig },
  ],
  exports: [ProcessGroups, ProcessLauncher, CHILD_ISOLATION],
})
export class ProcessModule {}
