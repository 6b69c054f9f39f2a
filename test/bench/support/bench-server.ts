import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerProcess, startTestServer } from 'test/e2e/support/server-process';
import { copyFixtureProject } from 'test/e2e/support/task-polling';

/**
 * A built server (`npm run build`) started as its own process on a fresh SQLite file in a temp
 * directory, for benchmarks that measure that process from outside: its CPU times, its memory,
 * its answers. What it prints goes to a file there (`server.log`), as a deployment's log goes to
 * another process: the benchmark process, which also generates the load, reads none of it.
 * Progress is read from the database file (read-only, another process), which costs the server
 * nothing.
 */
export interface BenchServer {
  base: string;
  /** The server's SQLite file. */
  dbFile: string;
  server: ServerProcess;
  work: string;
  /**
   * Creates `count` git-initialised copies of the node-basic fixture, one session each (isolation
   * `worktree` unless told `none`).
   */
  sessions(count: number, isolation?: 'worktree' | 'none'): Promise<string[]>;
  /** Creates one task per session; returns the task ids. */
  submit(sessions: readonly string[], description: string): Promise<string[]>;
  /** Resolves once every task of `ids` is terminal (COMPLETED, FAILED, CANCELLED). */
  waitTerminal(ids: readonly string[]): Promise<Map<string, string>>;
  /** Runs a read-only query on the server's database. */
  query<T>(sql: string, ...params: unknown[]): T[];
  stop(): Promise<void>;
}

/** A server that runs `tasks` tasks at once, all queued together, without a rate limit. */
export function concurrentTasksEnv(tasks: number): Record<string, string> {
  return {
    MAX_CONCURRENT_TASKS: String(tasks),
    MAX_QUEUED_TASKS_PER_KEY: String(tasks),
    MAX_QUEUED_TASKS: String(tasks),
    RATE_LIMIT_PER_MINUTE: '0',
    QUEUE_POLL_MS: '1000',
  };
}

/** `entry`: another build's `dist/src/main.js` rather than this one's. */
export async function startBenchServer(
  env: Record<string, string>,
  { entry }: { entry?: string } = {},
): Promise<BenchServer> {
  const work = mkdtempSync(join(tmpdir(), 'cta-bench-'));
  const dbFile = join(work, 'tasks.db');
  const server = await startTestServer(
    work,
    {
      DATABASE_URL: `sqlite:///${dbFile}`,
      FAKE_CLAUDE_STATE_DIR: join(work, 'fake-state'),
      LOG_LEVEL: 'warn',
      ...env,
    },
    { outputFile: join(work, 'server.log'), entry },
  );
  const base = server.url as unknown as string;
  let db: Database.Database | null = null;
  const reader = () => (db ??= new Database(dbFile, { readonly: true, fileMustExist: true }));
  const post = async (path: string, body: unknown): Promise<string> => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  };
  let projects = 0;
  return {
    base,
    dbFile,
    server,
    work,
    async sessions(count, isolation = 'worktree') {
      const ids: string[] = [];
      for (let i = 0; i < count; i += 1) {
        const project = copyFixtureProject('node-basic', work, `p${(projects += 1)}`);
        ids.push(await post('/api/v1/sessions', { project_path: project, isolation }));
      }
      return ids;
    },
    async submit(sessions, description) {
      const ids: string[] = [];
      for (const session of sessions) {
        ids.push(await post('/api/v1/tasks', { session_id: session, description }));
      }
      return ids;
    },
    async waitTerminal(ids) {
      const wanted = new Set(ids);
      for (;;) {
        const rows = reader()
          .prepare(
            `SELECT id, status FROM tasks WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
          )
          .all() as { id: string; status: string }[];
        const done = new Map(rows.filter((r) => wanted.has(r.id)).map((r) => [r.id, r.status]));
        if (done.size === wanted.size) return done;
        if (server.child.exitCode !== null) throw new Error(`server exited:\n${server.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    query<T>(sql: string, ...params: unknown[]): T[] {
      return reader()
        .prepare(sql)
        .all(...params) as T[];
    },
    async stop() {
      db?.close();
      server.child.kill('SIGTERM');
      await server.exited;
      rmSync(work, { recursive: true, force: true });
    },
  };
}
