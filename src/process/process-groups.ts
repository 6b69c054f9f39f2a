import { Injectable } from '@nestjs/common';
import { isProcessGroupAlive, killProcessGroup } from 'src/process/process-group';

/** Process groups behind an injectable, for the code that waits for or ends them. */
@Injectable()
export class ProcessGroups {
  isGroupAlive(pgid: number): boolean {
    return isProcessGroupAlive(pgid);
  }

  /** SIGINT, SIGTERM, SIGKILL `graceMs` apart; resolves when the group is gone. */
  endGroup(pgid: number, graceMs: number): Promise<void> {
    return killProcessGroup(pgid, graceMs);
  }
}
