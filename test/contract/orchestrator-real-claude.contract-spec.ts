import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { ClaudeCliRunner } from 'src/claude-cli/claude-cli-runner.service';
import { CliAvailabilityService } from 'src/claude-cli/cli-availability.service';
import { Clock } from 'src/common';
import { AppConfig } from 'src/config/app-config';
import { ProcessLauncher } from 'src/process';
import { DEFAULT_PROMPT_TEMPLATES } from 'src/simulated-human/prompt-templates';
import {
  CWD,
  MockAnthropicApi,
  RecordedRequest,
  ScriptedReply,
  Usage,
} from 'test/contract/mock-anthropic-api';
import {
  copyFixtureProject,
  getDetails,
  Interaction,
  statusChanges,
  statusPath,
  TaskDetails,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { git } from 'test/e2e/support/git-repos';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { NO_ISOLATION } from 'src/process/child-isolation';

/**
 * A whole task through the real server pipeline (AppModule on SQLite, the queue, TaskLifecycle,
 * the SimulatedHuman, the TestRunner) with the real Claude Code CLI (node_modules/.bin/claude)
 * as the agent, offline against MockAnthropicApi. The CLI gets its environment the way
 * real-claude.contract-spec.ts gives it to ClaudeCliRunner: an injected parent environment (a
 * dummy key, ANTHROPIC_BASE_URL on loopback, HOME in a temporary directory) filtered by the
 * production allowlist. Here the runner is built by Nest with that parent environment
 * (CLAUDE_CLI_PARENT_ENV is an @Optional token no module provides, so the provider is
 * overridden with a factory).
 *
 * The mock scripts what "the model" does; everything else is real: the CLI really writes the
 * files with its Write tool and runs Bash, really resumes its conversation on the next turn, and
 * the server really runs `node --test` on the test file the agent wrote.
 */

const CLAUDE = join(__dirname, '..', '..', 'node_modules', '.bin', 'claude');

const SQUARE_SOURCE = "'use strict';\nmodule.exports = function square(x) {\n  return x * x;\n};\n";
const SQUARE_TEST = [
  "'use strict';",
  "const test = require('node:test');",
  "const assert = require('node:assert/strict');",
  "const square = require('../src/square');",
  '',
  "test('square of 7 is 49 (written by the real CLI)', () => {",
  '  assert.equal(square(7), 49);',
  '});',
  '',
  "test('square of a negative number is positive', () => {",
  '  assert.equal(square(-3), 9);',
  '});',
  '',
].join('\n');

const CUBE_SOURCE = "'use strict';\nmodule.exports = function cube(x) {\n  return x * x * x;\n};\n";
const CUBE_TEST = [
  "'use strict';",
  "const test = require('node:test');",
  "const assert = require('node:assert/strict');",
  "const cube = require('../src/cube');",
  '',
  "test('cube of 3 is 27', () => {",
  '  assert.equal(cube(3), 27);',
  '});',
  '',
].join('\n');

const QUESTION =
  'I can put the cube function in src/cube.js or add it to src/math.js.\n\nWhich one would you prefer: a new file src/cube.js, or src/math.js?';

const api = new MockAnthropicApi();
let baseUrl: string;
let work: string;
let home: string;
let t: TestApp;
/** A listening server's URL (see orchestrator-queue.e2e-spec.ts). */
let server: App;
/** The environment the CLI's is filtered from; a test may take the API key out of it. */
const parentEnv: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  baseUrl = await api.start();
  work = realpathSync(mkdtempSync(join(tmpdir(), 'cta-orch-contract-')));
  home = join(work, 'home');
  mkdirSync(home);
  parentEnv.PATH = process.env.PATH;
  parentEnv.HOME = home;
  parentEnv.ANTHROPIC_API_KEY = 'dummy';
  parentEnv.ANTHROPIC_BASE_URL = baseUrl;
  t = await createTestApp({
    env: {
      ORCHESTRATOR_ENABLED: 'true',
      QUEUE_POLL_MS: '100',
      CLAUDE_CLI_COMMAND: CLAUDE,
      CLI_TIMEOUT_SECONDS: '45',
      CLI_INIT_TIMEOUT_SECONDS: '30',
      CLI_RESULT_GRACE_SECONDS: '3',
      KILL_GRACE_SECONDS: '1',
      TEST_TIMEOUT_SECONDS: '30',
      REGRESSION_TIMEOUT_SECONDS: '30',
      API_ERROR_RETRY_DELAY_SECONDS: '1',
      API_ERROR_RETRY_MAX_DELAY_SECONDS: '1',
    },
    override: (b) =>
      b
        .overrideProvider(ClaudeCliRunner)
        .useFactory({
          factory: (config: AppConfig, launcher: ProcessLauncher) =>
            new ClaudeCliRunner(config, launcher, NO_ISOLATION, parentEnv),
          inject: [AppConfig, ProcessLauncher],
        })
        .overrideProvider(CliAvailabilityService)
        .useFactory({
          factory: (config: AppConfig, clock: Clock, launcher: ProcessLauncher) =>
            new CliAvailabilityService(config, clock, launcher, NO_ISOLATION, parentEnv),
          inject: [AppConfig, Clock, ProcessLauncher],
        }),
  });
  await t.app.listen(0, '127.0.0.1');
  server = (await t.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
});

afterAll(async () => {
  await t?.close();
  await api.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

beforeEach(() => api.reset());

async function createTask(
  project: string,
  description: string,
  limits: { max_pauses?: number } = {},
): Promise<string> {
  const session = await request(server)
    .post('/api/v1/sessions')
    .send({ project_path: project, regression_command: 'node --test' })
    .expect(201);
  const task = await request(server)
    .post('/api/v1/tasks')
    .send({ session_id: session.body.id as string, description, ...limits })
    .expect(201);
  return task.body.id as string;
}

/** The text of the last user message of a recorded Messages API request. */
function lastUserText(req: RecordedRequest): string {
  const messages = (req.body?.messages ?? []) as { role: string; content: unknown }[];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  return (last.content as { type: string; text?: string }[])
    .filter((b) => b.type === 'text')
    .map((b) => b.text ?? '')
    .join('\n');
}

function initSessionIds(interactions: Interaction[]): { iteration: number; sessionId: unknown }[] {
  return interactions
    .filter((i) => i.kind === 'system' && i.data?.type === 'init')
    .map((i) => ({ iteration: i.iteration, sessionId: i.data?.session_id }));
}

/** A path in the task's workspace, resolved by the mock when the CLI asks (`CWD`). */
function inWorkspace(relative: string): string {
  return `${CWD}/${relative}`;
}

function write(file: string, content: string, text?: string, usage?: Usage): ScriptedReply {
  return { kind: 'tool_use', name: 'Write', input: { file_path: file, content }, text, usage };
}

/** Checks shared by both scenarios once the task is COMPLETED. */
function expectCompletedWithTests(details: TaskDetails, testFile: string, caseNames: string[]) {
  expect(details).toMatchObject({
    status: 'COMPLETED',
    status_reason: 'verified_without_failing_tests',
    phase: 'done',
    error_message: null,
    cancel_requested: false,
  });
  const generated = details.test_cases.filter((c) => c.kind === 'generated');
  expect(generated.map((c) => c.name).sort()).toEqual([...caseNames].sort());
  expect(generated.every((c) => c.status === 'passed' && c.file_path === testFile)).toBe(true);
  const regression = details.test_cases.filter((c) => c.kind === 'regression');
  expect(regression).toEqual([
    expect.objectContaining({ name: 'regression: node --test', status: 'passed' }),
  ]);
  // The regression suite is the fixture's own tests plus the generated file: all ran.
  expect(regression[0].output).toMatch(/add sums two numbers/);
  expect(regression[0].output).toMatch(new RegExp(caseNames[0].replace(/[()]/g, '\\$&')));
  expect(details.tests).toEqual({
    passed: caseNames.length + 1,
    failed: 0,
    total: caseNames.length + 1,
  });
  const stages = details.interactions.filter((i) => i.kind === 'test' && i.data?.stage);
  // The verification's own runs: the regression baseline before the first turn.
  expect(stages.map((i) => [i.data?.stage, i.iteration, i.data?.passed])).toEqual([
    ['baseline', 0, true],
  ]);
  const testRuns = details.interactions.filter((i) => i.kind === 'test' && !i.data?.stage);
  expect(testRuns.map((i) => [i.data?.kind, i.data?.passed, i.data?.command])).toEqual([
    ['generated', true, ['node', '--test']],
    ['regression', true, ['node', '--test']],
  ]);
  expect(details.result_summary).toContain(
    `generated tests passed: ${caseNames.length} case(s) in ${testFile}`,
  );
}

/** Cost and tokens: the task's totals are the sums of its turns' `result` interactions, all > 0. */
function expectCostsRecorded(
  details: TaskDetails,
  outcomes: string[],
  scriptedInputTokens: number,
): void {
  const results = details.interactions.filter((i) => i.kind === 'result');
  expect(results.map((r) => r.data?.outcome)).toEqual(outcomes);
  for (const r of results) {
    expect(r.cost_usd).toBeGreaterThan(0);
    expect(r.input_tokens).toBeGreaterThan(0);
    expect(r.output_tokens).toBeGreaterThan(0);
  }
  const sum = (f: (i: Interaction) => number | null): number =>
    results.reduce((acc, i) => acc + (f(i) ?? 0), 0);
  expect(details.cost_usd).toBeGreaterThan(0);
  expect(details.cost_usd).toBeCloseTo(
    sum((i) => i.cost_usd),
    8,
  );
  expect(details.input_tokens).toBe(sum((i) => i.input_tokens));
  expect(details.output_tokens).toBe(sum((i) => i.output_tokens));
  expect(details.input_tokens).toBeGreaterThanOrEqual(scriptedInputTokens);
}

describe('a whole task through the server with the real Claude Code CLI (mock API)', () => {
  it('writes code, writes tests on request in the same conversation, the server runs them: COMPLETED', async () => {
    const project = copyFixtureProject('node-basic', work, 'square');
    const source = inWorkspace('src/square.js');
    const testFile = inWorkspace('test/square.test.js');
    api.script(
      // Turn 1 (the task): create the source file, then report DONE.
      write(source, SQUARE_SOURCE, 'I will add src/square.js.', {
        input_tokens: 20_000,
        output_tokens: 300,
      }),
      {
        kind: 'text',
        text: 'Added src/square.js exporting square(x).\nDONE',
        usage: { input_tokens: 21_000, output_tokens: 40 },
      },
      // Turn 2 (the server's write-tests prompt): write the test, run it, report DONE.
      write(testFile, SQUARE_TEST, 'Writing node:test tests.', {
        input_tokens: 22_000,
        output_tokens: 200,
      }),
      {
        kind: 'tool_use',
        name: 'Bash',
        input: { command: 'node --test test/square.test.js', description: 'run the new tests' },
        usage: { input_tokens: 23_000, output_tokens: 30 },
      },
      {
        kind: 'text',
        text: 'Tests written in test/square.test.js and passing.\nDONE',
        usage: { input_tokens: 24_000, output_tokens: 20 },
      },
    );
    const id = await createTask(project, 'Add a square(x) function in src/square.js.');
    const { final } = await waitForTerminal(server, id);
    const details = await getDetails(server, id);
    expect({
      status: final.status,
      reason: final.status_reason,
      error: details.error_message,
    }).toEqual({
      status: 'COMPLETED',
      reason: 'verified_without_failing_tests',
      error: null,
    });

    expect(statusPath(details.interactions)).toEqual([
      'PENDING',
      'RUNNING',
      'TESTING',
      'COMPLETED',
    ]);
    expect(statusChanges(details.interactions).map((c) => c.reason)).toEqual([
      'claimed',
      'tests_requested',
      'verified_without_failing_tests',
    ]);
    expect(details.iteration).toBe(2);
    expect(details.pause_count).toBe(0);

    // The files the CLI's Write tool created are in the task's workspace, as scripted, and are
    // its commit; the user's checkout has none of them.
    const workspace = details.workspace_path!;
    expect(readFileSync(join(workspace, 'src/square.js'), 'utf8')).toBe(SQUARE_SOURCE);
    expect(readFileSync(join(workspace, 'test/square.test.js'), 'utf8')).toBe(SQUARE_TEST);
    expect(git(project, 'show', `${details.head_commit}:src/square.js`)).toBe(SQUARE_SOURCE);
    expect(existsSync(join(project, 'src/square.js'))).toBe(false);

    // The server ran the test file the agent wrote: one passed row per node:test case.
    expectCompletedWithTests(details, 'test/square.test.js', [
      'square of 7 is 49 (written by the real CLI)',
      'square of a negative number is positive',
    ]);

    // One conversation: both turns' init lines carry the task's claude_session_id.
    expect(details.claude_session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(initSessionIds(details.interactions)).toEqual([
      { iteration: 1, sessionId: details.claude_session_id },
      { iteration: 2, sessionId: details.claude_session_id },
    ]);
    const results = details.interactions.filter((i) => i.kind === 'result');
    expect(results.map((r) => r.data?.session_id)).toEqual([
      details.claude_session_id,
      details.claude_session_id,
    ]);

    // What reached the API: 5 main requests, all of the same conversation; the second turn
    // starts with the write-tests prompt on top of the first turn's history (a real resume).
    const main = api.mainRequests();
    expect(main).toHaveLength(5);
    expect(main.map((r) => r.headers['x-claude-code-session-id'])).toEqual(
      Array(5).fill(details.claude_session_id),
    );
    expect(lastUserText(main[0])).toContain('Add a square(x) function in src/square.js.');
    const prompts = details.interactions.filter(
      (i) => i.kind === 'prompt' || i.kind === 'simulated_human',
    );
    expect(prompts.map((p) => [p.kind, p.iteration, p.data?.reason])).toEqual([
      ['prompt', 1, null],
      ['simulated_human', 2, 'write_tests'],
    ]);
    expect(prompts[1].content).toContain(
      DEFAULT_PROMPT_TEMPLATES.writeTests.split('\n')[0].slice(0, 40),
    );
    expect(lastUserText(main[2])).toContain(prompts[1].content);
    const history = JSON.stringify(main[2].body?.messages);
    expect(history).toContain('Add a square(x) function in src/square.js.');
    expect(history).toContain('Added src/square.js exporting square(x).');

    // The agent's own Bash run of the tests went through the real CLI too.
    const bash = details.interactions.find((i) => i.kind === 'tool_use' && i.content === 'Bash');
    expect(bash).toBeDefined();
    const bashResult = details.interactions.find(
      (i) => i.kind === 'tool_result' && i.data?.tool_use_id === bash?.data?.id,
    );
    expect(bashResult?.content).toMatch(/pass 2/);

    expectCostsRecorded(
      details,
      ['success', 'success'],
      20_000 + 21_000 + 22_000 + 23_000 + 24_000,
    );
    expect(details.last_agent_message).toBe(
      'Tests written in test/square.test.js and passing.\nDONE',
    );
  });

  it('a question pauses the task (needs_input); the answer reaches the API as the next user message; then it completes', async () => {
    const project = copyFixtureProject('node-basic', work, 'cube');
    const source = inWorkspace('src/cube.js');
    const testFile = inWorkspace('test/cube.test.js');
    api.script(
      // Turn 1: a question, no DONE.
      { kind: 'text', text: QUESTION },
      // Turn 2 (the simulated human's answer): do the work.
      write(source, CUBE_SOURCE, 'I will use a new file src/cube.js.'),
      { kind: 'text', text: 'Created src/cube.js (chose a new file).\nDONE' },
      // Turn 3 (write tests).
      write(testFile, CUBE_TEST),
      { kind: 'text', text: 'Added test/cube.test.js.\nDONE' },
    );
    const id = await createTask(project, 'Add a cube(x) function.');
    const { final } = await waitForTerminal(server, id);
    const details = await getDetails(server, id);
    expect({
      status: final.status,
      reason: final.status_reason,
      error: details.error_message,
    }).toEqual({
      status: 'COMPLETED',
      reason: 'verified_without_failing_tests',
      error: null,
    });

    expect(statusPath(details.interactions)).toEqual([
      'PENDING',
      'RUNNING',
      'PAUSED',
      'RUNNING',
      'TESTING',
      'COMPLETED',
    ]);
    expect(statusChanges(details.interactions)).toEqual([
      { from: 'PENDING', to: 'RUNNING', reason: 'claimed', iteration: 0 },
      { from: 'RUNNING', to: 'PAUSED', reason: 'needs_input', iteration: 1 },
      { from: 'PAUSED', to: 'RUNNING', reason: 'agent_turn', iteration: 2 },
      { from: 'RUNNING', to: 'TESTING', reason: 'tests_requested', iteration: 3 },
      { from: 'TESTING', to: 'COMPLETED', reason: 'verified_without_failing_tests', iteration: 3 },
    ]);
    expect(details.iteration).toBe(3);
    expect(details.pause_count).toBe(1);

    // The answer prompt quotes the question and is exactly what the CLI sent as the next user
    // message, in the same conversation.
    const answer = details.interactions.find(
      (i) => i.kind === 'simulated_human' && i.data?.reason === 'answer_question',
    );
    expect(answer).toMatchObject({ iteration: 2, data: { intervention: true } });
    expect(answer?.content).toContain('You asked:');
    expect(answer?.content).toContain(QUESTION);
    const main = api.mainRequests();
    expect(main).toHaveLength(5);
    expect(lastUserText(main[1])).toContain(answer!.content);
    expect(JSON.stringify(main[1].body?.messages)).toContain(JSON.stringify(QUESTION).slice(1, -1));

    expect(initSessionIds(details.interactions).map((i) => i.sessionId)).toEqual(
      Array(3).fill(details.claude_session_id),
    );
    expect(readFileSync(join(details.workspace_path!, 'src/cube.js'), 'utf8')).toBe(CUBE_SOURCE);
    expect(readFileSync(join(details.workspace_path!, 'test/cube.test.js'), 'utf8')).toBe(
      CUBE_TEST,
    );
    expectCompletedWithTests(details, 'test/cube.test.js', ['cube of 3 is 27']);
    expectCostsRecorded(details, ['success', 'success', 'success'], 5 * 10);
  });
});

describe('what the replies of the model are taken to mean, with the real CLI (mock API)', () => {
  it('"not DONE yet" and a failure without a question get a continuation, not the tests', async () => {
    const project = copyFixtureProject('node-basic', work, 'not-done');
    const source = inWorkspace('src/cube.js');
    const testFile = inWorkspace('test/cube.test.js');
    api.script(
      { kind: 'text', text: 'I read the code. The cube function is not DONE yet.' },
      { kind: 'text', text: 'The Write tool failed, I could not finish the change.' },
      write(source, CUBE_SOURCE),
      { kind: 'text', text: 'Created src/cube.js.\nDONE' },
      write(testFile, CUBE_TEST),
      { kind: 'text', text: 'Added test/cube.test.js.\nDONE' },
    );
    const id = await createTask(project, 'Add a cube(x) function.');
    const { final } = await waitForTerminal(server, id);
    const details = await getDetails(server, id);
    expect(final).toMatchObject({ status: 'COMPLETED', iteration: 4, pause_count: 2 });
    const human = details.interactions.filter((i) => i.kind === 'simulated_human');
    expect(human.map((h) => h.data?.reason)).toEqual([
      'continue_stop_short',
      'continue_stop_short',
      'write_tests',
    ]);
    // The continuation really reached the model as its next user message.
    expect(lastUserText(api.mainRequests()[1])).toContain(human[0].content);
    expectCompletedWithTests(details, 'test/cube.test.js', ['cube of 3 is 27']);
  });

  it('a model that never writes its tests: told so once, then FAILED no_tests_written', async () => {
    const project = copyFixtureProject('node-basic', work, 'no-tests');
    api.script(
      write(inWorkspace('src/cube.js'), CUBE_SOURCE),
      { kind: 'text', text: 'Created src/cube.js.\nDONE' },
      { kind: 'text', text: 'The tests are written.\nDONE' },
      { kind: 'text', text: 'I have written the tests now.\nDONE' },
    );
    const id = await createTask(project, 'Add a cube(x) function.');
    const { final } = await waitForTerminal(server, id);
    const details = await getDetails(server, id);
    expect(final).toMatchObject({
      status: 'FAILED',
      status_reason: 'no_tests_written',
      iteration: 3,
      tests: { passed: 0, failed: 0, total: 0 },
    });
    const noTests = details.interactions.find(
      (i) => i.kind === 'simulated_human' && i.data?.reason === 'no_tests',
    );
    expect(noTests?.content).toMatch(/left no test file/);
    expect(lastUserText(api.mainRequests()[3])).toContain(noTests!.content);
    expect(details.interactions.filter((i) => i.kind === 'test').map((i) => i.data?.stage)).toEqual(
      ['baseline'],
    );
    expect(details.test_cases).toEqual([]);
  });

  it('an API that answers 529 every time: overloaded, waits, then FAILED api_unavailable', async () => {
    const project = copyFixtureProject('node-basic', work, 'overloaded');
    for (let i = 0; i < 20; i += 1) {
      api.script({
        kind: 'error',
        status: 529,
        errorType: 'overloaded_error',
        message: 'Overloaded',
      });
    }
    const id = await createTask(project, 'Add a cube(x) function.', { max_pauses: 1 });
    const { final } = await waitForTerminal(server, id);
    const details = await getDetails(server, id);
    expect(final).toMatchObject({
      status: 'FAILED',
      status_reason: 'api_unavailable',
      iteration: 2,
    });
    const results = details.interactions.filter((i) => i.kind === 'result');
    expect(results.map((r) => r.data?.api_error)).toEqual(['overloaded', 'overloaded']);
    // The CLI's own message about the error is stored once, as the turn's error.
    const errors = details.interactions.filter((i) => i.kind === 'error');
    expect(errors).toHaveLength(2);
    expect(details.interactions.filter((i) => i.kind === 'assistant')).toEqual([]);
    expect(
      details.interactions.filter((i) => i.kind === 'simulated_human')[0].data?.waited_ms,
    ).toBe(1000);
  });

  it('a CLI without credentials: FAILED cli_not_logged_in, saying how to log it in', async () => {
    const project = copyFixtureProject('node-basic', work, 'logged-out');
    const key = parentEnv.ANTHROPIC_API_KEY;
    delete parentEnv.ANTHROPIC_API_KEY;
    try {
      const id = await createTask(project, 'Add a cube(x) function.');
      const { final } = await waitForTerminal(server, id);
      expect(final).toMatchObject({
        status: 'FAILED',
        status_reason: 'cli_not_logged_in',
        iteration: 1,
      });
      expect(final.error_message).toMatch(/Not logged in/);
      expect(final.error_message).toMatch(/ANTHROPIC_API_KEY/);
      expect(api.mainRequests()).toEqual([]);
    } finally {
      parentEnv.ANTHROPIC_API_KEY = key;
    }
  });
});
