import { DataSourceOptions } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/database-options';
import { openDataSource } from 'src/database/migration-run';
import { parseDatabaseUrl, redactDatabaseUrl } from 'src/database/database-url';
import { acquireSqliteLock } from 'src/database/sqlite-file-lock';

export class DatabaseUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * Connects once with the app's own options and applies pending migrations (`openDataSource`),
 * then closes.
 * Called by `main.ts` before the app boots so an unreachable database, a SQLite file another
 * server uses (`DatabaseInUseError`) or a failing migration ends the process with one clear line
 * instead of TypeORM's retry loop of stack traces.
 */
export async function checkDatabase(databaseUrl: string): Promise<void> {
  const release = lockIfSqlite(databaseUrl);
  try {
    await connectOnce(databaseUrl);
  } finally {
    release();
  }
}

/** Takes the SQLite file's lock (see sqlite-file-lock.ts); nothing for MySQL or a bad URL. */
function lockIfSqlite(databaseUrl: string): () => void {
  let target;
  try {
    target = parseDatabaseUrl(databaseUrl);
  } catch {
    return () => undefined;
  }
  return target.type === 'sqlite' ? acquireSqliteLock(target.file) : () => undefined;
}

async function connectOnce(databaseUrl: string): Promise<void> {
  let options: DataSourceOptions;
  try {
    options = buildDataSourceOptions({ databaseUrl });
  } catch (error) {
    throw new DatabaseUnavailableError(
      `Invalid DATABASE_URL ${redactDatabaseUrl(databaseUrl)}: ${firstLine(error)}`,
    );
  }
  try {
    await (await openDataSource(options)).destroy();
  } catch (error) {
    throw new DatabaseUnavailableError(
      `Cannot use database ${redactDatabaseUrl(databaseUrl)}: ${firstLine(error)}`,
    );
  }
}

function firstLine(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n')[0] || 'unknown error';
  return typeof code === 'string' && !line.includes(code) ? `${code} ${line}` : line;
}
