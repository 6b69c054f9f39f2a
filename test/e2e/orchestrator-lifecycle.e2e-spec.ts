import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { MAX_INT_COLUMN } from 'src/database/column-types';
import { isProcessAlive } from 'src/process/process-group';
import { MAX_TURN_STORED_BYTES } from 'src/orchestrator/run/turn-records';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import {
  copyFixtureProject,
  FAKE_CLAUDE,
  fakeInvocations,
  FakeLogEntry,
  fakeRuns,
  fakeScript,
  FIXTURE_PROJECTS,
  FixtureName,
  getDetails,
  Interaction,
  quoted,
  statusChanges,
  statusPath,
  TaskDetails,
  TerminalResult,
  waitForTerminal,
  fakeClaudeWorkdir,
} from 'test/e2e/support/task-polling';
import { eventually } from 'test/e2e/support/eventually';
import { checkoutFingerprint, git } from 'test/e2e/support/git-repos';

/**
 * END-TO-END TASK LIFECYCLES: the real AppModule with the orchestrator on, driving the fake
 * `claude` CLI (test/fixtures/fake-claude/claude) in git-initialised copies of the fixture
 * projects, with real `node --test` / `python3 -m unittest` runs. Everything is observed through
 * the HTTP API (status polling, task details), the fake CLI's invocation log and the files in
 * the project copies.
 *
 * The lifecycle scenarios are independent tasks in different project directories, so they are
 * all queued at once in `beforeAll` (MAX_CONCURRENT_TASKS is raised) and each `it` awaits and
 * checks its own task: the file takes about as long as its slowest task. Nothing here depends on
 * how fast the machine is: a task is awaited for as long as it makes progress
 * (`waitForTerminal`), and the server's own watchdogs are far above what a turn needs.
 */

const ORIGINAL_MATH_JS = readFileSync(
  join(FIXTURE_PROJECTS, 'node-basic', 'src', 'math.js'),
  'utf8',
);
const BROKEN_MATH_JS = ORIGINAL_MATH_JS.replace('return a - b;', 'return a + b;');
const MULTIPLY_JS =
  "'use strict';\n\nfunction multiply(a, b) {\n  return a * b;\n}\n\nmodule.exports = { multiply };\n";
const DOUBLE_JS = "'use strict';\n\nmodule.exports = { double: (x) => x * 2 };\n";
const POWER_PY = 'def power(base, exp):\n    return base ** exp\n';

/** The fake CLI's question (ask-question scenario). */
const FAKE_QUESTION = 'should the new function accept negative numbers?';

interface Scenario {
  fixture: FixtureName;
  description: string;
  session?: Record<string, unknown>;
  task?: Record<string, unknown>;
}

interface Run {
  project: string;
  /** The task's workspace: where the agent and the tests ran. */
  workspace: string;
  /** The user's checkout before the task (`checkoutFingerprint`). */
  before: Record<string, string>;
  taskId: string;
  result: TerminalResult;
  details: TaskDetails;
  /** The fake CLI's invocations in this project, in order. */
  invocations: FakeLogEntry[];
}

/** The lifecycle scenarios, all queued together. Keys are the project directory names. */
const SCENARIOS = {
  'node-happy': {
    fixture: 'node-basic',
    description: `Add a multiply function in src/multiply.js. ${fakeScript(
      `edit-files path=src/multiply.js content=${quoted(MULTIPLY_JS)} cost=0.03 input_tokens=120 output_tokens=40`,
      'write-tests lang=node result=pass name=multiply count=2 cost=0.02 input_tokens=80 output_tokens=30',
    )}`,
  },
  'python-happy': {
    fixture: 'python-basic',
    session: { regression_command: 'python3 -m unittest' },
    description: `Add power() in power.py. ${fakeScript(
      `edit-files path=power.py content=${quoted(POWER_PY)} cost=0.01`,
      'write-tests lang=python result=pass name=power count=3 cost=0.01',
    )}`,
  },
  'ask-question': {
    fixture: 'node-basic',
    session: { test_command: 'node --test --test-name-pattern=double' },
    description: `Add a double helper. ${fakeScript(
      'ask-question cost=0.01',
      `edit-files path=src/double.js content=${quoted(DOUBLE_JS)} cost=0.01`,
      'write-tests lang=node result=pass name=double cost=0.01',
    )}`,
  },
  'api-error': {
    fixture: 'node-basic',
    description: `Add a double helper. ${fakeScript(
      'api-error status=500',
      `edit-files path=src/double.js content=${quoted(DOUBLE_JS)}`,
      'write-tests lang=node result=pass name=double',
    )}`,
  },
  'api-errors-in-a-row': {
    fixture: 'node-basic',
    description: `Add a double helper. ${fakeScript(
      'api-error status=429',
      'api-error status=429',
      'api-error status=429',
      `edit-files path=src/double.js content=${quoted(DOUBLE_JS)}`,
      'write-tests lang=node result=pass name=double',
    )}`,
  },
  flood: {
    fixture: 'node-basic',
    description: `Print a lot. ${fakeScript(
      'huge-output bytes=6000000 line=65536',
      'write-tests lang=node result=pass name=flood',
    )}`,
  },
  'crash-before-init': {
    fixture: 'node-basic',
    description: `Add a double helper. ${fakeRuns(
      'crash init=no',
      `edit-files path=src/double.js content=${quoted(DOUBLE_JS)}`,
      'write-tests lang=node result=pass name=double',
    )}`,
  },
  'lost-conversation': {
    fixture: 'node-basic',
    description: `Add a double helper. ${fakeRuns(
      'stop-short forget=yes',
      `edit-files path=src/double.js content=${quoted(DOUBLE_JS)}`,
      'write-tests lang=node result=pass name=double',
    )}`,
  },
  'absurd-usage': {
    fixture: 'node-basic',
    description: `Add a double helper. ${fakeScript(
      `edit-files path=src/double.js content=${quoted(DOUBLE_JS)} input_tokens=1e308 output_tokens=-5 cost=-1000000000`,
      'write-tests lang=node result=pass name=double input_tokens=1.5e308 cost=1e308',
    )}`,
  },
  'tests-fail-then-fixed': {
    fixture: 'node-basic',
    description: `Add a double helper. ${fakeScript(
      `edit-files path=src/double.js content=${quoted(DOUBLE_JS)}`,
      'write-tests lang=node result=fail name=double count=2',
      'write-tests lang=node result=pass name=double count=2',
    )}`,
  },
  'max-iterations': {
    fixture: 'node-basic',
    task: { max_iterations: 3 },
    description: `Add a double helper. ${fakeScript(
      `edit-files path=src/double.js content=${quoted(DOUBLE_JS)}`,
      'write-tests lang=node result=fail name=stubborn',
      'write-tests lang=node result=fail name=stubborn',
      'write-tests lang=node result=fail name=stubborn',
      'write-tests lang=node result=fail name=stubborn',
    )}`,
  },
  'test-command-missing': {
    fixture: 'node-basic',
    session: { test_command: '/nonexistent/runner' },
    task: { max_iterations: 5 },
    description: `Add a double helper. ${fakeScript(
      `edit-files path=src/double.js content=${quoted(DOUBLE_JS)}`,
      'write-tests lang=node result=pass name=double',
    )}`,
  },
  'max-pauses': {
    fixture: 'node-basic',
    task: { max_pauses: 2 },
    description: `Add a double helper. ${fakeScript(
      'ask-question',
      'ask-question',
      'ask-question',
      'ask-question',
      'ask-question',
    )}`,
  },
  regression: {
    fixture: 'node-basic',
    session: { regression_command: 'node --test' },
    description: `Tidy up src/math.js. ${fakeScript(
      `edit-files path=src/math.js content=${quoted(BROKEN_MATH_JS)}`,
      'write-tests lang=node result=pass name=guard',
      `edit-files path=src/math.js content=${quoted(ORIGINAL_MATH_JS)}`,
    )}`,
  },
  'other-interventions': {
    fixture: 'node-basic',
    description: `Add a double helper. ${fakeScript(
      'stop-short',
      'max-turns',
      'permission-denied tool=Bash',
      `edit-files path=src/double.js content=${quoted(DOUBLE_JS)}`,
      'write-tests lang=node result=pass name=double',
    )}`,
  },
  'background-job': {
    fixture: 'node-basic',
    description: `Start background jobs. ${fakeScript('linger escape=both', 'write-tests lang=node')}`,
  },
  'not-logged-in': {
    fixture: 'node-basic',
    description: `Add a double helper. ${fakeScript('not-logged-in')}`,
  },
  'not-done-yet': {
    fixture: 'node-basic',
    description: `Add a double helper. ${fakeScript(
      `success text=${quoted('I looked at the code. The change is not DONE yet.')}`,
      `success text=${quoted('The Bash tool failed, I could not finish the change.')}`,
      `edit-files path=src/double.js content=${quoted(DOUBLE_JS)}`,
      'write-tests lang=node result=pass name=double',
    )}`,
  },
  'no-tests-written': {
    fixture: 'node-basic',
    description: `Add a double helper. ${fakeScript(
      `edit-files path=src/double.js content=${quoted(DOUBLE_JS)}`,
      `success text=${quoted('Tests are written.\nDONE')}`,
      `success text=${quoted('Now the tests are really written.\nDONE')}`,
      'write-tests lang=node result=pass name=double',
    )}`,
  },
  overloaded: {
    fixture: 'node-basic',
    task: { max_pauses: 2 },
    description: `Add a double helper. ${fakeScript(
      'api-error status=529',
      'api-error status=529',
      'api-error status=529',
      'api-error status=529',
    )}`,
  },
} satisfies Record<string, Scenario>;

type ScenarioName = keyof typeof SCENARIOS;

const workdir = fakeClaudeWorkdir('cta-orch-e2e-');
let root: string;
let logFile: string;
beforeAll(() => {
  root = workdir.root();
  logFile = workdir.logFile();
});

function orchestratorEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ORCHESTRATOR_ENABLED: 'true',
    QUEUE_POLL_MS: '100',
    MAX_CONCURRENT_TASKS: '16',
    CLAUDE_CLI_COMMAND: FAKE_CLAUDE,
    CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
    CLI_TIMEOUT_SECONDS: '300',
    CLI_INIT_TIMEOUT_SECONDS: '120',
    CLI_RESULT_GRACE_SECONDS: '2',
    KILL_GRACE_SECONDS: '1',
    TEST_TIMEOUT_SECONDS: '120',
    REGRESSION_TIMEOUT_SECONDS: '120',
    API_ERROR_RETRY_DELAY_SECONDS: '1',
    API_ERROR_RETRY_MAX_DELAY_SECONDS: '2',
    ...extra,
  };
}

async function createSessionAndTask(
  server: App,
  project: string,
  scenario: Scenario,
): Promise<string> {
  const session = await request(server)
    .post('/api/v1/sessions')
    .send({ project_path: project, ...scenario.session })
    .expect(201);
  const task = await request(server)
    .post('/api/v1/tasks')
    .send({ session_id: session.body.id, description: scenario.description, ...scenario.task })
    .expect(201);
  expect(task.body).toMatchObject({ status: 'PENDING', status_reason: 'created' });
  return task.body.id as string;
}

/** Queues one scenario in its own project copy and resolves when the task is terminal. */
async function runScenario(server: App, name: string, scenario: Scenario): Promise<Run> {
  const project = copyFixtureProject(scenario.fixture, root, name);
  const before = checkoutFingerprint(project);
  const taskId = await createSessionAndTask(server, project, scenario);
  return finishedRun(server, project, before, taskId);
}

/** A task's run once it is terminal, with the fake CLI's invocations in its workspace. */
async function finishedRun(
  server: App,
  project: string,
  before: Record<string, string>,
  taskId: string,
): Promise<Run> {
  const result = await waitForTerminal(server, taskId);
  const details = await getDetails(server, taskId);
  const workspace = details.workspace_path!;
  return {
    project,
    workspace,
    before,
    taskId,
    result,
    details,
    invocations: fakeInvocations(logFile, workspace),
  };
}

const byKind = (run: Run, kind: string): Interaction[] =>
  run.details.interactions.filter((i) => i.kind === kind);

/** The `test` records of the task's test rounds (not the verification's own runs). */
const roundRuns = (run: Run): Interaction[] =>
  byKind(run, 'test').filter((i) => i.data?.stage === undefined);

/** The verification's own runs (`data.stage`): stage, iteration, passed. */
const stages = (run: Run): [unknown, number, unknown][] =>
  byKind(run, 'test')
    .filter((i) => i.data?.stage !== undefined)
    .map((i) => [i.data?.stage, i.iteration, i.data?.passed]);

/** The prompts sent to the agent (`prompt` then `simulated_human`), in order. */
const promptsOf = (run: Run): Interaction[] =>
  run.details.interactions.filter((i) => i.kind === 'prompt' || i.kind === 'simulated_human');

/** `expected` occurs in `actual` in this order (other items may come between). */
function expectInOrder(actual: readonly (string | null)[], expected: readonly string[]): void {
  let at = 0;
  for (const item of actual) if (at < expected.length && item === expected[at]) at += 1;
  if (at < expected.length) {
    throw new Error(
      `expected [${expected.join(', ')}] in order within [${actual.join(', ')}]; missing from ${expected[at]}`,
    );
  }
}

/**
 * Invariants every finished task must satisfy: interactions ordered by id; one `result` per
 * agent turn, numbered 1..iteration, each preceded by exactly one prompt of that turn; the fake
 * CLI ran exactly `iteration` times, each time with the prompt stored for that turn, all in one
 * conversation (the first by --session-id, the later ones by --resume), in the task's own
 * workspace; the cost, tokens and status/reason agree with the stored interactions; the user's
 * checkout did not change, and the task's branch holds its head commit.
 */
function expectConsistentRun(run: Run): void {
  const { details, invocations, result } = run;
  expect(details.isolation).toBe('worktree');
  expect(checkoutFingerprint(run.project)).toEqual(run.before);
  expect(git(run.project, 'rev-parse', details.branch!).trim()).toBe(details.head_commit);
  const ids = details.interactions.map((i) => i.id);
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(new Set(ids).size).toBe(ids.length);

  const turns = details.iteration;
  const results = byKind(run, 'result');
  expect(results.map((r) => r.iteration)).toEqual(Array.from({ length: turns }, (_, k) => k + 1));
  const prompts = promptsOf(run);
  expect(prompts.map((p) => p.iteration)).toEqual(results.map((r) => r.iteration));
  expect(prompts[0]?.kind).toBe('prompt');
  expect(prompts.slice(1).every((p) => p.kind === 'simulated_human')).toBe(true);
  for (let k = 0; k < turns; k += 1) {
    expect(prompts[k].id).toBeLessThan(results[k].id);
    if (k > 0) expect(prompts[k].id).toBeGreaterThan(results[k - 1].id);
  }

  expect(invocations).toHaveLength(turns);
  expect(invocations.map((e) => e.prompt)).toEqual(prompts.map((p) => p.content));
  expect(invocations.map((e) => e.turn)).toEqual(results.map((r) => r.iteration));
  if (turns > 0) {
    expect(details.claude_session_id).toBe(invocations[0].sessionId);
    expect(invocations.every((e) => e.sessionId === details.claude_session_id)).toBe(true);
    expect(invocations[0].argv).toContain(`--session-id=${details.claude_session_id}`);
    for (const later of invocations.slice(1)) {
      expect(later.argv).toContain(`--resume=${details.claude_session_id}`);
    }
  }

  const sum = (xs: (number | null)[]): number => xs.reduce<number>((a, x) => a + (x ?? 0), 0);
  expect(details.cost_usd).toBeCloseTo(sum(results.map((r) => r.cost_usd)), 9);
  expect(details.input_tokens).toBe(sum(results.map((r) => r.input_tokens)));
  expect(details.output_tokens).toBe(sum(results.map((r) => r.output_tokens)));

  const changes = statusChanges(details.interactions);
  expect(changes[0]).toMatchObject({ from: 'PENDING', to: 'RUNNING', reason: 'claimed' });
  const last = changes[changes.length - 1];
  expect(last).toMatchObject({ to: details.status, reason: details.status_reason });
  for (let k = 1; k < changes.length; k += 1) expect(changes[k].from).toBe(changes[k - 1].to);
  expect(result.final.status).toBe(details.status);
  expect(result.final.phase).toBe('done');
  expect(details.attempt).toBe(1);
  expect(details.cancel_requested).toBe(false);
  expect(details.started_at).not.toBeNull();
  expect(details.completed_at).not.toBeNull();
}

describe('Orchestrator lifecycles through the fake Claude CLI', () => {
  let t: TestApp;
  const runs = new Map<ScenarioName, Promise<Run>>();
  let startedAt = 0;

  const run = (name: ScenarioName): Promise<Run> => {
    const p = runs.get(name);
    if (!p) throw new Error(`scenario ${name} was not started`);
    return p;
  };

  beforeAll(async () => {
    t = await createTestApp({ env: orchestratorEnv() });
    // Listen once: supertest would otherwise listen and close per request, which resets the
    // connections of the other scenarios' concurrent polls.
    await t.app.listen(0, '127.0.0.1');
    const server = t.app.getHttpServer() as App;
    startedAt = Date.now();
    for (const [name, scenario] of Object.entries(SCENARIOS) as [ScenarioName, Scenario][]) {
      const p = runScenario(server, name, scenario);
      p.catch(() => undefined); // reported by the test that awaits it
      runs.set(name, p);
    }
  });

  afterAll(async () => {
    // Let every scenario settle before the app (and its database) goes away.
    await Promise.allSettled(runs.values());
    console.log(`orchestrator lifecycles: all tasks terminal after ${Date.now() - startedAt} ms`);
    await t?.close();
  });

  it('Node project: edits, writes tests, runs them with node --test and completes', async () => {
    const r = await run('node-happy');
    const d = r.details;
    expect(r.result.final).toMatchObject({
      status: 'COMPLETED',
      status_reason: 'verified_without_failing_tests',
      phase: 'done',
      iteration: 2,
      pause_count: 0,
      tests: { passed: 2, failed: 0, total: 2 },
      input_tokens: 200,
      output_tokens: 70,
    });
    expect(r.result.final.cost_usd).toBeCloseTo(0.05, 9);
    expect(r.result.final.last_agent_message).toBe(
      'I wrote 2 tests in test/generated.test.js.\nDONE',
    );
    expect(d.result_summary).toContain('test/generated.test.js');
    expect(d.result_summary).toMatch(/generated tests passed: 2/);
    expect(d.error_message).toBeNull();
    expectConsistentRun(r);

    expect(statusPath(d.interactions)).toEqual(['PENDING', 'RUNNING', 'TESTING', 'COMPLETED']);
    expectInOrder(
      statusChanges(d.interactions).map((c) => c.reason),
      ['claimed', 'tests_requested', 'verified_without_failing_tests'],
    );
    expect(statusChanges(d.interactions)).toContainEqual(
      expect.objectContaining({ from: 'RUNNING', to: 'TESTING', reason: 'tests_requested' }),
    );

    const prompts = promptsOf(r);
    expect(prompts[0].content).toContain(SCENARIOS['node-happy'].description);
    expect(prompts[1]).toMatchObject({
      kind: 'simulated_human',
      iteration: 2,
      data: expect.objectContaining({ reason: 'write_tests', intervention: false }),
    });
    expect(prompts[1].content).toMatch(/node --test/);

    const results = byKind(r, 'result');
    expect(results.map((x) => [x.cost_usd, x.input_tokens, x.output_tokens])).toEqual([
      [0.03, 120, 40],
      [0.02, 80, 30],
    ]);
    expect(results.map((x) => x.data?.outcome)).toEqual(['success', 'success']);
    expect(byKind(r, 'error')).toEqual([]);
    expect(byKind(r, 'system').length).toBeGreaterThanOrEqual(2); // one init per turn
    expect(byKind(r, 'assistant').some((a) => /I wrote 2 tests/.test(a.content))).toBe(true);

    const writes = byKind(r, 'tool_use').filter((x) => x.data?.name === 'Write');
    expect(
      writes.map((w) => [w.iteration, (w.data?.input as { file_path: string }).file_path]),
    ).toEqual([
      [1, join(r.workspace, 'src/multiply.js')],
      [2, join(r.workspace, 'test/generated.test.js')],
    ]);
    expect(byKind(r, 'tool_result')).toHaveLength(2);

    const tests = byKind(r, 'test');
    expect(tests).toHaveLength(1);
    expect(tests[0]).toMatchObject({
      iteration: 2,
      data: expect.objectContaining({ kind: 'generated', passed: true, exit_code: 0 }),
    });
    expect(JSON.stringify(tests[0].data?.command)).toMatch(/node.*--test/);

    expect(d.test_cases.map((c) => [c.kind, c.name, c.file_path, c.status, c.iteration])).toEqual([
      ['generated', 'multiply 1', 'test/generated.test.js', 'passed', 2],
      ['generated', 'multiply 2', 'test/generated.test.js', 'passed', 2],
    ]);
    for (const c of d.test_cases) expect(c.duration_ms).toBeGreaterThanOrEqual(0);

    // The workspace really changed, and the change is the commit on the task's branch (the
    // user's checkout did not: see expectConsistentRun).
    expect(readFileSync(join(r.workspace, 'src/multiply.js'), 'utf8')).toBe(MULTIPLY_JS);
    expect(readFileSync(join(r.workspace, 'test/generated.test.js'), 'utf8')).toContain(
      "'multiply 2'",
    );
    expect(git(r.workspace, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(git(r.project, 'show', `${d.head_commit}:src/multiply.js`)).toBe(MULTIPLY_JS);
    expect(
      git(r.project, 'diff', '--name-only', d.base_commit!, d.head_commit!).trim().split('\n'),
    ).toEqual(['src/multiply.js', 'test/generated.test.js']);
    expect(existsSync(join(r.project, 'src/multiply.js'))).toBe(false);
  });

  it('Python project: unittest runs the generated file, then the regression command', async () => {
    const r = await run('python-happy');
    const d = r.details;
    expect(r.result.final).toMatchObject({
      status: 'COMPLETED',
      status_reason: 'verified_without_failing_tests',
      iteration: 2,
      pause_count: 0,
    });
    expect(r.result.final.cost_usd).toBeCloseTo(0.02, 9);
    expectConsistentRun(r);
    expect(statusPath(d.interactions)).toEqual(['PENDING', 'RUNNING', 'TESTING', 'COMPLETED']);

    // The verification's own runs (`data.stage`): the regression baseline before the first turn.
    expect(stages(r)).toEqual([['baseline', 0, true]]);
    const tests = roundRuns(r);
    expect(
      tests.map((x) => [x.data?.kind, x.data?.passed, x.data?.exit_code, x.iteration]),
    ).toEqual([
      ['generated', true, 0, 2],
      ['regression', true, 0, 2],
    ]);
    expect(JSON.stringify(tests[0].data?.command)).toMatch(/python3.*unittest/);
    expect(JSON.stringify(tests[1].data?.command)).toMatch(/python3.*-m.*unittest/);

    const generated = d.test_cases.filter((c) => c.kind === 'generated');
    expect(generated.map((c) => [c.name, c.file_path, c.status, c.iteration])).toEqual([
      ['tests/test_generated.py', 'tests/test_generated.py', 'passed', 2],
    ]);
    const regression = d.test_cases.filter((c) => c.kind === 'regression');
    expect(regression.length).toBeGreaterThanOrEqual(1);
    expect(regression.every((c) => c.status === 'passed' && c.iteration === 2)).toBe(true);
    // Generated rows are stored before regression rows (the regression suite runs second).
    expect(Math.max(...generated.map((c) => c.id))).toBeLessThan(
      Math.min(...regression.map((c) => c.id)),
    );
    // The regression suite discovered the existing tests and the generated ones (2 + 3).
    expect(regression.map((c) => c.output).join('\n')).toMatch(/Ran 5 tests/);

    expect(readFileSync(join(r.workspace, 'power.py'), 'utf8')).toBe(POWER_PY);
    expect(readFileSync(join(r.workspace, 'tests/test_generated.py'), 'utf8')).toContain(
      'def test_power_3',
    );
  });

  it('agent asks a question: PAUSED needs_input, answered by the simulated human, completes', async () => {
    const r = await run('ask-question');
    const d = r.details;
    expect(r.result.final).toMatchObject({
      status: 'COMPLETED',
      status_reason: 'verified_without_failing_tests',
      iteration: 3,
      pause_count: 1,
    });
    expectConsistentRun(r);
    expect(statusPath(d.interactions)).toEqual([
      'PENDING',
      'RUNNING',
      'PAUSED',
      'RUNNING',
      'TESTING',
      'COMPLETED',
    ]);
    const changes = statusChanges(d.interactions);
    expect(changes).toContainEqual(
      expect.objectContaining({ from: 'RUNNING', to: 'PAUSED', reason: 'needs_input' }),
    );
    expect(changes).toContainEqual(
      expect.objectContaining({ from: 'PAUSED', to: 'RUNNING', reason: 'agent_turn' }),
    );
    expect(byKind(r, 'result')[0].data?.outcome).toBe('success');

    const human = byKind(r, 'simulated_human');
    expect(human.map((h) => [h.iteration, h.data?.reason, h.data?.intervention])).toEqual([
      [2, 'answer_question', true],
      [3, 'write_tests', false],
    ]);
    expect(human[0].content).toContain(FAKE_QUESTION);
    // The session's test_command is named in the write-tests prompt and used for the run.
    expect(human[1].content).toContain('node --test --test-name-pattern=double');
    const tests = byKind(r, 'test');
    expect(tests).toHaveLength(1);
    expect(tests[0].data?.command).toEqual(['node', '--test', '--test-name-pattern=double']);
    expect(d.test_cases.map((c) => [c.status, c.iteration])).toEqual([
      ['passed', 3],
      ['passed', 3],
    ]);
    expect(readFileSync(join(r.workspace, 'src/double.js'), 'utf8')).toBe(DOUBLE_JS);
  });

  it("processes the agent started outside its process group (setsid, setpgid) are ended once the task's run is over", async () => {
    const r = await run('background-job');
    expect(r.result.final).toMatchObject({ status: 'COMPLETED' });
    expectConsistentRun(r);
    const escaped = [
      ...byKind(r, 'assistant')
        .map((a) => a.content)
        .join('\n')
        .matchAll(/ESCAPED (\d+)/g),
    ].map((m) => Number(m[1]));
    // One in a session of its own, one in a group of its own in the spawn helper's session.
    expect(escaped).toHaveLength(2);
    await eventually('the process host to end the escaped processes', () =>
      escaped.every((pid) => !isProcessAlive(pid)),
    );
  });

  it('agent turn ends in an API error: recovery prompt, then completes', async () => {
    const r = await run('api-error');
    const d = r.details;
    expect(r.result.final).toMatchObject({
      status: 'COMPLETED',
      status_reason: 'verified_without_failing_tests',
      iteration: 3,
      pause_count: 1,
    });
    expectConsistentRun(r);
    expect(statusPath(d.interactions)).toEqual([
      'PENDING',
      'RUNNING',
      'PAUSED',
      'RUNNING',
      'TESTING',
      'COMPLETED',
    ]);
    expect(statusChanges(d.interactions)).toContainEqual(
      expect.objectContaining({ from: 'RUNNING', to: 'PAUSED', reason: 'agent_error' }),
    );
    expect(byKind(r, 'result')[0]).toMatchObject({
      content: 'API error (other)',
      data: expect.objectContaining({ outcome: 'api_error' }),
    });
    const errors = byKind(r, 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      iteration: 1,
      content: expect.stringMatching(/API Error: 500/),
    });
    // The error's text is stored once: not also as agent text (the CLI's synthetic message).
    expect(
      d.interactions.filter((i) => i.iteration === 1 && /API Error: 500/.test(i.content)),
    ).toEqual([errors[0]]);

    const human = byKind(r, 'simulated_human');
    expect(human.map((h) => [h.iteration, h.data?.reason, h.data?.intervention])).toEqual([
      [2, 'recover_error', true],
      [3, 'write_tests', false],
    ]);
    expect(human[0].content).toMatch(/API Error: 500/);
    // The recovery turn waited API_ERROR_RETRY_DELAY_SECONDS after the error's result.
    expect(human[0].data?.waited_ms).toBe(1000);
    const errorResult = byKind(r, 'result')[0];
    expect(
      Date.parse(human[0].created_at) - Date.parse(errorResult.created_at),
    ).toBeGreaterThanOrEqual(1000);
    expect(human[1].data?.waited_ms).toBeUndefined();
    expect(readFileSync(join(r.workspace, 'src/double.js'), 'utf8')).toBe(DOUBLE_JS);
  });

  it('API errors in a row: each recovery waits twice as long, up to the maximum', async () => {
    const r = await run('api-errors-in-a-row');
    expect(r.result.final).toMatchObject({
      status: 'COMPLETED',
      iteration: 5,
      pause_count: 3,
    });
    expectConsistentRun(r);
    const human = byKind(r, 'simulated_human');
    expect(human.map((h) => [h.data?.reason, h.data?.waited_ms])).toEqual([
      ['recover_error', 1000],
      ['recover_error', 2000],
      ['recover_error', 2000],
      ['write_tests', undefined],
    ]);
    expect(byKind(r, 'result').map((x) => x.data?.api_error)).toEqual([
      'rate_limit',
      'rate_limit',
      'rate_limit',
      null,
      null,
    ]);
  });

  it('a turn that floods output stores a bounded part of it and says what it left out', async () => {
    const r = await run('flood');
    expect(r.result.final).toMatchObject({ status: 'COMPLETED', iteration: 2 });
    const first = r.details.interactions.filter((i) => i.iteration === 1);
    const storedBytes = first
      .filter((i) => i.kind === 'assistant')
      .reduce((sum, i) => sum + Buffer.byteLength(i.content, 'utf8'), 0);
    expect(storedBytes).toBeGreaterThan(1024 * 1024);
    expect(storedBytes).toBeLessThanOrEqual(MAX_TURN_STORED_BYTES);
    const note = first.find((i) => i.kind === 'system' && i.data?.type === 'omitted');
    expect(note?.data).toMatchObject({ events: expect.any(Number), bytes: expect.any(Number) });
    expect(Number(note?.data?.bytes) + storedBytes).toBeGreaterThan(5_500_000);
    expect(first.map((i) => i.kind)).toContain('result');
  });

  it('the CLI dies before its init line: the next turn is a new conversation carrying the task', async () => {
    const r = await run('crash-before-init');
    expect(r.result.final).toMatchObject({
      status: 'COMPLETED',
      iteration: 3,
      pause_count: 1,
    });
    const [first, second, third] = r.invocations;
    expect(r.invocations).toHaveLength(3);
    expect(first.argv).toContain(`--session-id=${first.sessionId}`);
    // Not the same id again (the CLI may have taken it), and not a resume: a new conversation.
    expect(second.sessionId).not.toBe(first.sessionId);
    expect(second.argv).toContain(`--session-id=${second.sessionId}`);
    expect(second.prompt).toContain('Add a double helper.');
    expect(second.prompt).toMatch(/fresh start/);
    expect(third.argv).toContain(`--resume=${second.sessionId}`);
    expect(r.details.claude_session_id).toBe(second.sessionId);
    const human = byKind(r, 'simulated_human');
    expect(human.map((h) => [h.data?.reason, h.data?.new_conversation])).toEqual([
      ['recover_error', true],
      ['write_tests', false],
    ]);
    expect(byKind(r, 'result')[0].data?.outcome).toBe('crash');
    expect(readFileSync(join(r.workspace, 'src/double.js'), 'utf8')).toBe(DOUBLE_JS);
  });

  it('the CLI no longer knows the conversation: a new one carries the task, and it completes', async () => {
    const r = await run('lost-conversation');
    expect(r.result.final).toMatchObject({
      status: 'COMPLETED',
      iteration: 4,
      pause_count: 2,
    });
    const results = byKind(r, 'result');
    expect(results[1].data?.outcome).toBe('execution_error');
    expect(byKind(r, 'error').find((e) => e.iteration === 2)?.content).toMatch(
      /No conversation found with session ID/,
    );
    const [lost, failedResume, fresh, tests] = r.invocations;
    expect(r.invocations).toHaveLength(4);
    expect(failedResume.argv).toContain(`--resume=${lost.sessionId}`);
    expect(fresh.sessionId).not.toBe(lost.sessionId);
    expect(fresh.argv).toContain(`--session-id=${fresh.sessionId}`);
    expect(fresh.prompt).toContain('Add a double helper.');
    expect(tests.argv).toContain(`--resume=${fresh.sessionId}`);
    const human = byKind(r, 'simulated_human');
    expect(human.map((h) => [h.iteration, h.data?.reason, h.data?.new_conversation])).toEqual([
      [2, 'continue_stop_short', false],
      [3, 'recover_error', true],
      [4, 'write_tests', false],
    ]);
    expect(r.details.claude_session_id).toBe(fresh.sessionId);
  });

  it('absurd token and cost numbers from the CLI are bounded, and the cost budget (not an error) ends the task', async () => {
    const r = await run('absurd-usage');
    expect(r.result.final).toMatchObject({
      status: 'FAILED',
      status_reason: 'budget_exceeded',
      iteration: 2,
    });
    expect(r.result.final.error_message).toMatch(/reaches its budget of \$10 \(max_cost_usd\)/);
    const { input_tokens, output_tokens, cost_usd } = r.result.final;
    expect(input_tokens).toBeGreaterThan(0);
    expect(input_tokens).toBeLessThanOrEqual(MAX_INT_COLUMN);
    expect(output_tokens).toBeGreaterThanOrEqual(0);
    expect(cost_usd).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(cost_usd)).toBe(true);
    for (const result of byKind(r, 'result')) {
      expect(result.input_tokens ?? 0).toBeLessThanOrEqual(MAX_INT_COLUMN);
      expect(result.output_tokens ?? 0).toBeGreaterThanOrEqual(0);
      expect(result.cost_usd ?? 0).toBeGreaterThanOrEqual(0);
    }
  });

  it('generated tests fail, the failing output goes back to the agent, it fixes them and completes', async () => {
    const r = await run('tests-fail-then-fixed');
    const d = r.details;
    expect(r.result.final).toMatchObject({
      status: 'COMPLETED',
      status_reason: 'verified_without_failing_tests',
      iteration: 3,
      pause_count: 0,
      tests: { passed: 2, failed: 0, total: 2 },
    });
    expectConsistentRun(r);
    expect(statusPath(d.interactions)).toEqual([
      'PENDING',
      'RUNNING',
      'TESTING',
      'RUNNING',
      'TESTING',
      'COMPLETED',
    ]);
    expect(statusChanges(d.interactions)).toContainEqual(
      expect.objectContaining({ from: 'TESTING', to: 'RUNNING', reason: 'tests_failed' }),
    );

    expect(d.test_cases.map((c) => [c.iteration, c.name, c.status])).toEqual([
      [2, 'double 1', 'passed'],
      [2, 'double 2', 'failed'],
      [3, 'double 1', 'passed'],
      [3, 'double 2', 'passed'],
    ]);
    const failed = d.test_cases[1];
    expect(failed.file_path).toBe('test/generated.test.js');
    expect(failed.output).toMatch(/4 !== 5/);

    const tests = byKind(r, 'test');
    expect(tests.map((x) => [x.iteration, x.data?.kind, x.data?.passed])).toEqual([
      [2, 'generated', false],
      [3, 'generated', true],
    ]);
    expect(tests[0].data?.exit_code).not.toBe(0);

    const human = byKind(r, 'simulated_human');
    expect(human.map((h) => [h.iteration, h.data?.reason, h.data?.intervention])).toEqual([
      [2, 'write_tests', false],
      [3, 'test_feedback', false],
    ]);
    expect(human[1].content).toContain('double 2');
    expect(human[1].content).toMatch(/4 !== 5/);
    expect(readFileSync(join(r.workspace, 'test/generated.test.js'), 'utf8')).toContain(
      'assert.strictEqual(2 + 2, 4)',
    );
  });

  it('tests keep failing: FAILED max_iterations_reached after exactly max_iterations turns', async () => {
    const r = await run('max-iterations');
    const d = r.details;
    expect(r.result.final).toMatchObject({
      status: 'FAILED',
      status_reason: 'max_iterations_reached',
      iteration: 3,
      max_iterations: 3,
      pause_count: 0,
      tests: { passed: 1, failed: 1, total: 2 },
    });
    expect(r.result.final.cost_usd).toBeCloseTo(0.03, 9);
    expect(d.error_message).toEqual(expect.stringMatching(/3/));
    expectConsistentRun(r);
    expect(statusPath(d.interactions)).toEqual([
      'PENDING',
      'RUNNING',
      'TESTING',
      'RUNNING',
      'TESTING',
      'FAILED',
    ]);
    expect(byKind(r, 'test').map((x) => [x.iteration, x.data?.passed])).toEqual([
      [2, false],
      [3, false],
    ]);
    expect(d.test_cases.filter((c) => c.status === 'failed').map((c) => c.iteration)).toEqual([
      2, 3,
    ]);
    // Nothing runs after the task failed.
    await new Promise((res) => setTimeout(res, 500));
    expect(fakeInvocations(logFile, r.workspace)).toHaveLength(3);
    expect((await getDetails(t.app.getHttpServer() as App, r.taskId)).interactions).toHaveLength(
      d.interactions.length,
    );
  });

  it('a test command that cannot start fails the task at once, test_command_unavailable: no turn is spent on it', async () => {
    const r = await run('test-command-missing');
    expect(r.result.final).toMatchObject({
      status: 'FAILED',
      status_reason: 'test_command_unavailable',
      iteration: 2,
    });
    expect(r.details.error_message).toMatch(
      /The test command could not start \(\/nonexistent\/runner .*ENOENT\).*test_command/,
    );
    expect(fakeInvocations(logFile, r.workspace)).toHaveLength(2);
  });

  it('agent asks every turn: FAILED max_pauses_reached with pause_count = max_pauses', async () => {
    const r = await run('max-pauses');
    const d = r.details;
    expect(r.result.final).toMatchObject({
      status: 'FAILED',
      status_reason: 'max_pauses_reached',
      iteration: 3,
      pause_count: 2,
      max_pauses: 2,
    });
    expect(d.error_message).toEqual(expect.any(String));
    expectConsistentRun(r);
    const path = statusPath(d.interactions);
    expect(path.slice(0, 6)).toEqual([
      'PENDING',
      'RUNNING',
      'PAUSED',
      'RUNNING',
      'PAUSED',
      'RUNNING',
    ]);
    expect(path[path.length - 1]).toBe('FAILED');
    expect(path).not.toContain('TESTING');
    const human = byKind(r, 'simulated_human');
    expect(human.map((h) => [h.iteration, h.data?.reason, h.data?.intervention])).toEqual([
      [2, 'answer_question', true],
      [3, 'answer_question', true],
    ]);
    expect(d.test_cases).toEqual([]);
    await new Promise((res) => setTimeout(res, 300));
    expect(fakeInvocations(logFile, r.workspace)).toHaveLength(3);
  });

  it('regression command fails after the generated tests pass: tests_failed feedback, fixed, completes', async () => {
    const r = await run('regression');
    const d = r.details;
    expect(r.result.final).toMatchObject({
      status: 'COMPLETED',
      status_reason: 'verified_without_failing_tests',
      iteration: 3,
      pause_count: 0,
    });
    expectConsistentRun(r);
    expect(statusPath(d.interactions)).toEqual([
      'PENDING',
      'RUNNING',
      'TESTING',
      'RUNNING',
      'TESTING',
      'COMPLETED',
    ]);
    expect(statusChanges(d.interactions)).toContainEqual(
      expect.objectContaining({ from: 'TESTING', to: 'RUNNING', reason: 'tests_failed' }),
    );

    // The baseline passed, so the failure is new: run again once (failing again), it blocks.
    expect(stages(r)).toEqual([
      ['baseline', 0, true],
      ['regression_rerun', 2, false],
    ]);
    const tests = roundRuns(r);
    // Iteration 2: generated tests pass, then the regression suite fails.
    expect(
      tests.filter((x) => x.iteration === 2).map((x) => [x.data?.kind, x.data?.passed]),
    ).toEqual([
      ['generated', true],
      ['regression', false],
    ]);
    expect(JSON.stringify(tests[1].data?.command)).toMatch(/node.*--test/);
    // Iteration 3: the regression suite passes again (the last test run of the task).
    expect(tests[tests.length - 1]).toMatchObject({
      iteration: 3,
      data: expect.objectContaining({ kind: 'regression', passed: true }),
    });

    const regressionRows = d.test_cases.filter((c) => c.kind === 'regression');
    expect(regressionRows.filter((c) => c.iteration === 2).map((c) => c.status)).toContain(
      'failed',
    );
    expect(
      regressionRows.filter((c) => c.iteration === 3).every((c) => c.status === 'passed'),
    ).toBe(true);
    expect(regressionRows.some((c) => c.iteration === 3)).toBe(true);

    const feedback = byKind(r, 'simulated_human').filter((h) => h.data?.reason === 'test_feedback');
    expect(feedback).toHaveLength(1);
    expect(feedback[0]).toMatchObject({
      iteration: 3,
      data: expect.objectContaining({ intervention: false }),
    });
    expect(feedback[0].content).toMatch(/regression/i);
    expect(feedback[0].content).toContain('subtract takes the second from the first');

    // The agent's fix really restored the file: the task's change leaves it as it was.
    expect(readFileSync(join(r.workspace, 'src/math.js'), 'utf8')).toBe(ORIGINAL_MATH_JS);
    expect(git(r.project, 'diff', d.base_commit!, d.head_commit!, '--', 'src/math.js')).toBe('');
  });

  it('stop-short, max-turns and refused tools each pause the task with their own reason', async () => {
    const r = await run('other-interventions');
    const d = r.details;
    expect(r.result.final).toMatchObject({
      status: 'COMPLETED',
      status_reason: 'verified_without_failing_tests',
      iteration: 5,
      pause_count: 3,
    });
    expectConsistentRun(r);
    expect(statusPath(d.interactions)).toEqual([
      'PENDING',
      'RUNNING',
      'PAUSED',
      'RUNNING',
      'PAUSED',
      'RUNNING',
      'PAUSED',
      'RUNNING',
      'TESTING',
      'COMPLETED',
    ]);
    expect(
      statusChanges(d.interactions)
        .filter((c) => c.to === 'PAUSED')
        .map((c) => c.reason),
    ).toEqual(['needs_input', 'needs_input', 'permission_denied']);
    expect(byKind(r, 'result').map((x) => x.data?.outcome)).toEqual([
      'success',
      'max_turns',
      'success_with_denials',
      'success',
      'success',
    ]);
    expect(byKind(r, 'error').map((e) => e.iteration)).toEqual([2]);
    const human = byKind(r, 'simulated_human');
    expect(human.map((h) => [h.iteration, h.data?.reason, h.data?.intervention])).toEqual([
      [2, 'continue_stop_short', true],
      [3, 'continue_stop_short', true],
      [4, 'permission_denied', true],
      [5, 'write_tests', false],
    ]);
    expect(human[2].content).toContain('Bash');
    expect(readFileSync(join(r.workspace, 'src/double.js'), 'utf8')).toBe(DOUBLE_JS);
  });

  it('CLI not logged in: FAILED cli_not_logged_in after one turn, saying what to do', async () => {
    const r = await run('not-logged-in');
    expect(r.result.final).toMatchObject({
      status: 'FAILED',
      status_reason: 'cli_not_logged_in',
      iteration: 1,
      pause_count: 0,
    });
    expect(r.details.error_message).toMatch(/not logged in/i);
    expect(r.details.error_message).toMatch(/ANTHROPIC_API_KEY/);
    expect(r.result.final.error_message).toBe(r.details.error_message);
    expectConsistentRun(r);
    expect(byKind(r, 'simulated_human')).toEqual([]);
    expect(byKind(r, 'result')[0].data?.outcome).toBe('api_error');
    expect(statusPath(r.details.interactions)).toEqual(['PENDING', 'RUNNING', 'FAILED']);
  });

  it('"not DONE yet" and a failure without a question are continued, never taken as done', async () => {
    const r = await run('not-done-yet');
    expect(r.result.final).toMatchObject({
      status: 'COMPLETED',
      iteration: 4,
      pause_count: 2,
    });
    expectConsistentRun(r);
    const human = byKind(r, 'simulated_human');
    expect(human.map((h) => [h.iteration, h.data?.reason])).toEqual([
      [2, 'continue_stop_short'],
      [3, 'continue_stop_short'],
      [4, 'write_tests'],
    ]);
    expect(human[0].content).toMatch(/did not end with DONE/);
    expect(
      statusChanges(r.details.interactions)
        .filter((c) => c.to === 'PAUSED')
        .map((c) => c.reason),
    ).toEqual(['needs_input', 'needs_input']);
  });

  it('a test-writing turn that leaves no test file is told so; two in a row fail no_tests_written', async () => {
    const r = await run('no-tests-written');
    expect(r.result.final).toMatchObject({
      status: 'FAILED',
      status_reason: 'no_tests_written',
      iteration: 3,
      pause_count: 0,
      tests: { passed: 0, failed: 0, total: 0 },
    });
    expectConsistentRun(r);
    const human = byKind(r, 'simulated_human');
    expect(human.map((h) => [h.iteration, h.data?.reason, h.data?.intervention])).toEqual([
      [2, 'write_tests', false],
      [3, 'no_tests', false],
    ]);
    expect(human[1].content).toMatch(/left no test file/);
    // Nothing was run and nothing counted: no test run, no test case.
    expect(byKind(r, 'test')).toEqual([]);
    expect(r.details.test_cases).toEqual([]);
    expect(r.details.error_message).toMatch(/no test file/);
  });

  it('a task that only met API errors (529) ends api_unavailable, not max_pauses_reached', async () => {
    const r = await run('overloaded');
    expect(r.result.final).toMatchObject({
      status: 'FAILED',
      status_reason: 'api_unavailable',
      iteration: 3,
      pause_count: 2,
    });
    expectConsistentRun(r);
    expect(byKind(r, 'result').map((x) => x.data?.api_error)).toEqual([
      'overloaded',
      'overloaded',
      'overloaded',
    ]);
    expect(r.details.error_message).toMatch(/529 Overloaded/);
    expect(byKind(r, 'assistant')).toEqual([]);
  });
});

describe('Orchestrator with a missing Claude CLI', () => {
  let t: TestApp;
  const missing = (): string => join(root, 'no-such-dir', 'claude');

  beforeAll(async () => {
    t = await createTestApp({ env: orchestratorEnv({ CLAUDE_CLI_COMMAND: missing() }) });
    await t.app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('fails the task quickly with cli_not_found and says the CLI was not found', async () => {
    const server = t.app.getHttpServer() as App;
    const project = copyFixtureProject('node-basic', root, 'cli-missing');
    const before = fakeInvocations(logFile).length;
    const taskId = await createSessionAndTask(server, project, {
      fixture: 'node-basic',
      description: `Add a double helper. ${fakeScript('success')}`,
    });
    const result = await waitForTerminal(server, taskId);
    expect(result.final).toMatchObject({ status: 'FAILED', status_reason: 'cli_not_found' });
    expect(result.final.iteration).toBeLessThanOrEqual(1);
    const d = await getDetails(server, taskId);
    expect(d.error_message).toMatch(/not found/i);
    expect(d.test_cases).toEqual([]);
    expect(d.cost_usd).toBe(0);
    const changes = statusChanges(d.interactions);
    expect(changes[changes.length - 1]).toMatchObject({ to: 'FAILED', reason: 'cli_not_found' });
    expect(d.interactions.filter((i) => i.kind === 'simulated_human')).toEqual([]);
    expect(fakeInvocations(logFile).length).toBe(before);
    expect(existsSync(missing())).toBe(false);
  });
});

describe('Orchestrator with a short agent-turn timeout', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      env: orchestratorEnv({ CLI_TIMEOUT_SECONDS: '5', KILL_GRACE_SECONDS: '1' }),
    });
    await t.app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a hung turn is killed (grandchild included), PAUSED timeout, recovered, completes', async () => {
    const server = t.app.getHttpServer() as App;
    const project = copyFixtureProject('node-basic', root, 'turn-timeout');
    const before = checkoutFingerprint(project);
    const taskId = await createSessionAndTask(server, project, {
      fixture: 'node-basic',
      description: `Add a double helper. ${fakeScript(
        'hang',
        `edit-files path=src/double.js content=${quoted(DOUBLE_JS)}`,
        'write-tests lang=node result=pass name=double',
      )}`,
    });
    const r = await finishedRun(server, project, before, taskId);
    const { result, details, workspace } = r;
    expect(result.final).toMatchObject({
      status: 'COMPLETED',
      status_reason: 'verified_without_failing_tests',
      iteration: 3,
      pause_count: 1,
    });
    expectConsistentRun(r);
    expect(statusChanges(details.interactions)).toContainEqual(
      expect.objectContaining({ from: 'RUNNING', to: 'PAUSED', reason: 'timeout' }),
    );
    expect(byKind(r, 'result')[0].data).toMatchObject({ outcome: 'timeout', timeout: 'overall' });
    const human = byKind(r, 'simulated_human');
    expect(human.map((h) => [h.iteration, h.data?.reason, h.data?.intervention])).toEqual([
      [2, 'recover_error', true],
      [3, 'write_tests', false],
    ]);
    expect(human[0].content).toMatch(/timeout/i);
    // The hung CLI's process group is gone, the grandchild that ignored SIGINT/SIGTERM included.
    const error = byKind(r, 'error').find((e) => e.iteration === 1);
    const grandchild = /GRANDCHILD (\d+)/.exec(
      JSON.stringify(error?.data ?? {}) + (error?.content ?? ''),
    );
    expect(grandchild).not.toBeNull();
    expect(isProcessAlive(Number(grandchild![1]))).toBe(false);
    expect(isProcessAlive(r.invocations[0].pid)).toBe(false);
    expect(readFileSync(join(workspace, 'src/double.js'), 'utf8')).toBe(DOUBLE_JS);
  });
});

describe('Orchestrator with a CLI that reports conversation cost totals', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: orchestratorEnv({ CLAUDE_COST_REPORTING: 'conversation' }) });
    await t.app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('counts each turn once across a replaced conversation', async () => {
    const server = t.app.getHttpServer() as App;
    const project = copyFixtureProject('node-basic', root, 'conversation-cost');
    const taskId = await createSessionAndTask(server, project, {
      fixture: 'node-basic',
      description: `Add a double helper. ${fakeRuns(
        'stop-short forget=yes cost=0.5 cost_mode=conversation',
        `edit-files path=src/double.js content=${quoted(DOUBLE_JS)} cost=0.01 cost_mode=conversation`,
        'write-tests lang=node result=pass name=double cost=0.01 cost_mode=conversation',
      )}`,
    });
    const result = await waitForTerminal(server, taskId);
    expect(result.final).toMatchObject({ status: 'COMPLETED', iteration: 4 });
    // 0.5 in the lost conversation, then 0.01 per turn in the new one (which reports 0.01, 0.02).
    expect(result.final.cost_usd).toBeCloseTo(0.52, 10);
    const details = await getDetails(server, taskId);
    expect(details.interactions.filter((i) => i.kind === 'result').map((i) => i.cost_usd)).toEqual([
      0.5,
      0,
      0.01,
      expect.closeTo(0.01, 10),
    ]);
  });
});
