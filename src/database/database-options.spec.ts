import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, MIGRATIONS } from 'src/database/database-options';

describe('buildDataSourceOptions', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cta-opts-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('builds SQLite options relative to cwd, creating the parent directory', () => {
    const options = buildDataSourceOptions({
      databaseUrl: 'sqlite:///./data/x/tasks.db',
      cwd: tmp,
    });
    expect(options).toMatchObject({
      type: 'better-sqlite3',
      database: path.join(tmp, 'data', 'x', 'tasks.db'),
      enableWAL: true,
      synchronize: false,
      migrationsRun: false,
    });
    expect(fs.statSync(path.join(tmp, 'data', 'x')).isDirectory()).toBe(true);
    expect(options.entities).toEqual([]);
    expect(options.migrations).toBe(MIGRATIONS);
  });

  it('opens SQLite in WAL mode with synchronous=NORMAL, foreign keys and a busy timeout', async () => {
    const dataSource = new DataSource(
      buildDataSourceOptions({ databaseUrl: 'sqlite:///./tasks.db', cwd: tmp }),
    );
    await dataSource.initialize();
    try {
      const pragma = async (name: string): Promise<unknown> => {
        const rows: Record<string, unknown>[] = await dataSource.query(`PRAGMA ${name}`);
        return Object.values(rows[0])[0];
      };
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('synchronous')).toBe(1);
      expect(await pragma('foreign_keys')).toBe(1);
      expect(await pragma('busy_timeout')).toBe(5000);
    } finally {
      await dataSource.destroy();
    }
  });

  it('builds MySQL options with utf8mb4, UTC and numeric integers', () => {
    expect(
      buildDataSourceOptions({ databaseUrl: 'mysql+pymysql://u:p%21@db:3307/claudesys' }),
    ).toMatchObject({
      type: 'mysql',
      host: 'db',
      port: 3307,
      username: 'u',
      password: 'p!',
      database: 'claudesys',
      charset: 'utf8mb4_unicode_ci',
      timezone: 'Z',
      bigNumberStrings: false,
      synchronize: false,
      migrationsRun: false,
    });
  });

  it('never turns synchronize on', () => {
    for (const url of ['sqlite:///./a.db', 'mysql://root@h/db']) {
      expect(buildDataSourceOptions({ databaseUrl: url, cwd: tmp }).synchronize).toBe(false);
    }
  });
});
