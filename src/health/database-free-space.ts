import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * The space left on the file system that holds a SQLite database. A full disk fails the writes
 * that need a new page (an insert, the WAL growing) while the rewrite of a row in place may still
 * succeed: a write alone does not tell that the database can store nothing more.
 */
@Injectable()
export class DatabaseFreeSpace {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Bytes an unprivileged writer may still use there; null for a server database (MySQL), or
   * when the file system does not say. One `statfs`, on this thread: through the thread pool,
   * `/health` would answer a turn of the loop later, after a client that sent its request and
   * closed its side is already let go (Node ends such a connection at once when nothing is being
   * written).
   */
  freeBytes(): number | null {
    const options = this.dataSource.options;
    if (options.type !== 'better-sqlite3' || options.database === ':memory:') return null;
    try {
      const stats = statfsSync(dirname(options.database));
      return stats.bavail * stats.bsize;
    } catch {
      return null;
    }
  }
}
