import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Database as BetterSqliteDatabase } from 'better-sqlite3';
import { DataSourceOptions } from 'typeorm';
import { InitialSchema1764050000000 } from 'migrations/1764050000000-initial-schema';
import { TaskQueueProjectLock1764060000000 } from 'migrations/1764060000000-task-queue-project-lock';
import { TaskTextColumns1764070000000 } from 'migrations/1764070000000-task-text-columns';
import { TaskRunCheckpoint1764080000000 } from 'migrations/1764080000000-task-run-checkpoint';
import { ApiKeysAndOwnership1764100000000 } from 'migrations/1764100000000-api-keys-and-ownership';
import { AuditEvents1764100001000 } from 'migrations/1764100001000-audit-events';
import { TaskCostBudget1764100002000 } from 'migrations/1764100002000-task-cost-budget';
import { parseDatabaseUrl } from 'src/database/database-url';

/** Every migration in order, listed by class so it works under ts-jest, ts-node and from `dist/`. */
export const MIGRATIONS = [
  InitialSchema1764050000000,
  TaskQueueProjectLock1764060000000,
  TaskTextColumns1764070000000,
  TaskRunCheckpoint1764080000000,
  ApiKeysAndOwnership1764100000000,
  AuditEvents1764100001000,
  TaskCostBudget1764100002000,
];

/** Milliseconds a SQLite writer waits for a lock before failing with SQLITE_BUSY. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

export interface DatabaseOptionsInput {
  databaseUrl: string;
  /**
   * Entity classes, for a DataSource outside Nest (the TypeORM CLI). The app leaves this out:
   * each module registers its own entities (`TypeOrmModule.forFeature`, `autoLoadEntities`).
   */
  entities?: DataSourceOptions['entities'];
  /** Directory relative SQLite paths are resolved against; defaults to `process.cwd()`. */
  cwd?: string;
  /** Log SQL (debug only). */
  logging?: boolean;
}

/**
 * The one TypeORM options builder, shared by the app (DatabaseModule) and the TypeORM CLI
 * (`ormconfig.ts`), so they cannot drift. Migrations run at start; `synchronize` is never on.
 * For SQLite it creates the file's parent directory (mode 0700: the database holds every key's
 * sessions and tasks, and the agent may run as another user) and turns on WAL, a busy timeout and
 * foreign keys. For MySQL it uses utf8mb4, UTC (`Z`) and returns integers as numbers.
 */
export function buildDataSourceOptions(input: DatabaseOptionsInput): DataSourceOptions {
  const target = parseDatabaseUrl(input.databaseUrl, input.cwd);
  const common = {
    entities: input.entities ?? [],
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logging: input.logging ?? false,
  };
  if (target.type === 'sqlite') {
    mkdirSync(path.dirname(target.file), { recursive: true, mode: 0o700 });
    return {
      ...common,
      type: 'better-sqlite3',
      database: target.file,
      enableWAL: true,
      timeout: SQLITE_BUSY_TIMEOUT_MS,
      prepareDatabase: (db: BetterSqliteDatabase) => {
        db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
        db.pragma('foreign_keys = ON');
      },
    };
  }
  return {
    ...common,
    type: 'mysql',
    host: target.host,
    port: target.port,
    username: target.username,
    password: target.password,
    database: target.database,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
    connectTimeout: 10000,
    extra: { connectionLimit: 10, decimalNumbers: true },
  };
}
