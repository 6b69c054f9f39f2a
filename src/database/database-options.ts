import { closeSync, mkdirSync, openSync } from 'node:fs';
import * as path from 'node:path';
import type { Database as BetterSqliteDatabase } from 'better-sqlite3';
import { DataSourceOptions, Logger } from 'typeorm';
import { InitialSchema1764050000000 } from 'migrations/1764050000000-initial-schema';
import { TaskQueueProjectLock1764060000000 } from 'migrations/1764060000000-task-queue-project-lock';
import { TaskTextColumns1764070000000 } from 'migrations/1764070000000-task-text-columns';
import { TaskRunCheckpoint1764080000000 } from 'migrations/1764080000000-task-run-checkpoint';
import { IdempotencyKeys1764090000000 } from 'migrations/1764090000000-idempotency-keys';
import { HealthProbe1764090001000 } from 'migrations/1764090001000-health-probe';
import { ApiKeysAndOwnership1764100000000 } from 'migrations/1764100000000-api-keys-and-ownership';
import { AuditEvents1764100001000 } from 'migrations/1764100001000-audit-events';
import { TaskCostBudget1764100002000 } from 'migrations/1764100002000-task-cost-budget';
import { TaskWorkspaces1764110000000 } from 'migrations/1764110000000-task-workspaces';
import { TaskRetries1764120000000 } from 'migrations/1764120000000-task-retries';
import { VerifiedCompletion1764130000000 } from 'migrations/1764130000000-verified-completion';
import { HumanWait1764140000000 } from 'migrations/1764140000000-human-wait';
import { TestChangeRefusals1764150000000 } from 'migrations/1764150000000-test-change-refusals';
import { InterruptRequested1764160000000 } from 'migrations/1764160000000-interrupt-requested';
import { GitConfigFingerprint1764170000000 } from 'migrations/1764170000000-git-config-fingerprint';
import { StatusReasonIndex1764180000000 } from 'migrations/1764180000000-status-reason-index';
import { TaskPathColumns1764190000000 } from 'migrations/1764190000000-task-path-columns';
import { LeaseExpiries1764200000000 } from 'migrations/1764200000000-lease-expiries';
import { parseDatabaseUrl } from 'src/database/database-url';

/** Every migration in order, listed by class so it works under ts-jest, ts-node and from `dist/`. */
export const MIGRATIONS = [
  InitialSchema1764050000000,
  TaskQueueProjectLock1764060000000,
  TaskTextColumns1764070000000,
  TaskRunCheckpoint1764080000000,
  IdempotencyKeys1764090000000,
  HealthProbe1764090001000,
  ApiKeysAndOwnership1764100000000,
  AuditEvents1764100001000,
  TaskCostBudget1764100002000,
  TaskWorkspaces1764110000000,
  TaskRetries1764120000000,
  VerifiedCompletion1764130000000,
  HumanWait1764140000000,
  TestChangeRefusals1764150000000,
  InterruptRequested1764160000000,
  GitConfigFingerprint1764170000000,
  StatusReasonIndex1764180000000,
  TaskPathColumns1764190000000,
  LeaseExpiries1764200000000,
];

/**
 * TypeORM itself logs nothing: query errors surface where they happen (and are logged there
 * without their parameters), while TypeORM's slow-query log, which the MySQL query timeout
 * switches on, would print whole statements with their parameters.
 */
const QUIET_LOGGER: Logger = {
  logQuery: () => undefined,
  logQueryError: () => undefined,
  logQuerySlow: () => undefined,
  logSchemaBuild: () => undefined,
  logMigration: () => undefined,
  log: () => undefined,
};

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
  /**
   * MySQL: how long connecting, and each query, may take before it fails (a database that went
   * away without a word, behind a network partition, fails requests fast instead of hanging).
   */
  timeoutMs?: number;
}

/** Default of `timeoutMs` (DATABASE_TIMEOUT_SECONDS). */
const DEFAULT_TIMEOUT_MS = 5000;

/**
 * The one TypeORM options builder, shared by the app (DatabaseModule) and the TypeORM CLI
 * (`ormconfig.ts`), so they cannot drift. Migrations run at start, through `openDataSource`
 * (`migration-run.ts`); `synchronize` is never on.
 * For SQLite it creates the file's parent directory (mode 0700: the database holds every key's
 * sessions and tasks, and the agent may run as another user) and turns on WAL (with
 * `synchronous=NORMAL`), a busy timeout and foreign keys. For MySQL it uses utf8mb4, UTC (`Z`)
 * and returns integers as numbers.
 */
export function buildDataSourceOptions(input: DatabaseOptionsInput): DataSourceOptions {
  const target = parseDatabaseUrl(input.databaseUrl, input.cwd);
  const common = {
    entities: input.entities ?? [],
    migrations: MIGRATIONS,
    // `openDataSource` runs them (on MySQL under a lock), not the DataSource's `initialize`.
    migrationsRun: false,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logging: input.logging ?? false,
    logger: input.logging ? ('advanced-console' as const) : QUIET_LOGGER,
  };
  if (target.type === 'sqlite') {
    // The file holds key hashes and every task's records: private to the server's user from its
    // creation (SQLite gives its -wal and -shm files the same mode). The directory stays
    // traversable: the workspaces of children running as RUN_AS_USER may live below it.
    mkdirSync(path.dirname(target.file), { recursive: true });
    closeSync(openSync(target.file, 'a', 0o600));
    return {
      ...common,
      type: 'better-sqlite3',
      database: target.file,
      enableWAL: true,
      timeout: SQLITE_BUSY_TIMEOUT_MS,
      prepareDatabase: (db: BetterSqliteDatabase) => {
        db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
        db.pragma('foreign_keys = ON');
        // In WAL mode NORMAL is durable against a crash of the process and keeps the database
        // consistent through a power loss; it syncs at checkpoints instead of at every commit.
        db.pragma('synchronous = NORMAL');
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
    connectTimeout: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    enableQueryTimeout: true,
    maxQueryExecutionTime: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    extra: { connectionLimit: 10, decimalNumbers: true, enableKeepAlive: true },
  };
}
