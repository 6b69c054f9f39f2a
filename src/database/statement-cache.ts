import type { Database, Statement } from 'better-sqlite3';

/**
 * Statements prepared on one SQLite connection, by their SQL text: each text is prepared once.
 * Past `max` texts all are dropped and prepared again as they come (callers build a handful).
 */
export class StatementCache {
  private readonly prepared = new Map<string, Statement>();

  constructor(
    readonly db: Database,
    private readonly max: number,
  ) {}

  get(sql: string): Statement {
    let statement = this.prepared.get(sql);
    if (statement === undefined) {
      if (this.prepared.size >= this.max) this.prepared.clear();
      statement = this.db.prepare(sql);
      this.prepared.set(sql, statement);
    }
    return statement;
  }
}
