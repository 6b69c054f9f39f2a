import { Module } from '@nestjs/common';
import { AppConfig } from 'src/config';
import { CHILD_ISOLATION, isolationFromConfig } from 'src/process/isolation-setup';
import { ProcessGroups } from 'src/process/process-groups';

/**
 * Child processes: spawning without a shell in their own process group (`runProcess`), their
 * environment (`buildChildEnv`), the user and sandbox they run in (`CHILD_ISOLATION`, from
 * RUN_AS_USER and SANDBOX), bounded output and ending whole groups.
 */
@Module({
  providers: [
    ProcessGroups,
    { provide: CHILD_ISOLATION, inject: [AppConfig], useFactory: isolationFromConfig },
  ],
  exports: [ProcessGroups, CHILD_ISOLATION],
})
export class ProcessModule {}
