import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { followTask } from 'test/e2e/support/task-wakeups';
import type {
  InteractionResponseDto,
  TaskDetailResponseDto,
  TaskStatusResponseDto,
  TestCaseResponseDto,
} from 'sdk/client';

/** Fixture projects the orchestrator e2e tests copy (test/fixtures/projects/*). */
export const FIXTURE_PROJECTS = join(__dirname, '..', '..', 'fixtures', 'projects');

/** The fake `claude` CLI (see its header comment for the scenarios). */
export const FAKE_CLAUDE = join(__dirname, '..', '..', 'fixtures', 'fake-claude', 'claude');

/** An app that runs tasks with the fake CLI, claiming at once and ending processes quickly. */
export const FAKE_RUNNER_ENV = {
  ORCHESTRATOR_ENABLED: 'true',
  QUEUE_POLL_MS: '100',
  CLAUDE_CLI_COMMAND: FAKE_CLAUDE,
  CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
  KILL_GRACE_SECONDS: '1',
} as const;

/**
 * What an app that verifies completions with the fake CLI needs: the runner's settings, failing
 * tests required, and time limits a loaded machine keeps within.
 */
export const VERIFYING_RUNNER_ENV: Record<string, string> = {
  ...FAKE_RUNNER_ENV,
  MAX_CONCURRENT_TASKS: '4',
  CLI_INIT_TIMEOUT_SECONDS: '120',
  TEST_TIMEOUT_SECONDS: '120',
  REGRESSION_TIMEOUT_SECONDS: '120',
  REQUIRE_FAILING_TESTS: 'true',
};

export type FixtureName = 'node-basic' | 'node-build' | 'python-basic' | 'rust-basic';

/**
 * Copies a fixture project to `parent/name`, makes it a git repository with one commit (so the
 * test runner finds new test files through `git status`, as in a real checkout) and returns its
 * canonical path (what the server stores and the fake CLI logs as cwd).
 */
export function copyFixtureProject(fixture: FixtureName, parent: string, name: string): string {
  const target = join(parent, name);
  if (existsSync(target)) throw new Error(`${target} already exists`);
  cpSync(join(FIXTURE_PROJECTS, fixture), target, { recursive: true });
  const gitEnv = {
    PATH: process.env.PATH,
    HOME: parent,
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@example.com',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@example.com',
  };
  for (const args of [
    ['init', '-q'],
    ['add', '-A'],
    ['commit', '-q', '-m', 'fixture'],
  ]) {
    execFileSync('git', args, { cwd: target, env: gitEnv, stdio: 'ignore' });
  }
  return realpathSync(target);
}

/**
 * A temporary directory for a spec file's project copies, with the fake CLI's log
 * (`FAKE_CLAUDE_LOG`, read back by `fakeInvocations`) and state in it, for the file's duration:
 * registers its own `beforeAll` / `afterAll` (the server passes `FAKE_CLAUDE_*` to the CLI).
 */
export function fakeClaudeWorkdir(prefix: string): { root(): string; logFile(): string } {
  let root = '';
  const saved = {
    FAKE_CLAUDE_LOG: process.env.FAKE_CLAUDE_LOG,
    FAKE_CLAUDE_STATE_DIR: process.env.FAKE_CLAUDE_STATE_DIR,
  };
  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
    process.env.FAKE_CLAUDE_LOG = join(root, 'fake-claude.log');
    process.env.FAKE_CLAUDE_STATE_DIR = join(root, 'fake-state');
  });
  afterAll(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    if (root) rmSync(root, { recursive: true, force: true });
  });
  return { root: () => root, logFile: () => join(root, 'fake-claude.log') };
}

/** A `[[fake-script:...]]` directive: item k scripts the k-th turn of the conversation. */
export function fakeScript(...items: string[]): string {
  return `[[fake-script:${items.join(' | ')}]]`;
}

/** A per-project run script: item k is the fake CLI's k-th run in the project, any conversation. */
export function fakeRuns(...items: string[]): string {
  return `[[fake-runs:${items.join(' | ')}]]`;
}

/** A directive argument value as a quoted JSON string (spaces, newlines, `|` and `]` allowed). */
export const quoted = (value: string): string => JSON.stringify(value);

/** A fake-script turn that writes `files` (path, content) with the agent's file tools. */
export const editFiles = (...files: [string, string][]): string =>
  `edit-files ${files.map(([p, c]) => `path=${p} content=${quoted(c)}`).join(' ')}`;

/** A fake-script turn that runs `commands` with the agent's shell tool. */
export const shellCommands = (...commands: string[]): string =>
  `shell ${commands.map((c) => `command=${quoted(c)}`).join(' ')}`;

/** The API's own response types, from the generated client SDK. */
export type TaskStatusSummary = TaskStatusResponseDto;
export type Interaction = InteractionResponseDto;
export type TestCaseRow = TestCaseResponseDto;
export type TaskDetails = TaskDetailResponseDto;

export const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];

export async function getStatus(server: App, taskId: string): Promise<TaskStatusSummary> {
  const res = await request(server).get(`/api/v1/tasks/${taskId}/status`).expect(200);
  return res.body as TaskStatusSummary;
}

export async function getDetails(server: App, taskId: string): Promise<TaskDetails> {
  const res = await request(server).get(`/api/v1/tasks/${taskId}`).expect(200);
  return res.body as TaskDetails;
}

export interface TerminalResult {
  /** The status summary once the task is terminal. */
  final: TaskStatusSummary;
}

/**
 * How long a task may show no progress at all (its status, phase, iteration and `updated_at` all
 * unchanged) before a wait gives up. Not a deadline for the task: a slow machine makes a task
 * slower, never silent for minutes.
 */
export const STALL_MS = 120_000;

/** How often a wait reads the task's status when its event stream has not said it ended. */
const LOOK_EVERY_MS = 1000;

/**
 * Waits until the task is COMPLETED, FAILED or CANCELLED, for as long as the task keeps making
 * progress: it throws only when nothing about the task changed for `stallMs` (no event, and its
 * status, phase, iteration and `updated_at` the same), naming the last status and the last
 * interactions so a stuck task is diagnosable. It follows the task's event stream and reads the
 * status once the stream ends, and every LOOK_EVERY_MS meanwhile (every 50 ms where the stream
 * cannot be followed): a wait costs the server under test a handful of reads, not a read every
 * 50 ms.
 */
export async function waitForTerminal(
  server: App,
  taskId: string,
  { stallMs = STALL_MS }: { stallMs?: number } = {},
): Promise<TerminalResult> {
  const seen: string[] = [];
  let progress = '';
  let progressAt = Date.now();
  const wakeups = await followTask(server, taskId);
  try {
    for (;;) {
      const s = await getStatus(wakeups.url, taskId);
      const label = `${s.status}/${s.status_reason ?? '-'}/${s.phase ?? '-'}`;
      if (seen[seen.length - 1] !== label) seen.push(label);
      if (TERMINAL.includes(s.status)) return { final: s };
      const now = `${label}/${s.iteration}/${s.updated_at}/${wakeups.events}`;
      if (now !== progress) {
        progress = now;
        progressAt = Date.now();
      } else if (Date.now() - progressAt > stallMs) {
        const details = await getDetails(wakeups.url, taskId).catch(() => null);
        const tail = (details?.interactions ?? [])
          .slice(-8)
          .map((i) => `  #${i.id} ${i.kind} it=${i.iteration} ${i.content.slice(0, 160)}`)
          .join('\n');
        throw new Error(
          `task ${taskId} made no progress for ${stallMs} ms; seen ${seen.join(' -> ')}\n${tail}`,
        );
      }
      await wakeups.next(LOOK_EVERY_MS);
    }
  } finally {
    await wakeups.close();
  }
}

/**
 * Creates a session (`session`: its body, `project_path` included) and a task in it (`task`: its
 * description, or its body without `session_id`); the task's id.
 */
export async function createSessionTask(
  server: App,
  session: Record<string, unknown>,
  task: string | Record<string, unknown>,
): Promise<string> {
  const created = await request(server).post('/api/v1/sessions').send(session).expect(201);
  const body = typeof task === 'string' ? { description: task } : task;
  const res = await request(server)
    .post('/api/v1/tasks')
    .send({ session_id: created.body.id, ...body })
    .expect(201);
  return res.body.id as string;
}

/** `createSessionTask`, then the task waited for to its end: its id, final status and details. */
export async function runSessionTask(
  server: App,
  session: Record<string, unknown>,
  task: string | Record<string, unknown>,
): Promise<{ id: string; final: TaskStatusSummary; details: TaskDetails }> {
  const id = await createSessionTask(server, session, task);
  const { final } = await waitForTerminal(server, id);
  return { id, final, details: await getDetails(server, id) };
}

export interface StatusChange {
  from: string | null;
  to: string;
  reason: string | null;
  iteration: number;
}

/** The `status` interactions as `{from, to, reason}`. */
export function statusChanges(interactions: Interaction[]): StatusChange[] {
  return interactions
    .filter((i) => i.kind === 'status')
    .map((i) => ({
      from: (i.data?.from as string | null | undefined) ?? null,
      to: i.data?.to as string,
      reason: (i.data?.reason as string | null | undefined) ?? null,
      iteration: i.iteration,
    }));
}

/**
 * The statuses a task went through according to its `status` interactions, consecutive repeats
 * collapsed: e.g. ['PENDING', 'RUNNING', 'TESTING', 'COMPLETED'].
 */
export function statusPath(interactions: Interaction[]): string[] {
  const changes = statusChanges(interactions);
  const path: string[] = [];
  const push = (s: string | null): void => {
    if (s !== null && path[path.length - 1] !== s) path.push(s);
  };
  if (changes.length > 0) push(changes[0].from);
  for (const c of changes) push(c.to);
  return path;
}

/** One line of $FAKE_CLAUDE_LOG (one per fake CLI invocation). */
export interface FakeLogEntry {
  argv: string[];
  cwd: string;
  pid: number;
  prompt: string;
  scenario: string;
  sessionId: string;
  turn: number | null;
  resume: boolean;
  envNames: string[];
}

/**
 * The fake CLI's invocations, optionally only those run in `cwd`. Only whole lines: another fake
 * CLI may be appending its line (a prompt can be hundreds of KB) while this reads.
 */
export function fakeInvocations(logFile: string, cwd?: string): FakeLogEntry[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .slice(0, -1)
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as FakeLogEntry)
    .filter((e) => cwd === undefined || e.cwd === cwd);
}
