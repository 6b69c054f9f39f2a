import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { sqliteConnectionOf } from 'src/database/sqlite-connection';
import { StatementCache } from 'src/database/statement-cache';

/** Most distinct statements kept prepared; a caller builds a handful of texts. */
const MAX_PREPARED = 100;

/**
 * RAW READS MADE SEVERAL TIMES A TASK (the queue's claim, a turn's waiting messages, a new task's
 * queue room), as SQL with `?` placeholders and rows of plain values. On SQLite each text is
 * prepared once on the connection itself and run without TypeORM's query runner, which on every
 * call created a runner, logged, broadcast events and wrapped the result; on MySQL it goes
 * through `query` of `manager` (a transaction's) or the data source. Rows are as the driver gives
 * them: the caller converts what it reads (numbers may be strings on MySQL). Errors are TypeORM
 * `QueryFailedError`s on both engines.
 */
export class PreparedReads {
  private readonly statements: StatementCache | null;

  constructor(private readonly dataSource: DataSource) {
    const sqlite = sqliteConnectionOf(dataSource);
    this.statements = sqlite === null ? null : new StatementCache(sqlite, MAX_PREPARED);
  }

  /** The rows `sql` answers for `params`. */
  async all<T>(
    sql: string,
    params: readonly unknown[] = [],
    manager?: EntityManager,
  ): Promise<T[]> {
    if (this.statements === null) {
      return (manager ?? this.dataSource.manager).query<T[]>(sql, [...params]);
    }
    try {
      return this.statements.get(sql).all(...params) as T[];
    } catch (error) {
      // As TypeORM reports it, so the callers' handling (a busy database) is the same.
      throw new QueryFailedError(sql, [...params], error as Error);
    }
  }
}
