/**
 * The baseline of the status-read benchmark: a bare `node:http` server answering
 * `GET /api/v1/tasks/<id>/status` from the same SQLite file with one prepared better-sqlite3
 * statement and the same JSON fields, nothing else (no framework, validation, auth or logging).
 *
 *   node -r ts-node/register/transpile-only test/bench/support/bare-status-server.ts <db> <port>
 *
 * Prints `listening <port>` once it accepts connections.
 */
import Database from 'better-sqlite3';
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

const [file, port] = process.argv.slice(2);
const db = new Database(file, { readonly: true, fileMustExist: true });
const select = db.prepare(
  `SELECT id, status, status_reason, phase, iteration, max_iterations, pause_count, max_pauses,
     last_agent_message, error_message, tests_passed, tests_failed, tests_total, cost_usd,
     input_tokens, output_tokens, created_at, started_at, completed_at, updated_at
   FROM tasks WHERE id = ?`,
);
const iso = (value: string | null) => (value === null ? null : new Date(`${value}Z`).toISOString());
const PATH = /^\/api\/v1\/tasks\/([0-9a-f-]{36})\/status$/;

createServer((req, res) => {
  const match = PATH.exec(req.url ?? '');
  const row = match ? (select.get(match[1]) as Row | undefined) : undefined;
  if (!row) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"task_not_found"}');
    return;
  }
  const body = JSON.stringify({
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
  });
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
}).listen(Number(port), '127.0.0.1', () => console.log(`listening ${port}`));
