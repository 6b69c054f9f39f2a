import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from 'src/config';
import { AtomicWriter } from 'src/database/atomic-writer';
import { buildDataSourceOptions } from 'src/database/database-options';
import { openDataSource } from 'src/database/migration-run';
import { MysqlTimeoutGuard } from 'src/database/mysql-timeout-guard';
import { SqliteCheckpointer } from 'src/database/sqlite-checkpointer';
import { SqliteLock, SqliteLockModule } from 'src/database/sqlite-lock.module';

/**
 * The TypeORM connection, built by the shared options builder; pending migrations run when it
 * starts (`openDataSource`: on MySQL one server at a time). One connection attempt only:
 * `main.ts` checks the database before boot and exits with one clear line when it cannot be
 * reached, so there is no retry loop of stack traces. Entities
 * come from the modules that own them (`autoLoadEntities`). `AtomicWriter` is available everywhere.
 * On SQLite, `SqliteCheckpointer` takes the WAL's checkpoints off the event loop.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      // The SQLite lock is taken before the connection opens (see SqliteLock).
      imports: [SqliteLockModule],
      inject: [AppConfig, SqliteLock],
      useFactory: (config: AppConfig) => ({
        ...buildDataSourceOptions({
          databaseUrl: config.DATABASE_URL,
          timeoutMs: config.DATABASE_TIMEOUT_SECONDS * 1000,
        }),
        autoLoadEntities: true,
        retryAttempts: 1,
        retryDelay: 0,
      }),
      dataSourceFactory: (options) => openDataSource(options!),
    }),
  ],
  providers: [AtomicWriter, MysqlTimeoutGuard, SqliteCheckpointer],
  exports: [AtomicWriter],
})
export class DatabaseModule {}
