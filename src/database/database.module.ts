import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from 'src/config/app-config';
import { buildDataSourceOptions } from 'src/database/database-options';

/**
 * The TypeORM connection, built by the shared options builder; pending migrations run when it
 * starts. One connection attempt only: `main.ts` checks the database before boot and exits with
 * one clear line when it cannot be reached, so there is no retry loop of stack traces.
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...buildDataSourceOptions({ databaseUrl: config.DATABASE_URL }),
        retryAttempts: 1,
        retryDelay: 0,
      }),
    }),
  ],
})
export class DatabaseModule {}
