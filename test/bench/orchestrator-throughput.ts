/**
 * Benchmark: how many tasks per minute the orchestrator completes, and what the queue adds, at
 * MAX_CONCURRENT_TASKS = 1, 2 and 4 (and 8), on SQLite and (when it answers) MariaDB, in three
 * layouts:
 *
 * - `projects, in place`: each task in its own git-initialised copy of
 *   test/fixtures/projects/node-basic, working in it directly (isolation `none`);
 * - `projects, workspaces`: the same, each task in its own git worktree and branch (isolation
 *   `worktree`, the default for a git repository): what a workspace costs per task (worktree
 *   add, the commit at the end);
 * - `one repository, workspaces`: 8 tasks on ONE repository at once, each in its own worktree
 *   (their git operations share the repository's lock).
 *
 * Each task runs the full lifecycle through real child processes: two fake-CLI turns (the work,
 * which writes a source file, then the write-tests turn, which writes a passing node:test file)
 * and one `node --test` run of the generated file.
 *
 *   npx ts-node -r tsconfig-paths/register --transpile-only test/bench/orchestrator-throughput.ts [tasks]
 *
 * Prints a Markdown table; the recorded output is in test/bench/RESULTS.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFixtureProject, FAKE_CLAUDE, fakeScript } from 'test/e2e/support/task-polling';
import { createTestApp } from 'test/e2e/support/test-app';
import { mysqlAvailability } from 'test/e2e/support/test-database';

interface TaskTimes {
  status: string;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

type Layout = 'projects, in place' | 'projects, workspaces' | 'one repository, workspaces';

async function run(
  database: 'sqlite' | 'mysql',
  layout: Layout,
  concurrency: number,
  tasks: number,
) {
  const work = mkdtempSync(join(tmpdir(), 'bench-orch-'));
  process.env.FAKE_CLAUDE_STATE_DIR = join(work, 'state');
  delete process.env.FAKE_CLAUDE_LOG;
  const app = await createTestApp({
    database,
    logger: ['error'],
    env: {
      ORCHESTRATOR_ENABLED: 'true',
      QUEUE_POLL_MS: '200',
      MAX_CONCURRENT_TASKS: String(concurrency),
      CLAUDE_CLI_COMMAND: FAKE_CLAUDE,
      CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
    },
  });
  try {
    await app.app.listen(0, '127.0.0.1');
    const base = (await app.app.getUrl()).replace('[::1]', '127.0.0.1');
    const post = async (path: string, body: unknown): Promise<{ id: string }> => {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string };
    };
    const isolation = layout === 'projects, in place' ? 'none' : 'worktree';
    const sessions: string[] = [];
    if (layout === 'one repository, workspaces') {
      const repo = copyFixtureProject('node-basic', work, 'repo');
      const session = (await post('/api/v1/sessions', { project_path: repo, isolation })).id;
      for (let i = 0; i < tasks; i += 1) sessions.push(session);
    } else {
      for (let i = 0; i < tasks; i += 1) {
        const project = copyFixtureProject('node-basic', work, `p${i}`);
        sessions.push((await post('/api/v1/sessions', { project_path: project, isolation })).id);
      }
    }
    const description = (i: number): string =>
      `Add helper ${i}. ${fakeScript(
        `edit-files path=src/helper${i}.js content="module.exports = ${i};"`,
        `write-tests lang=node result=pass path=test/helper${i}.test.js`,
      )}`;
    const started = Date.now();
    const ids: string[] = [];
    for (const [i, session] of sessions.entries()) {
      ids.push(
        (await post('/api/v1/tasks', { session_id: session, description: description(i) })).id,
      );
    }
    let finished: TaskTimes[] = [];
    for (;;) {
      finished = await Promise.all(
        ids.map(
          async (id) =>
            (await (await fetch(`${base}/api/v1/tasks/${id}/status`)).json()) as TaskTimes,
        ),
      );
      if (finished.every((t) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(t.status))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const wallMs = Date.now() - started;
    const completed = finished.filter((t) => t.status === 'COMPLETED').length;
    const durations = finished.map(
      (t) => new Date(t.completed_at!).getTime() - new Date(t.started_at!).getTime(),
    );
    return {
      database,
      layout,
      concurrency,
      tasks,
      completed,
      wallMs,
      perMinute: (completed / wallMs) * 60_000,
      taskP50: percentile(durations, 50),
      taskP95: percentile(durations, 95),
    };
  } finally {
    await app.close();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const tasks = Number(process.argv[2] ?? 16);
  const databases: ('sqlite' | 'mysql')[] = ['sqlite'];
  if (mysqlAvailability().available) databases.push('mysql');
  console.log(
    `Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${tasks} tasks per row on separate projects, 8 on one repository\n`,
  );
  console.log(
    '| database | layout | MAX_CONCURRENT_TASKS | completed | wall time (s) | tasks/min | task p50 (ms) | task p95 (ms) |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  const rows: [Layout, number[], number][] = [
    ['projects, in place', [1, 2, 4], tasks],
    ['projects, workspaces', [1, 2, 4], tasks],
    ['one repository, workspaces', [1, 2, 4, 8], 8],
  ];
  for (const database of databases) {
    for (const [layout, concurrencies, count] of rows) {
      for (const concurrency of concurrencies) {
        const r = await run(database, layout, concurrency, count);
        console.log(
          `| ${r.database} | ${r.layout} | ${r.concurrency} | ${r.completed}/${r.tasks} | ${(r.wallMs / 1000).toFixed(1)} | ${r.perMinute.toFixed(1)} | ${r.taskP50} | ${r.taskP95} |`,
        );
      }
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
