import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from 'src/common';
import { databaseFailureOf } from 'src/database';
import { DatabaseFreeSpace } from 'src/health/database-free-space';

/** Longest a probe waits for the database. */
const DATABASE_PROBE_TIMEOUT_MS = 3000;

/**
 * Least space left beside a SQLite database for it to count as writable: below it the next pages
 * and WAL frames a task's events need soon fail (507 `storage_full`).
 */
export const DATABASE_MIN_FREE_BYTES = 1024 * 1024;

export interface DatabaseProbeResult {
  status: 'up' | 'down';
  type: string;
  /** False when a row could not be written (a full disk, a read-only database). */
  writable: boolean;
  error: string | null;
}

/** Whether the database answers and can store something: `/health` and readiness ask it. */
@Injectable()
export class DatabaseProbe {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly space: DatabaseFreeSpace,
  ) {}

  /**
   * A read and a small write (`health_probe`), within DATABASE_PROBE_TIMEOUT_MS: `down` when the
   * database does not answer, `up` but not `writable` when it cannot store anything, or (SQLite)
   * when its file system has less than DATABASE_MIN_FREE_BYTES left.
   */
  async probe(): Promise<DatabaseProbeResult> {
    const type = this.dataSource.options.type;
    let timer: NodeJS.Timeout | undefined;
    const firstLine = (error: unknown): string =>
      (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 200);
    try {
      if (!this.dataSource.isInitialized) throw new Error('not connected');
      const probe = async (): Promise<string | null> => {
        await this.dataSource.query('SELECT 1');
        try {
          // 'YYYY-MM-DD HH:MM:SS.mmm' (UTC): a datetime value both engines take as a parameter.
          const now = this.clock.now().toISOString().slice(0, 23).replace('T', ' ');
          await this.dataSource.query('UPDATE health_probe SET checked_at = ? WHERE id = 1', [now]);
        } catch (error) {
          if (databaseFailureOf(error) === 'full') return firstLine(error);
          throw error;
        }
        const free = this.space.freeBytes();
        return free !== null && free < DATABASE_MIN_FREE_BYTES
          ? `the file system holding the database has ${free} bytes left`
          : null;
      };
      const unwritable = await Promise.race([
        probe(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), DATABASE_PROBE_TIMEOUT_MS);
        }),
      ]);
      return { status: 'up', type, writable: unwritable === null, error: unwritable };
    } catch (error) {
      return { status: 'down', type, writable: false, error: firstLine(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}
