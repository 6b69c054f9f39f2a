/**
 * What WAL checkpoints cost the server's commits (issue 13, target b): a commit that finds the
 * WAL past `wal_autocheckpoint` pages copies it into the database file inside that commit, on the
 * event loop. Two modes on the app's own SQLite options (WAL, `synchronous=NORMAL`):
 *
 * - `in commits`: SQLite's default, the server's connection checkpoints every 1000 pages;
 * - `worker`: `SqliteCheckpointer` started as the server starts it (a worker thread checkpoints
 *   on its `CheckpointSchedule`, the server's connection only past 8000 pages; every 200 ms
 *   when RESULTS.md's runs of this benchmark were made).
 *
 * Each run writes `COMMITS` transactions of `ROWS_PER_COMMIT` rows of about 600 bytes (a batch
 * of a turn's events), one every millisecond timer, and times each commit on the thread that
 * makes it; the WAL file's size is read every 100 commits.
 *
 *   TS_NODE_PROJECT=tsconfig.json npx ts-node -r tsconfig-paths/register --transpile-only \
 *     test/bench/wal-checkpoints.ts [runs=3]
 *
 * Recorded output: test/bench/RESULTS.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/database-options';
import { SqliteCheckpointer } from 'src/database/sqlite-checkpointer';
import { sqliteConnectionOf } from 'src/database/sqlite-connection';
import { percentile } from 'test/bench/support/stats';
import { walFileBytes } from 'test/bench/support/wal-file';

const COMMITS = 10_000;
const ROWS_PER_COMMIT = 8;
const BODY = 'x'.repeat(600);

type Mode = 'in commits' | 'worker';

interface RunResult {
  commitsMs: number[];
  walMaxMb: number;
}

async function run(mode: Mode): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cta-wal-bench-'));
  const file = join(dir, 'tasks.db');
  const dataSource = new DataSource({
    ...buildDataSourceOptions({ databaseUrl: `sqlite:///${file}` }),
    migrationsRun: false,
  });
  await dataSource.initialize();
  const checkpointer = mode === 'worker' ? new SqliteCheckpointer(dataSource) : null;
  try {
    await checkpointer?.onApplicationBootstrap();
    const db = sqliteConnectionOf(dataSource)!;
    db.exec(
      'CREATE TABLE events (id INTEGER PRIMARY KEY, task TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL)',
    );
    db.exec('CREATE INDEX events_task_seq ON events (task, seq)');
    const insert = db.prepare('INSERT INTO events (task, seq, body) VALUES (?, ?, ?)');
    const commit = db.transaction((batch: number) => {
      for (let row = 0; row < ROWS_PER_COMMIT; row += 1) {
        insert.run(`task-${batch % 200}`, batch * ROWS_PER_COMMIT + row, BODY);
      }
    });
    const commitsMs: number[] = [];
    let walMax = 0;
    for (let batch = 0; batch < COMMITS; batch += 1) {
      const started = process.hrtime.bigint();
      commit(batch);
      commitsMs.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (batch % 100 === 0) walMax = Math.max(walMax, walFileBytes(file));
      await sleep(1);
    }
    return { commitsMs, walMaxMb: walMax / 1024 / 1024 };
  } finally {
    await checkpointer?.onModuleDestroy();
    await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? '3');
  console.log(
    `Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${COMMITS} commits of ${ROWS_PER_COMMIT} rows per run\n`,
  );
  console.log(
    '| run | checkpoints | commit p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | commits over 5 ms | WAL high-water (MB) |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (let i = 1; i <= runs; i += 1) {
    for (const mode of ['in commits', 'worker'] as const) {
      const { commitsMs, walMaxMb } = await run(mode);
      const over = commitsMs.filter((ms) => ms > 5).length;
      const figures = [50, 99, 99.9].map((p) => percentile(commitsMs, p).toFixed(2));
      console.log(
        `| ${i} | ${mode} | ${figures.join(' | ')} | ${Math.max(...commitsMs).toFixed(2)} | ${over} | ${walMaxMb.toFixed(1)} |`,
      );
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
