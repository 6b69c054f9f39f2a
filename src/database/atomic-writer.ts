import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Transaction } from 'better-sqlite3';
import { DataSource, QueryFailedError, QueryRunner } from 'typeorm';
import { sqliteConnectionOf } from 'src/database/sqlite-connection';
import { StatementCache } from 'src/database/statement-cache';

/** One SQL statement of an atomic write, with `?` placeholders (the same text on both engines). */
export interface SqlStep {
  sql: string;
  params: readonly unknown[];
  /** When this statement changes no row, the whole write is rolled back and `run` returns null. */
  required?: boolean;
}

export interface SqlStepResult {
  affected: number;
  /** The new row's id for an INSERT into a table with an auto-increment key. */
  insertId: number | null;
}

/** Thrown inside a SQLite transaction to roll it back because a required step changed nothing. */
class RequiredStepMissed extends Error {}

/** Most distinct statements kept prepared on SQLite (the write path uses a handful). */
const MAX_PREPARED = 200;

/**
 * WRITES THAT ARE ALL OR NOTHING. `run` executes a few statements in one transaction and tells
 * what each changed; a `required` statement that changes no row (a fence that no longer holds)
 * rolls everything back.
 *
 * - SQLite: the statements run synchronously on the better-sqlite3 connection inside
 *   `db.transaction`, so no other query of this process (TypeORM shares the one connection) can
 *   run between them: a status row and the change it records can never be interleaved with
 *   another writer's rows.
 * - MySQL/MariaDB: a transaction on its own pooled connection, or on `runner` when the caller is
 *   already inside one (the claim's `FOR UPDATE SKIP LOCKED` transaction).
 *
 * Parameters must already be in the driver's format: `QueryBuilder.getQueryAndParameters()` gives
 * that, as does `driver.preparePersistentValue` for a single value. Errors are TypeORM
 * `QueryFailedError`s on both engines, so the callers' error mapping (unique and foreign-key
 * violations) is the same.
 */
@Injectable()
export class AtomicWriter {
  /** The SQLite connection's statements; null on MySQL. */
  private readonly sqlite: StatementCache | null;
  private sqliteTransaction: Transaction<(steps: readonly SqlStep[]) => SqlStepResult[]> | null =
    null;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    const db = sqliteConnectionOf(dataSource);
    this.sqlite = db === null ? null : new StatementCache(db, MAX_PREPARED);
  }

  /** Runs `steps` in one transaction; null (nothing kept) when a required step changed no row. */
  async run(steps: readonly SqlStep[], runner?: QueryRunner): Promise<SqlStepResult[] | null> {
    if (this.sqlite !== null) return this.runSqlite(this.sqlite, steps);
    if (runner) return this.runMysql(runner, steps);
    const own = this.dataSource.createQueryRunner();
    try {
      await own.startTransaction();
      const results = await this.runMysql(own, steps);
      if (results === null) await own.rollbackTransaction();
      else await own.commitTransaction();
      return results;
    } catch (error) {
      if (own.isTransactionActive) await own.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await own.release();
    }
  }

  private async runMysql(
    runner: QueryRunner,
    steps: readonly SqlStep[],
  ): Promise<SqlStepResult[] | null> {
    const results: SqlStepResult[] = [];
    for (const step of steps) {
      const result = (await runner.query(step.sql, [...step.params], true)) as {
        affected?: number;
        raw?: { insertId?: number };
      };
      const affected = result.affected ?? 0;
      if (step.required && affected === 0) return null;
      const insertId = result.raw?.insertId;
      results.push({ affected, insertId: insertId ? Number(insertId) : null });
    }
    return results;
  }

  private runSqlite(statements: StatementCache, steps: readonly SqlStep[]): SqlStepResult[] | null {
    // better-sqlite3 builds a transaction function with its own properties on every call of
    // `db.transaction`: this one is built once and given the steps.
    this.sqliteTransaction ??= statements.db.transaction(
      (batch: readonly SqlStep[]): SqlStepResult[] =>
        batch.map((step) => {
          let info;
          try {
            info = statements.get(step.sql).run(...step.params);
          } catch (error) {
            throw new QueryFailedError(step.sql, [...step.params], error as Error);
          }
          if (step.required && info.changes === 0) throw new RequiredStepMissed();
          const insertId = Number(info.lastInsertRowid);
          return { affected: info.changes, insertId: insertId > 0 ? insertId : null };
        }),
    );
    try {
      return this.sqliteTransaction(steps);
    } catch (error) {
      if (error instanceof RequiredStepMissed) return null;
      throw error;
    }
  }
}
