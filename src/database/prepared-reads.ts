import type { Database, Statement } from 'better-sqlite3';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { sqliteConnectionOf } from 'src/database/sqlite-connection';

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
  private readonly sqlite: Database | null;
  private readonly prepared = new Map<string, Statement>();

  constructor(private readonly dataSource: DataSource) {
    this.sqlite = sqliteConnectionOf(dataSource);
  }

  /** The rows `sql` answers for `params`. */
  async all<T>(sql: string, params: readonly unknown[] = [], manager?: EntityManager): Promise<T[]> {
    if (this.sqlite === null) {
      return (manager ?? this.dataSource.manager).query<T[]>(sql, [...params]);
    }
    try {
      return this.statement(this.sqlite, sql).all(...params) as T[];
    } catch (error) {
      // As TypeORM reports it, so the callers' handling (a busy database) is the same.
      throw new QueryFailedError(sql, [...params], error as Error);
    }
  }

  private statement(db: Database, sql: string): Statement {
    let statement = this.prepared.get(sql);
    if (statement === undefined) {
      if (this.prepared.size >= MAX_PREPARED) this.prepared.clear();
      statement = db.prepare(sql);
      this.prepared.set(sql, statement);
    }
    return statement;
  }
}
