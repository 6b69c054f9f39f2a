import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/database-options';
import { SqliteCheckpointer, WalCheckpointReport } from 'src/database/sqlite-checkpointer';

/** Rows of about one 4 KiB page each: more than SQLite's default checkpoint threshold of 1000. */
const ROWS = 1500;

type Copied = Extract<WalCheckpointReport, { ok: true }>;

/**
 * A process whose only work is to start the checkpointer on the database at argv[1] and shut it
 * down, under ts-node as the process host's source runs: it prints once the shutdown is over.
 */
const SHUTDOWN_SCRIPT = `
const { DataSource } = require('typeorm');
const { buildDataSourceOptions } = require('src/database/database-options');
const { SqliteCheckpointer } = require('src/database/sqlite-checkpointer');
(async () => {
  const options = buildDataSourceOptions({ databaseUrl: process.argv[1] });
  const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
  const checkpointer = new SqliteCheckpointer(dataSource);
  await checkpointer.onApplicationBootstrap();
  await checkpointer.onModuleDestroy();
  await dataSource.destroy();
  console.log('shut down');
})();
`;

describe('SqliteCheckpointer', () => {
  let dir: string;
  let file: string;
  let dataSource: DataSource;
  let checkpointer: SqliteCheckpointer;

  const pragma = async (name: string): Promise<unknown> => {
    const rows: Record<string, unknown>[] = await dataSource.query(`PRAGMA ${name}`);
    return Object.values(rows[0])[0];
  };
  /** The first checkpoint made from now on that `accept`s. */
  const nextCheckpoint = (accept: (report: Copied) => boolean): Promise<Copied> =>
    firstValueFrom(checkpointer.checkpoints$.pipe(filter((r): r is Copied => r.ok && accept(r))));
  /** One commit of ROWS pages: the WAL holds them all until a checkpoint copies them. */
  const writePages = (): Promise<void> =>
    dataSource.transaction(async (manager) => {
      for (let i = 0; i < ROWS; i += 1) {
        await manager.query('INSERT INTO filler (body) VALUES (?)', ['x'.repeat(3500)]);
      }
    });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cta-checkpoint-'));
    file = join(dir, 'tasks.db');
    dataSource = new DataSource({
      ...buildDataSourceOptions({ databaseUrl: `sqlite:///${file}` }),
      migrationsRun: false,
    });
    await dataSource.initialize();
    await dataSource.query('CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    checkpointer = new SqliteCheckpointer(dataSource);
    await checkpointer.onApplicationBootstrap();
  });

  afterEach(async () => {
    await checkpointer.onModuleDestroy();
    if (dataSource.isInitialized) await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("leaves the server's connection to checkpoint only past 8000 pages", async () => {
    expect(await pragma('wal_autocheckpoint')).toBe(8000);
  });

  it('copies what the server wrote into the database file from its worker', async () => {
    const copied = nextCheckpoint((r) => r.log >= ROWS && r.checkpointed === r.log);
    await writePages();
    await copied;
    // The rows are in the database file itself, not only in the WAL.
    expect(statSync(file).size).toBeGreaterThanOrEqual(ROWS * 4096);
  });

  it('lets the WAL start over once the worker copied it', async () => {
    const copiedAll = nextCheckpoint((r) => r.log >= ROWS && r.checkpointed === r.log);
    await writePages();
    await copiedAll;
    const restarted = nextCheckpoint((r) => r.log > 0 && r.log < ROWS);
    await dataSource.query('INSERT INTO filler (body) VALUES (?)', ['after']);
    expect((await restarted).log).toBeLessThan(10);
  });

  it('checkpoints again soon after one that found the WAL growing fast, then at the quiet pace', async () => {
    await checkpointer.onModuleDestroy();
    // Writes come fast when a checkpoint finds ROWS pages that came since the last: the next
    // follows after 10 ms. At the quiet pace the second would come after ten minutes.
    checkpointer = new SqliteCheckpointer(dataSource, {
      quietMs: 600_000,
      busyMs: 10,
      busyFramesPerSecond: 1,
    });
    await writePages();
    const reports: WalCheckpointReport[] = [];
    const subscription = checkpointer.checkpoints$.subscribe((r) => reports.push(r));
    const two = firstValueFrom(checkpointer.checkpoints$.pipe(take(2), toArray()));
    await checkpointer.onApplicationBootstrap();
    const [first, second] = await two;
    expect(first.ok && first.log >= ROWS && first.checkpointed === first.log).toBe(true);
    // Nothing was written since: the second found no growth, and the third waits the quiet ten
    // minutes (at the fast pace thirty would come in the next 300 ms).
    expect(second).toEqual(first);
    await new Promise((resolve) => setTimeout(resolve, 300));
    subscription.unsubscribe();
    expect(reports).toHaveLength(2);
  });

  it('goes on after a checkpoint failed, and reports the failure', async () => {
    // The server's connection takes the database for itself: the worker's cannot checkpoint.
    await dataSource.query('PRAGMA locking_mode = EXCLUSIVE');
    const failed = firstValueFrom(checkpointer.checkpoints$.pipe(filter((r) => !r.ok)));
    await dataSource.query('INSERT INTO filler (body) VALUES (?)', ['locked']);
    expect(await failed).toEqual({ ok: false, error: 'database is locked' });
    await dataSource.query('PRAGMA locking_mode = NORMAL');
    const copied = nextCheckpoint((r) => r.busy === 0 && r.log > 0 && r.checkpointed === r.log);
    // The next statement lets the lock go.
    await dataSource.query('SELECT count(*) FROM filler');
    await copied;
  });

  it('closes its connection on shutdown, so the last one to close removes the WAL', async () => {
    await writePages();
    await checkpointer.onModuleDestroy();
    await dataSource.destroy();
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('keeps a process with nothing else to do alive until its worker has stopped', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      '-r',
      require.resolve('ts-node/register/transpile-only'),
      '-r',
      require.resolve('tsconfig-paths/register'),
      '-e',
      SHUTDOWN_SCRIPT,
      `sqlite:///${file}`,
    ]);
    expect(stdout).toBe('shut down\n');
  });

  it('does nothing on MySQL', async () => {
    const mysql = new SqliteCheckpointer({ options: { type: 'mysql' } } as DataSource);
    await mysql.onApplicationBootstrap();
    await expect(mysql.onModuleDestroy()).resolves.toBeUndefined();
  });
});
