export { AtomicWriter } from 'src/database/atomic-writer';
export type { SqlStep, SqlStepResult } from 'src/database/atomic-writer';
export {
  jsonObjectTransformer,
  jsonTransformer,
  LONG_TEXT_COLUMN,
  MAX_INT_COLUMN,
  TIMESTAMP_COLUMN,
} from 'src/database/column-types';
export {
  databaseFailureOf,
  isForeignKeyViolation,
  isTransientDatabaseError,
  isUniqueViolation,
  retryTransient,
} from 'src/database/database-errors';
export type { DatabaseFailure } from 'src/database/database-errors';
export { databaseNowSql, readDatabaseClock } from 'src/database/database-clock';
export type { DatabaseClockReading } from 'src/database/database-clock';
export { buildDataSourceOptions, MIGRATIONS } from 'src/database/database-options';
export { checkDatabase } from 'src/database/database-preflight';
export { parseDatabaseUrl, redactDatabaseUrl } from 'src/database/database-url';
export { DatabaseModule } from 'src/database/database.module';
export { EntityColumns } from 'src/database/entity-columns';
export { hydrateRow } from 'src/database/hydrate-row';
export { openDataSource } from 'src/database/migration-run';
export { PreparedReads } from 'src/database/prepared-reads';
export { RowInsert } from 'src/database/row-insert';
export { RowReader } from 'src/database/row-reader';
export { sqliteConnectionOf } from 'src/database/sqlite-connection';
export { fitVarchar } from 'src/database/varchar-fit';
