import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, QueryFailedError } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/database-options';
import { PreparedReads } from 'src/database/prepared-reads';

describe('PreparedReads on SQLite', () => {
  let dir: string;
  let dataSource: DataSource;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'prepared-reads-'));
    dataSource = new DataSource(
      buildDataSourceOptions({ databaseUrl: 'sqlite:///./t.db', cwd: dir }),
    );
    await dataSource.initialize();
    await dataSource.query('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, note TEXT)');
    await dataSource.query(`INSERT INTO items (name, note) VALUES ('a', NULL), ('b', 'x')`);
  });
  afterAll(async () => {
    await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const SQL = 'SELECT id, name, note FROM items WHERE id >= ? ORDER BY id';

  it('answers the rows TypeORM answers, and what the table holds at each call', async () => {
    const reads = new PreparedReads(dataSource);
    expect(await reads.all(SQL, [1])).toEqual(await dataSource.query(SQL, [1]));
    expect(await reads.all(SQL, [2])).toEqual([{ id: 2, name: 'b', note: 'x' }]);
    await dataSource.query(`INSERT INTO items (name, note) VALUES ('c', NULL)`);
    expect((await reads.all<{ name: string }>(SQL, [2])).map((r) => r.name)).toEqual(['b', 'c']);
  });

  it('reports a failed statement as TypeORM does, with its SQL', async () => {
    const reads = new PreparedReads(dataSource);
    const failure = await reads.all('SELECT id FROM missing_table').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(QueryFailedError);
    expect((failure as QueryFailedError).query).toBe('SELECT id FROM missing_table');
    expect((failure as QueryFailedError).message).toMatch(/no such table/);
  });
});
