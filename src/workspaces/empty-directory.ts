import { chmodSync, existsSync } from 'node:fs';
import {
  childTempDir,
  NO_ISOLATION,
  removeChildTempDir,
  removeOrphanedChildTempDirs,
} from 'src/process';

/**
 * An empty directory of the server's in the temporary directory, made when first asked for, and
 * made anew should it be gone (a cleaner of old temporary files removed it). Mode 0555: the
 * children's user (RUN_AS_USER) may enter and read it, nobody may write it (its owner only after
 * a `chmod`). Named as `childTempDir` names its own, so that the one a killed server left is
 * found by `removeOrphans`.
 */
export class EmptyDirectory {
  private dir: string | null = null;

  constructor(private readonly prefix: string) {}

  path(): string {
    if (this.dir === null || !existsSync(this.dir)) {
      const dir = childTempDir(NO_ISOLATION, this.prefix);
      chmodSync(dir, 0o555);
      this.dir = dir;
    }
    return this.dir;
  }

  async remove(): Promise<void> {
    if (this.dir !== null) await removeChildTempDir(this.dir);
    this.dir = null;
  }

  /** Removes the directories of this prefix that servers which are gone left. */
  removeOrphans(): Promise<number> {
    return removeOrphanedChildTempDirs(this.prefix);
  }
}
