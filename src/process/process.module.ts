import { Module } from '@nestjs/common';
import { ProcessGroups } from 'src/process/process-groups';

/**
 * Child processes: spawning without a shell in their own process group (`runProcess`), their
 * environment (`buildChildEnv`), bounded output and ending whole groups.
 */
@Module({
  providers: [ProcessGroups],
  exports: [ProcessGroups],
})
export class ProcessModule {}
