/**
 * The baselines of the status-read benchmark: a server answering `GET /api/v1/tasks/<id>/status`
 * from the same SQLite file with one prepared better-sqlite3 statement and the same JSON fields,
 * nothing else (no validation, auth, security headers or logging), either
 * - `bare`: a bare `node:http` server (the baseline), or
 * - `express`: the same read as one Express route answered with `res.json`, the HTTP framework
 *   under the server's Nest application: what that framework alone leaves of the bare figure.
 *
 *   node -r ts-node/register/transpile-only test/bench/support/baseline-status-server.ts \
 *     <bare|express> <db> <port>
 *
 * Prints `listening <port>` once it accepts connections.
 */
import Database from 'better-sqlite3';
import express from 'express';
import { createServer } from 'node:http';

interface Row {
  id: string;
  status: string;
  status_reason: string | null;
  phase: string | null;
  iteration: number;
  max_iterations: number;
  pause_count: number;
  max_pauses: number;
  last_agent_message: string | null;
  error_message: string | null;
  tests_passed: number;
  tests_failed: number;
  tests_total: number;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string;
}

const [mode, file, port] = process.argv.slice(2);
const db = new Database(file, { readonly: true, fileMustExist: true });
const select = db.prepare(
  `SELECT id, status, status_reason, phase, iteration, max_iterations, pause_count, max_pauses,
     last_agent_message, error_message, tests_passed, tests_failed, tests_total, cost_usd,
     input_tokens, output_tokens, created_at, started_at, completed_at, updated_at
   FROM tasks WHERE id = ?`,
);
const iso = (value: string | null) => (value === null ? null : new Date(`${value}Z`).toISOString());
const PATH = /^\/api\/v1\/tasks\/([0-9a-f-]{36})\/status$/;

/** The status summary of task `id`, or null when there is none. */
function summary(id: string): object | null {
  const row = select.get(id) as Row | undefined;
  if (!row) return null;
  return {
    id: row.id,
    status: row.status,
    status_reason: row.status_reason,
    phase: row.phase,
    iteration: row.iteration,
    max_iterations: row.max_iterations,
    pause_count: row.pause_count,
    max_pauses: row.max_pauses,
    last_agent_message: row.last_agent_message,
    error_message: row.error_message,
    tests: { passed: row.tests_passed, failed: row.tests_failed, total: row.tests_total },
    cost_usd: row.cost_usd,
    input_tokens: row.input_tokens,
    output_tokens: row.output_tokens,
    created_at: iso(row.created_at),
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    updated_at: iso(row.updated_at),
  };
}

const NOT_FOUND = { code: 'task_not_found' };
const listening = () => console.log(`listening ${port}`);

if (mode === 'express') {
  const app = express();
  app.get('/api/v1/tasks/:id/status', (req, res) => {
    const body = summary(req.params.id);
    if (body === null) res.status(404).json(NOT_FOUND);
    else res.json(body);
  });
  app.listen(Number(port), '127.0.0.1', listening);
} else {
  createServer((req, res) => {
    const match = PATH.exec(req.url ?? '');
    const body = match ? summary(match[1]) : null;
    res
      .writeHead(body === null ? 404 : 200, { 'content-type': 'application/json; charset=utf-8' })
      .end(JSON.stringify(body ?? NOT_FOUND));
  }).listen(Number(port), '127.0.0.1', listening);
}
