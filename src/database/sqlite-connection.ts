import type { Database } from 'better-sqlite3';
import { DataSource } from 'typeorm';

/** The better-sqlite3 connection under a SQLite DataSource (null on MySQL), for synchronous use. */
export function sqliteConnectionOf(dataSource: DataSource): Database | null {
  return dataSource.options.type === 'better-sqlite3'
    ? (dataSource.driver as unknown as { databaseConnection: Database }).databaseConnection
    : null;
}
