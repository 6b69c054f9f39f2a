import { join } from 'node:path';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { KeyedSerializer } from 'src/common';
import { AppConfig, hostId } from 'src/config';
import { acquireLockFile } from 'src/workspaces/lock-file';
import { WorkspaceError } from 'src/workspaces/workspace-errors';

/** The lock file in a repository's common git directory (shared by all its worktrees). */
export const LOCK_FILE_NAME = 'cta-workspaces.lock';

/** A lock not touched for this long (its holder died elsewhere, or hangs) is taken over. */
const STALE_MS = 60_000;

/**
 * GIT OPERATIONS ON ONE REPOSITORY, ONE AT A TIME. Adding and removing worktrees, moving and
 * deleting branches and merging are serialized per repository: inside this process by a queue
 * per repository (no polling between this server's own tasks), across processes (several server
 * instances on one host sharing a repository) by a lock file in the repository's common git
 * directory, which every instance finds whatever its own settings (`lock-file.ts`: a crashed
 * holder never blocks). Git's own lock files back this up for git processes of other programs.
 *
 * A shutdown waits for the work under a lock to end (GIT_TIMEOUT_SECONDS at most) before the
 * children are ended: a merge stopped half-way through updating the user's checkout would leave
 * it half-updated, and a stopped removal half-done.
 */
@Injectable()
export class RepositoryLocks implements OnModuleDestroy {
  private readonly logger = new Logger('RepositoryLock');
  private readonly queues = new KeyedSerializer();
  /** Work running under a lock now. */
  private holding = 0;
  /** Told when no work runs under a lock any more. */
  private readonly idle = new Set<() => void>();

  constructor(private readonly config: AppConfig) {}

  /**
   * Runs `fn` holding the lock of the repository whose common git directory is `gitDir`; a
   * `WorkspaceError` when that directory is gone (the repository was deleted or moved).
   */
  async withLock<T>(gitDir: string, fn: () => Promise<T>): Promise<T> {
    return this.queues.run(gitDir, async () => {
      const lock = await acquireLockFile(join(gitDir, LOCK_FILE_NAME), {
        host: hostId(this.config.HOST_ID),
        staleMs: STALE_MS,
        waitMs: Math.max(STALE_MS, 2 * this.config.GIT_TIMEOUT_SECONDS * 1000),
        onStale: (path, holder) =>
          this.logger.warn(
            `Took over the stale lock ${path}` +
              (holder ? ` (pid ${holder.pid} on ${holder.host} is gone)` : ''),
          ),
        onLost: (path) =>
          this.logger.error(`The lock ${path} was taken over while held here (held too long?)`),
      }).catch((error: unknown) => {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
        throw new WorkspaceError(`the repository's git directory ${gitDir} is gone`);
      });
      this.holding += 1;
      try {
        return await fn();
      } finally {
        await lock.release();
        this.holding -= 1;
        if (this.holding === 0) for (const done of this.idle) done();
      }
    });
  }

  async onModuleDestroy(): Promise<void> {
    if (this.holding === 0) return;
    this.logger.log(`Waiting for ${this.holding} git operation(s) on repositories to end`);
    let done = (): void => undefined;
    const ended = new Promise<void>((resolve) => {
      done = resolve;
      this.idle.add(done);
    });
    const limit = this.config.GIT_TIMEOUT_SECONDS * 1000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise((resolve) => (timer = setTimeout(resolve, limit)))]);
    clearTimeout(timer);
    this.idle.delete(done);
  }
}
