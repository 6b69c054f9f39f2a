import { createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { checkDatabase } from 'src/database/database-preflight';
import { buildDataSourceOptions, MIGRATIONS } from 'src/database/database-options';
import { openDataSource } from 'src/database/migration-run';
import { createTestDatabase, describeMysql, TestDatabase } from 'test/e2e/support/test-database';

/**
 * MIGRATIONS ON MYSQL, where every DDL statement commits at once: servers that start together on
 * one empty database migrate it one after the other (an advisory lock), and a migration an earlier
 * start left halfway stops the server with what happened and how to recover.
 */
describeMysql('migrations on MariaDB', () => {
  const databases: TestDatabase[] = [];

  const freshDatabase = async (): Promise<TestDatabase> => {
    const db = await createTestDatabase('mysql');
    databases.push(db);
    return db;
  };

  /** Runs `sql` on `db` through a connection of the test's own. */
  const query = async (db: TestDatabase, sql: string): Promise<unknown> => {
    const connection = await createConnection({ uri: db.url });
    try {
      const [rows] = await connection.query(sql);
      return rows;
    } finally {
      await connection.end();
    }
  };

  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it('migrates one fresh database from three servers at once: each succeeds, each migration runs once', async () => {
    const db = await freshDatabase();
    const opened = await Promise.allSettled(
      [1, 2, 3].map(() => openDataSource(buildDataSourceOptions({ databaseUrl: db.url }))),
    );
    const sources = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    await Promise.all(sources.map((source: DataSource) => source.destroy()));
    expect(opened.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))).toEqual([
      'ok',
      'ok',
      'ok',
    ]);
    const rows = (await query(
      db,
      'SELECT name, COUNT(*) AS times FROM migrations GROUP BY name ORDER BY name',
    )) as { name: string; times: unknown }[];
    expect(rows.map((r) => [r.name, Number(r.times)])).toEqual(
      MIGRATIONS.map((m) => [m.name, 1]).sort(),
    );
  });

  it("stops on an initial schema cut off halfway, saying to drop the tables it created (or that the database is another application's)", async () => {
    const db = await freshDatabase();
    // What a server killed after the migration's first CREATE TABLE leaves behind.
    await query(db, 'CREATE TABLE sessions (id varchar(36) NOT NULL PRIMARY KEY)');
    const failure = await checkDatabase(db.url).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/Migration InitialSchema1764050000000 failed: .*already exists/);
    expect(failure).toContain('cannot roll back a migration that stopped halfway');
    expect(failure).toContain('drop the tables it created');
    // A database another application uses is named as the other cause: never only "drop them".
    expect(failure).toContain("holds another application's tables");
    expect(failure).not.toContain('\n');
  });

  it('names a later migration cut off halfway, and says to undo what it applied', async () => {
    const db = await freshDatabase();
    await (await openDataSource(buildDataSourceOptions({ databaseUrl: db.url }))).destroy();
    // A later migration's index is there, its row in the migrations table is not (one that
    // creates something: a MODIFY alone runs again without a complaint).
    const last = MIGRATIONS.find((m) => m.name === 'StatusReasonIndex1764180000000')!.name;
    await query(db, `DELETE FROM migrations WHERE name = '${last}'`);
    const failure = await checkDatabase(db.url).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(failure).toMatch(new RegExp(`Migration ${last} failed: `));
    expect(failure).toContain('undo what it applied');
  });
});
