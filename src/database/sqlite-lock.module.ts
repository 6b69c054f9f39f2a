import { Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from 'src/config';
import { parseDatabaseUrl } from 'src/database/database-url';
import { acquireSqliteLock } from 'src/database/sqlite-file-lock';

/**
 * Holds the SQLite file's lock (`sqlite-file-lock.ts`) from before the connection opens until
 * the app has shut down; nothing for MySQL. The TypeORM connection factory depends on it, so a
 * second server on the same file fails at start with `DatabaseInUseError`.
 */
@Injectable()
export class SqliteLock implements OnApplicationShutdown {
  private readonly release: () => void;

  constructor(config: AppConfig) {
    const target = parseDatabaseUrl(config.DATABASE_URL);
    this.release = target.type === 'sqlite' ? acquireSqliteLock(target.file) : () => undefined;
  }

  onApplicationShutdown(): void {
    this.release();
  }
}

@Module({ providers: [SqliteLock], exports: [SqliteLock] })
export class SqliteLockModule {}
