import { createHash } from 'node:crypto';
import { DataSource, DataSourceOptions, MigrationExecutor, QueryRunner } from 'typeorm';

/** How long a server waits for another one's migrations before it gives up starting. */
const MIGRATION_LOCK_WAIT_MS = 10 * 60_000;

/**
 * The wait between two tries of the lock. Each try asks without waiting in the database: a wait
 * there would meet the query timeout (DATABASE_TIMEOUT_SECONDS, 1 at least), and MySQL rounds a
 * fraction of a second up to a whole one.
 */
const LOCK_RETRY_MS = 500;

/** MySQL errors of DDL that finds its table, column or index there already. */
const ALREADY_EXISTS_CODES = new Set([
  'ER_TABLE_EXISTS_ERROR',
  'ER_DUP_FIELDNAME',
  'ER_DUP_KEYNAME',
]);

/** The first migration: it creates every table of an empty database. */
const INITIAL_MIGRATION = 'InitialSchema1764050000000';

/**
 * OPENS THE DATABASE AND BRINGS ITS SCHEMA UP TO DATE: the one way the server, its preflight and
 * the API key CLI connect (the options never run migrations themselves: `migrationsRun` is off).
 * On MySQL the pending migrations run under an advisory lock named after the database, taken on
 * a connection of its own: servers that start together on one database run them one after the
 * other, and the later ones find nothing left to run. (MySQL commits each DDL statement at once,
 * so neither a migration's transaction nor TypeORM's check of what is pending keeps two servers
 * apart.) SQLite needs no lock: one server holds its file (`sqlite-file-lock.ts`), and its DDL is
 * rolled back with the migration's transaction.
 */
export async function openDataSource(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
  try {
    if (dataSource.options.type === 'mysql') {
      await underMigrationLock(dataSource, String(dataSource.options.database), () =>
        runMigrations(dataSource, true),
      );
    } else {
      await runMigrations(dataSource, false);
    }
    return dataSource;
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
}

async function runMigrations(dataSource: DataSource, mysql: boolean): Promise<void> {
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } catch (error) {
    if (mysql && ALREADY_EXISTS_CODES.has(codeOf(error) ?? '')) {
      // Each migration before the failed one is recorded: the failed one is the first pending.
      const [failed] = await new MigrationExecutor(dataSource).getPendingMigrations();
      throw new Error(cutOffMessage(failed?.name ?? 'unknown', error));
    }
    throw error;
  }
}

/**
 * One line (the start-up check prints the first line of a failure): what the migration found, why
 * (an earlier run cut off between its DDL statements, which MySQL cannot roll back) and how to
 * recover.
 */
function cutOffMessage(migration: string, error: unknown): string {
  const found = error instanceof Error ? error.message.split('\n')[0] : String(error);
  const recovery =
    migration === INITIAL_MIGRATION
      ? "this is the initial schema, so the database holds none of the server's data yet: drop the tables it created (or drop the database and create it again, empty) and start the server again."
      : `compare the database with that migration's file in migrations/ and undo what it applied (or apply the rest by hand and add its row to the migrations table), then start the server again.`;
  return `Migration ${migration} failed: ${found}. Either this database holds another application's tables (give the server a database of its own), or an earlier run of the migration was cut off (a crash or a kill during start-up) after some of its statements: MySQL commits each DDL statement at once and cannot roll back a migration that stopped halfway, and the migrations table does not list it. In that case: ${recovery}`;
}

function codeOf(error: unknown): string | undefined {
  const shape = (error ?? {}) as { code?: unknown; driverError?: { code?: unknown } };
  const code = shape.code ?? shape.driverError?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The advisory lock's name: server-wide in MySQL, so it names the database, and at most 64
 * characters (a long database name is hashed).
 */
function lockName(database: string): string {
  const name = `cta-migrations:${database}`;
  return name.length <= 64
    ? name
    : `cta-migrations:${createHash('sha256').update(database).digest('hex').slice(0, 49)}`;
}

/** Runs `work` holding the database's migration lock on a connection kept for it. */
async function underMigrationLock(
  dataSource: DataSource,
  database: string,
  work: () => Promise<void>,
): Promise<void> {
  const name = lockName(database);
  const runner = dataSource.createQueryRunner();
  try {
    await waitForLock(runner, name);
    try {
      await work();
    } finally {
      // A connection that failed here took its lock with it when it closed.
      await runner.query('SELECT RELEASE_LOCK(?)', [name]).catch(() => undefined);
    }
  } finally {
    await runner.release();
  }
}

async function waitForLock(runner: QueryRunner, name: string): Promise<void> {
  const deadline = Date.now() + MIGRATION_LOCK_WAIT_MS;
  for (;;) {
    const [row] = (await runner.query('SELECT GET_LOCK(?, 0) AS locked', [name])) as {
      locked: unknown;
    }[];
    if (Number(row.locked) === 1) return;
    if (Date.now() > deadline) {
      throw new Error(
        `Another server has been running this database's migrations for ${MIGRATION_LOCK_WAIT_MS / 60_000} minutes (it holds the lock ${name}: SELECT IS_USED_LOCK('${name}') names its connection); start this one again once it is done`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
  }
}
