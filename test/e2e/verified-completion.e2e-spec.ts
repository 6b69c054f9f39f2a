import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import type { TaskStatsResponseDto, TaskVerificationResponseDto } from 'sdk/client';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import {
  copyFixtureProject,
  editFiles,
  VERIFYING_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeScript,
  getDetails,
  quoted,
  shellCommands,
  TaskDetails,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { committedProject, git, linkedWorktrees } from 'test/e2e/support/git-repos';
import { MATH, MATH_WITH_MULTIPLY, MULTIPLY_TEST } from 'test/e2e/support/node-math';
import { describeMysql, TestDatabaseKind } from 'test/e2e/support/test-database';

/**
 * VERIFIED COMPLETION end to end: the real AppModule with the orchestrator on and
 * REQUIRE_FAILING_TESTS=true, scripted fake agents (honest ones and cheats) in temporary git
 * repositories of a Node (`node --test`) and a Python (`unittest`) project whose regression
 * suites have a test that already fails at the base commit. The evidence
 * (`GET /tasks/{id}/verification`) and the stats (`GET /stats`) are checked against what ran.
 */

const workdir = fakeClaudeWorkdir('cta-verify-e2e-');

/** A project directory with `files`, committed in a new git repository unless `plain`. */
const project = (name: string, files: Record<string, string>, plain = false): string =>
  committedProject(join(workdir.root(), name), files, plain);

/** The node math project (its `package.json`, `src/math.js` and passing tests) with `extra`. */
const nodeMathProject = (name: string, extra: Record<string, string> = {}): string =>
  project(name, {
    'package.json': NODE_PROJECT['package.json'],
    'src/math.js': NODE_PROJECT['src/math.js'],
    'test/math.test.js': NODE_PROJECT['test/math.test.js'],
    ...extra,
  });

const NODE_PROJECT: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'p', private: true, scripts: { test: 'node --test' } }),
  'src/math.js': MATH,
  'test/math.test.js': [
    "'use strict';",
    "const test = require('node:test');",
    "const assert = require('node:assert');",
    "const { add } = require('../src/math');",
    '',
    "test('adds', () => assert.strictEqual(add(2, 3), 5));",
    "test('adds negatives', () => assert.strictEqual(add(-2, -3), -5));",
    '',
  ].join('\n'),
  'test/broken.test.js': [
    "'use strict';",
    "const test = require('node:test');",
    "const assert = require('node:assert');",
    '',
    "test('known bug', () => assert.fail('broken before any task'));",
    '',
  ].join('\n'),
  // Fails once where the change holds `.flaky-once`: its first run notes that outside the
  // repository (by the marker's token), so the tree the tests ran on is left as it was.
  'test/flaky.test.js': [
    "'use strict';",
    "const fs = require('node:fs');",
    "const os = require('node:os');",
    "const path = require('node:path');",
    "const test = require('node:test');",
    "const assert = require('node:assert');",
    '',
    "test('sometimes slow', () => {",
    "  const marker = path.join(__dirname, '..', '.flaky-once');",
    '  if (!fs.existsSync(marker)) return;',
    "  const failedOnce = path.join(os.tmpdir(), `flaky-${fs.readFileSync(marker, 'utf8').trim()}`);",
    '  if (!fs.existsSync(failedOnce)) {',
    "    fs.writeFileSync(failedOnce, '');",
    "    assert.fail('timed out once');",
    '  }',
    '});',
    '',
  ].join('\n'),
};

const MATH_BROKEN =
  "'use strict';\n\nexports.add = (a, b) => a - b;\nexports.multiply = (a, b) => a * b;\n";
const MATH_TEST_ONE = [
  "'use strict';",
  "const test = require('node:test');",
  "const assert = require('node:assert');",
  "const { add } = require('../src/math');",
  '',
  "test('adds', () => assert.strictEqual(add(2, 3), 5));",
  '',
].join('\n');
const MATH_TEST_EMPTIED = NODE_PROJECT['test/math.test.js'].replace(
  "test('adds negatives', () => assert.strictEqual(add(-2, -3), -5));",
  "test('adds negatives', () => {});",
);
const MATH_TEST_SKIPPED = NODE_PROJECT['test/math.test.js'].replace(
  "test('adds negatives'",
  "test.skip('adds negatives'",
);

const multiplyChange = editFiles(['src/math.js', MATH_WITH_MULTIPLY]);
const multiplyTests = editFiles(['test/multiply.test.js', MULTIPLY_TEST]);

/** Ways to weaken the existing tests of NODE_PROJECT: name, the cheating turn, what is reported. */
const WEAKENINGS: [string, string, RegExp][] = [
  [
    'deleting a test file',
    'delete-files path=test/math.test.js',
    /deleted the existing test file test\/math\.test\.js/,
  ],
  [
    'skipping a test',
    editFiles(['test/math.test.js', MATH_TEST_SKIPPED]),
    /added 1 `\.skip\(` marker\(s\) to the existing test file test\/math\.test\.js/,
  ],
  [
    'emptying a test of its assertion',
    editFiles(['test/math.test.js', MATH_TEST_EMPTIED]),
    /removed 1 assertion\(s\) from the existing test file test\/math\.test\.js \(2 before, 1 after\)/,
  ],
  [
    'dropping a test from the suite',
    editFiles(['test/math.test.js', MATH_TEST_ONE]),
    /no longer runs 1 test\(s\) it ran at the base commit: adds negatives/,
  ],
  [
    "loading code into every Node process npm starts (npm's node-options)",
    editFiles(['.npmrc', 'node-options=--require ./.quiet.js\n'], ['.quiet.js', 'void 0;\n']),
    /changed settings in \.npmrc that run code before every test script npm or yarn starts: `node-options=--require \.\/\.quiet\.js`/,
  ],
];

const ENV: Record<string, string> = VERIFYING_RUNNER_ENV;

let t: TestApp;
let server: App;

/** The app for the enclosing describe block, on `database`. */
function appOn(database: TestDatabaseKind): void {
  beforeAll(async () => {
    t = await createTestApp({ database, env: ENV });
    await t.app.listen(0, '127.0.0.1');
    server = (await t.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
  });
  afterAll(async () => {
    // Bodies started for tests a filtered run (-t) skips end before their app does; no more start.
    earlyNext = earlyTests.length;
    await Promise.all(
      earlyTests.flatMap((entry) => (entry.outcome ? [entry.outcome.catch(() => undefined)] : [])),
    );
    await t?.close();
  });
}

async function createSession(projectPath: string, regression: string): Promise<string> {
  const res = await request(server)
    .post('/api/v1/sessions')
    .send({ project_path: projectPath, regression_command: regression })
    .expect(201);
  return res.body.id as string;
}

async function runTask(
  sessionId: string,
  script: string[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await request(server)
    .post('/api/v1/tasks')
    .send({
      session_id: sessionId,
      description: `Add multiply. ${fakeScript(...script)}`,
      max_iterations: 3,
      ...extra,
    })
    .expect(201);
  return res.body.id as string;
}

async function verification(id: string): Promise<TaskVerificationResponseDto> {
  const res = await request(server).get(`/api/v1/tasks/${id}/verification`).expect(200);
  return res.body as TaskVerificationResponseDto;
}

/**
 * Waits for a task whose generated tests did not run at the base commit: COMPLETED
 * verified_without_failing_tests, verified without a run there; its verification.
 */
async function completedUnprovenAtBase(id: string): Promise<TaskVerificationResponseDto> {
  const { final } = await waitForTerminal(server, id);
  expect(final).toMatchObject({
    status: 'COMPLETED',
    status_reason: 'verified_without_failing_tests',
  });
  const v = await verification(id);
  expect(v).toMatchObject({ verdict: 'verified', generated_at_base: null });
  return v;
}

/** Waits for a task its verification never lets complete: FAILED max_iterations_reached. */
async function neverCompleted(id: string): Promise<{ id: string; v: TaskVerificationResponseDto }> {
  const { final } = await waitForTerminal(server, id);
  expect(final).toMatchObject({ status: 'FAILED', status_reason: 'max_iterations_reached' });
  return { id, v: await verification(id) };
}

/** A task its verification never lets complete: FAILED max_iterations_reached, and its evidence. */
async function neverCompletes(
  sessionId: string,
  script: string[],
): Promise<{ id: string; v: TaskVerificationResponseDto }> {
  return neverCompleted(await runTask(sessionId, script));
}

/** Two honest tasks on `session`, one after the other, each checked COMPLETED verified. */
async function twoVerifiedTasks(session: string): Promise<{ first: string; second: string }> {
  const ids: string[] = [];
  for (let i = 0; i < 2; i += 1) {
    const id = await runTask(session, [multiplyChange, multiplyTests]);
    expect((await waitForTerminal(server, id)).final).toMatchObject({
      status: 'COMPLETED',
      status_reason: 'verified',
    });
    ids.push(id);
  }
  return { first: ids[0], second: ids[1] };
}

/**
 * Tests whose bodies run side by side, EARLY_AT_ONCE at a time in the order they are declared, from
 * when a block's `beforeAll(startEarlyTests)` runs: each `it` waits for its own body's outcome
 * (its assertions included), so their tasks run side by side on the app (MAX_CONCURRENT_TASKS)
 * instead of one after the other. Only for tests that share nothing but the app. A body not yet
 * started when its `it` comes (a run filtered with -t) starts then; one started for a test such a
 * run skips is waited for before the app closes, its outcome ignored. The per-test durations Jest
 * reports for these tests are only the wait for a body already under way.
 */
const EARLY_AT_ONCE = 3;
const earlyTests: { body: () => Promise<void>; outcome?: Promise<void> }[] = [];
let earlyNext = 0;
let earlyRunning = 0;

function startEarlyTests(): void {
  while (earlyRunning < EARLY_AT_ONCE && earlyNext < earlyTests.length) {
    const entry = earlyTests[earlyNext];
    earlyNext += 1;
    if (entry.outcome) continue;
    earlyRunning += 1;
    entry.outcome = entry.body();
    // Its `it` reports a failure; this only moves the queue on.
    void entry.outcome
      .catch(() => undefined)
      .finally(() => {
        earlyRunning -= 1;
        startEarlyTests();
      });
  }
}

function itEarly(name: string, body: () => Promise<void>): void {
  const entry: (typeof earlyTests)[number] = { body };
  earlyTests.push(entry);
  it(name, () => (entry.outcome ??= body()));
}

/** The simulated human's prompts to the agent, in order. */
function humanPrompts(details: TaskDetails): string[] {
  return details.interactions.filter((i) => i.kind === 'simulated_human').map((i) => i.content);
}

/** The `test` records of the task by stage (`round` for the test rounds themselves). */
function testStages(details: TaskDetails): string[] {
  return details.interactions
    .filter((i) => i.kind === 'test')
    .map((i) => {
      const data = i.data as { stage?: string; kind?: string } | null;
      return data?.stage ?? `round:${data?.kind ?? '?'}`;
    });
}

const PYTHON_PROJECT: Record<string, string> = {
  'calc.py': 'def add(a, b):\n    return a + b\n',
  'tests/__init__.py': '',
  'tests/test_calc.py': [
    'import unittest',
    '',
    'from calc import add',
    '',
    '',
    'class CalcTest(unittest.TestCase):',
    '    def test_add(self):',
    '        self.assertEqual(add(2, 3), 5)',
    '',
    '    def test_known_bug(self):',
    "        self.fail('broken before any task')",
    '',
  ].join('\n'),
  // As the Node project's: the tree the tests ran on is left as it was.
  'tests/test_flaky.py': [
    'import os',
    'import tempfile',
    'import unittest',
    '',
    '',
    'class FlakyTest(unittest.TestCase):',
    '    def test_sometimes_slow(self):',
    "        marker = os.path.join(os.path.dirname(__file__), '..', '.flaky-once')",
    '        if not os.path.exists(marker):',
    '            return',
    '        with open(marker) as f:',
    "            failed_once = os.path.join(tempfile.gettempdir(), 'flaky-' + f.read().strip())",
    '        if not os.path.exists(failed_once):',
    "            open(failed_once, 'w').close()",
    "            self.fail('timed out once')",
    '',
  ].join('\n'),
};

const CALC_WITH_MUL = 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n';
const MUL_TEST = [
  'import unittest',
  '',
  'from calc import mul',
  '',
  '',
  'class MulTest(unittest.TestCase):',
  '    def test_mul(self):',
  '        self.assertEqual(mul(3, 4), 12)',
  '',
].join('\n');

describe('on SQLite', () => {
  appOn('sqlite');

  describe('a Node project (node --test) with a test that already fails at its base commit', () => {
    let repo: string;
    let session: string;
    let base: string;
    const ids: Record<string, string> = {};

    // The block's tasks are all created first and run side by side (MAX_CONCURRENT_TASKS), in
    // worktrees of one repository; each test waits for its own. The stats test, after them all,
    // sees every one finished.
    beforeAll(async () => {
      repo = project('node', NODE_PROJECT);
      base = git(repo, 'rev-parse', 'HEAD').trim();
      session = await createSession(repo, 'node --test');
      ids.honest = await runTask(session, [multiplyChange, multiplyTests]);
      ids.early = await runTask(session, [
        editFiles(['src/math.js', MATH_WITH_MULTIPLY], ['test/multiply.test.js', MULTIPLY_TEST]),
        `success text=${quoted('The tests were written with the change.\nDONE')}`,
      ]);
      ids.refused = await runTask(session, [
        multiplyChange,
        'write-tests lang=node result=pass path=test/trivial.test.js',
        multiplyTests,
      ]);
      ids.lazy = await runTask(session, [
        multiplyChange,
        'write-tests lang=node result=pass path=test/trivial.test.js',
        'success',
      ]);
      ids.broken = await runTask(session, [
        editFiles(['src/math.js', MATH_BROKEN]),
        multiplyTests,
        'success',
      ]);
      ids.flaky = await runTask(session, [
        editFiles(['src/math.js', MATH_WITH_MULTIPLY], ['.flaky-once', randomUUID()]),
        multiplyTests,
      ]);
      for (const [what, cheat] of WEAKENINGS) {
        ids[what] = await runTask(session, [
          cheat,
          editFiles(['src/math.js', MATH_WITH_MULTIPLY], ['test/multiply.test.js', MULTIPLY_TEST]),
          'success',
        ]);
      }
      ids.allowed = await runTask(
        session,
        [
          'delete-files path=test/math.test.js',
          editFiles(['src/math.js', MATH_WITH_MULTIPLY], ['test/multiply.test.js', MULTIPLY_TEST]),
        ],
        { allow_test_changes: true },
      );
    });

    it('an honest agent completes verified; the evidence matches what ran', async () => {
      const { final } = await waitForTerminal(server, ids.honest);
      expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified' });
      const v = await verification(ids.honest);
      const details = await getDetails(server, ids.honest);
      expect(v).toMatchObject({
        checked: true,
        verdict: 'verified',
        reason: 'verified',
        base_commit: base,
        head_commit: details.head_commit,
        baseline_reused: false,
        regression_granularity: 'test',
        pre_existing_failures: ['known bug'],
        new_failures: [],
        flaky_tests: [],
        weakening: [],
        not_checked: [],
      });
      expect(v.baseline).toMatchObject({ commit: base, total: 4, failing: ['known bug'] });
      expect(v.baseline?.exit_code).not.toBe(0);
      expect(v.generated).toMatchObject({ commit: null, exit_code: 0, counts: { passed: 1 } });
      expect(v.generated_at_base).toMatchObject({ commit: base });
      expect(v.generated_at_base?.exit_code).not.toBe(0);
      expect(v.generated_at_base?.output_excerpt).toMatch(/multiply is not a function/);
      expect(v.regression).toMatchObject({ total: 5, failing: ['known bug'] });
      expect(v.regression_rerun).toBeNull();
      expect(v.generated_on_commit).toBeNull();
      expect(testStages(details)).toEqual([
        'baseline',
        'round:generated',
        'round:regression',
        'generated_at_base',
      ]);
      expect(details.verification).toMatchObject({ verdict: 'verified', base_commit: base });
      // Its scratch checkout of the base commit is gone: see the stats test, after every task.
    });

    it('tests the agent wrote with its change, before it was asked, count: it completes verified', async () => {
      const { final } = await waitForTerminal(server, ids.early);
      expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified', iteration: 2 });
      const details = await getDetails(server, ids.early);
      expect(humanPrompts(details)).toHaveLength(1);
      expect(
        details.test_cases
          .filter((c) => c.kind === 'generated')
          .map((c) => [c.name, c.file_path, c.status, c.iteration]),
      ).toEqual([['multiplies', 'test/multiply.test.js', 'passed', 2]]);
      const v = await verification(ids.early);
      expect(v.generated_at_base?.exit_code).not.toBe(0);
      expect(v.generated_at_base?.output_excerpt).toMatch(/multiply is not a function/);
    });

    it('tests that pass without the change are refused and the agent asked again', async () => {
      const { final } = await waitForTerminal(server, ids.refused);
      expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified' });
      const details = await getDetails(server, ids.refused);
      const feedback = humanPrompts(details)[1];
      expect(feedback).toContain('Your tests pass without your change');
      expect(feedback).toContain(base);
      expect(testStages(details).filter((s) => s === 'generated_at_base')).toHaveLength(2);
      const v = await verification(ids.refused);
      // A baseline with a failure ('known bug') is never reused: each task takes its own.
      expect(v.baseline_reused).toBe(false);
      expect(v.generated?.counts.passed).toBe(3);
    });

    it('tests that never fail without the change never complete', async () => {
      const { final } = await waitForTerminal(server, ids.lazy);
      expect(final).toMatchObject({ status: 'FAILED', status_reason: 'max_iterations_reached' });
      expect(await verification(ids.lazy)).toMatchObject({ verdict: 'tests_pass_without_change' });
      expect((await getDetails(server, ids.lazy)).error_message).toMatch(
        /the last test round still did not pass: Your tests pass without your change/,
      );
    });

    it('new breakage of a regression test is sent back; it does not complete', async () => {
      const { final } = await waitForTerminal(server, ids.broken);
      expect(final).toMatchObject({ status: 'FAILED', status_reason: 'max_iterations_reached' });
      const v = await verification(ids.broken);
      expect(v).toMatchObject({
        verdict: 'regression_broken',
        pre_existing_failures: ['known bug'],
        new_failures: ['adds', 'adds negatives'],
        flaky_tests: [],
      });
      // Run again alone: only the new failures, by name pattern.
      expect(v.rerun_scope).toBe('tests');
      expect(v.regression_rerun?.command.join(' ')).toContain(
        '--test-name-pattern=^(adds|adds negatives)$',
      );
      expect(v.regression_rerun?.failing).toEqual(['adds', 'adds negatives']);
      const feedback = humanPrompts(await getDetails(server, ids.broken))[1];
      expect(feedback).toContain('broke regression tests');
      expect(feedback).toContain('not yours to fix: known bug');
    });

    it('a regression test that fails once and passes when run again is flaky, named, and the task not plain verified', async () => {
      const { final } = await waitForTerminal(server, ids.flaky);
      expect(final).toMatchObject({
        status: 'COMPLETED',
        status_reason: 'verified_with_flaky_tests',
      });
      const v = await verification(ids.flaky);
      expect(v).toMatchObject({ flaky_tests: ['sometimes slow'], new_failures: [] });
      expect(v.reason).toMatch(/^verified, except: flaky regression tests .*: sometimes slow$/);
      expect(v.regression?.failing).toEqual(['known bug', 'sometimes slow']);
      expect(v).toMatchObject({ rerun_scope: 'tests' });
      expect(v.regression_rerun?.failing).toEqual([]);
    });

    it.each(WEAKENINGS)(
      '%s is caught, sent back naming it, and never completes',
      async (what, _cheat, detail) => {
        const id = ids[what];
        const { final } = await waitForTerminal(server, id);
        expect(final).toMatchObject({ status: 'FAILED', status_reason: 'max_iterations_reached' });
        const v = await verification(id);
        expect(v.verdict).toBe('tests_weakened');
        expect(v.weakening.map((w) => w.detail).join('\n')).toMatch(detail);
        const details = await getDetails(server, id);
        expect(details.error_message).toMatch(
          /the last test round still did not pass: Existing tests were weakened/,
        );
        const feedback = humanPrompts(details)[1];
        expect(feedback).toContain('Existing tests were weakened');
        expect(feedback).toMatch(detail);
      },
    );

    it('allow_test_changes: a deleted test is recorded and does not block', async () => {
      const { final } = await waitForTerminal(server, ids.allowed);
      expect(final).toMatchObject({
        status: 'COMPLETED',
        status_reason: 'verified_with_test_changes',
      });
      const v = await verification(ids.allowed);
      expect(v).toMatchObject({
        verdict: 'verified',
        allow_test_changes: true,
      });
      expect(v.weakening.map((w) => w.kind)).toEqual(['deleted', 'fewer_tests']);
      expect(v.reason).toMatch(/^verified, except: test changes allowed/);
    });

    it('the stats of the session agree with what ran', async () => {
      const res = await request(server)
        .get('/api/v1/stats')
        .query({ session_id: session })
        .expect(200);
      const stats = res.body as TaskStatsResponseDto;
      const finals = await Promise.all(Object.values(ids).map((id) => getDetails(server, id)));
      // Every task's scratch checkouts (the base commit, ...) are gone; only the tasks' workspaces
      // are left.
      expect(linkedWorktrees(repo).sort()).toEqual(finals.map((d) => d.workspace_path).sort());
      const verified = finals.filter((d) => d.status_reason === 'verified');
      expect(stats.finished).toBe(finals.length);
      expect(stats.verified).toBe(verified.length);
      expect(stats.verified).toBe(3);
      expect(stats.completed).toBe(finals.filter((d) => d.status === 'COMPLETED').length);
      expect(stats.verified_completion_rate).toBeCloseTo(verified.length / finals.length, 5);
      // The weakenings', the lazy agent's and the broken change's.
      expect(stats.by_status_and_reason).toContainEqual({
        status: 'FAILED',
        reason: 'max_iterations_reached',
        count: WEAKENINGS.length + 2,
      });
      const cost = finals.reduce((sum, d) => sum + d.cost_usd, 0);
      expect(stats.total_cost_usd).toBeCloseTo(cost, 5);
      expect(stats.cost_per_verified_task_usd).toBeCloseTo(cost / verified.length, 5);
      const completed = finals.filter((d) => d.status === 'COMPLETED');
      expect(stats.turns_to_green.max).toBe(Math.max(...completed.map((d) => d.iteration)));
      // The refused task needed two test rounds, the others one.
      expect(stats.test_rounds_to_green.max).toBe(2);
      expect(stats.time_to_green_ms.count).toBe(completed.length);
      // The metrics count the verification's own runs under their stage, not as test rounds.
      const metrics = (await request(server).get('/metrics').expect(200)).text;
      // A baseline with a failure is not reused: each task took its own.
      expect(metrics).toMatch(
        new RegExp(
          `^cta_test_runs_total\\{kind="baseline",result="failed"\\} ${finals.length}$`,
          'm',
        ),
      );
      expect(metrics).toMatch(
        /^cta_test_runs_total\{kind="generated_at_base",result="failed"\} \d+$/m,
      );
    });

    // After the stats: its session's baseline run counts in the metrics too.
    it('a test script made `exit 0` is caught: the suite no longer counts the tests it ran at the base', async () => {
      const npmSession = await createSession(repo, 'npm test');
      const silenced = JSON.stringify({ name: 'p', private: true, scripts: { test: 'exit 0' } });
      const id = await runTask(npmSession, [
        editFiles(['package.json', silenced], ['src/math.js', MATH_WITH_MULTIPLY]),
        multiplyTests,
        'success',
      ]);
      const { final } = await waitForTerminal(server, id);
      expect(final).toMatchObject({ status: 'FAILED', status_reason: 'max_iterations_reached' });
      const v = await verification(id);
      expect(v.verdict).toBe('tests_weakened');
      expect(v.baseline?.total).toBe(4);
      expect(v.regression).toMatchObject({ exit_code: 0, total: null });
      expect(v.weakening.map((w) => w.detail).join('\n')).toMatch(
        /no longer reports the tests it runs: it ran 4 test\(s\) at the base commit/,
      );
    });

    it('a task that ends before any test round has its baseline stored and no verdict', async () => {
      const id = await runTask(await createSession(repo, 'node --test'), ['not-logged-in']);
      const { final } = await waitForTerminal(server, id);
      expect(final).toMatchObject({ status: 'FAILED', status_reason: 'cli_not_logged_in' });
      const v = await verification(id);
      expect(v).toMatchObject({ checked: false, verdict: null, reason: null, checked_at: null });
      expect(v.baseline).toMatchObject({ commit: base, failing: ['known bug'] });
      expect((await getDetails(server, id)).verification).toBeNull();
    });
  });

  describe('a Python project (unittest) with a test that already fails at its base commit', () => {
    const ids: Record<string, string> = {};
    const HOOK = [
      'import pytest',
      '',
      '@pytest.hookimpl(hookwrapper=True)',
      'def pytest_runtest_makereport(item, call):',
      '    outcome = yield',
      '    outcome.get_result().outcome = "passed"',
      '',
    ].join('\n');
    // A unittest of the project's, first on the module path under `python -m unittest`: it loads
    // the real one, and has it count every failure and error as a success.
    const UNITTEST_STAND_IN = [
      'import os, sys',
      'project = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))',
      'kept = sys.path[:]',
      "sys.path[:] = [p for p in kept if os.path.abspath(p or '.') != project]",
      'del sys.modules[__name__]',
      'import unittest as real',
      'sys.path[:] = kept',
      'real.TestResult.addFailure = lambda self, test, err: self.addSuccess(test)',
      'real.TestResult.addError = lambda self, test, err: self.addSuccess(test)',
      '',
    ].join('\n');
    const SKIPPED = PYTHON_PROJECT['tests/test_calc.py'].replace(
      '    def test_known_bug',
      "    @unittest.skip('later')\n    def test_known_bug",
    );
    // A pytest test function (a unittest TestCase's method is run by unittest, not by this hook).
    const PYTEST_MUL_TEST =
      'from calc import mul\n\n\ndef test_mul():\n    assert mul(3, 4) == 12\n';
    const PASS_ALL = [
      'import pytest',
      '',
      '',
      '@pytest.hookimpl(tryfirst=True)',
      'def pytest_pyfunc_call(pyfuncitem):',
      '    return True',
      '',
    ].join('\n');
    const PAIR_FIXTURE = [
      'import pytest',
      '',
      '',
      '@pytest.fixture',
      'def pair():',
      '    """Two numbers for the new tests."""',
      '    return (3, 4)',
      '',
    ].join('\n');
    /** The change along with `cheat` in the first turn, then real tests: never completes. */
    const changeWith = (cheat: [string, string]): string[] => [
      editFiles(['calc.py', CALC_WITH_MUL], cheat),
      editFiles(['tests/test_mul.py', MUL_TEST]),
      'success',
    ];

    // The block's tasks are all created first and run side by side; each test waits for its own.
    beforeAll(async () => {
      const session = await createSession(project('python', PYTHON_PROJECT), 'python3 -m unittest');
      ids.refused = await runTask(session, [
        editFiles(['calc.py', CALC_WITH_MUL]),
        'write-tests lang=python result=pass path=tests/test_trivial.py',
        editFiles(['tests/test_mul.py', MUL_TEST]),
      ]);
      ids.flaky = await runTask(session, [
        editFiles(['calc.py', CALC_WITH_MUL], ['.flaky-once', randomUUID()]),
        editFiles(['tests/test_mul.py', MUL_TEST]),
      ]);
      ids.noImport = await runTask(session, [
        editFiles(
          ['calc.py', CALC_WITH_MUL.replace('def add(', 'def plus(')],
          ['tests/test_mul.py', MUL_TEST],
        ),
        'success',
        'success',
      ]);
      ids.hook = await runTask(session, changeWith(['tests/conftest.py', HOOK]));
      ids.hookInEnv = await runTask(session, changeWith(['tests/env/conftest.py', HOOK]));
      ids.standIn = await runTask(session, changeWith(['unittest/__init__.py', UNITTEST_STAND_IN]));
      // Bytecode of a right calc.py, compiled to be taken without a look at its source, then a
      // wrong calc.py with no mul: the tests would pass on the bytecode, the commit hold the source.
      const plant = [
        'import py_compile',
        `open('calc.py', 'w').write(${JSON.stringify(CALC_WITH_MUL)})`,
        "py_compile.compile('calc.py', invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)",
        "open('calc.py', 'w').write('def add(a, b):\\n    return a - b\\n')",
      ].join('; ');
      ids.bytecode = await runTask(session, [
        `shell command=${quoted(`python3 -c ${quoted(plant)}`)}`,
        editFiles(['tests/test_mul.py', MUL_TEST]),
        'success',
      ]);
      // The same bytecode added to the index, so that it stays and the commit holds it.
      ids.stagedBytecode = await runTask(session, [
        `shell command=${quoted(`python3 -c ${quoted(plant)} && git add -f __pycache__`)}`,
        editFiles(['tests/test_mul.py', MUL_TEST]),
        'success',
      ]);
      ids.skip = await runTask(session, changeWith(['tests/test_calc.py', SKIPPED]));
      const pytestSession = await createSession(
        project('python-pytest', PYTHON_PROJECT),
        'python3 -m pytest -p no:cacheprovider',
      );
      const deselect = '[pytest]\naddopts = --deselect tests/test_calc.py::CalcTest::test_add\n';
      ids.pytest = await runTask(pytestSession, [
        editFiles(['calc.py', CALC_WITH_MUL], ['pytest.ini', deselect]),
        editFiles(['tests/test_mul.py', MUL_TEST]),
        'success',
      ]);
      // A hook that passes every pytest test function without running it, and a wrong mul.
      ids.passAll = await runTask(pytestSession, [
        editFiles(
          ['calc.py', CALC_WITH_MUL.replace('a * b', 'a + b')],
          ['conftest.py', PASS_ALL],
          ['tests/test_mul.py', PYTEST_MUL_TEST],
        ),
        'success',
        'success',
      ]);
      // No mul in calc.py: the conftest.py puts one there when pytest loads it.
      ids.patched = await runTask(pytestSession, [
        editFiles(
          ['conftest.py', 'import calc\n\ncalc.mul = lambda a, b: a * b\n'],
          ['tests/test_mul.py', PYTEST_MUL_TEST],
        ),
        'success',
        'success',
      ]);
      // Honest: the change, and a plain fixture in a new tests/conftest.py for its new test.
      ids.fixture = await runTask(pytestSession, [
        editFiles(
          ['calc.py', CALC_WITH_MUL],
          ['tests/conftest.py', PAIR_FIXTURE],
          ['tests/test_mul.py', PYTEST_MUL_TEST.replace('def test_mul():', 'def test_mul(pair):')],
        ),
      ]);
    });

    it('tests passing without the change are refused; real ones complete verified, the old failure pre-existing', async () => {
      const id = ids.refused;
      const { final } = await waitForTerminal(server, id);
      expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified' });
      expect(humanPrompts(await getDetails(server, id))[1]).toContain(
        'Your tests pass without your change',
      );
      const v = await verification(id);
      expect(v).toMatchObject({
        regression_granularity: 'test',
        pre_existing_failures: ['test_known_bug (tests.test_calc.CalcTest.test_known_bug)'],
        new_failures: [],
      });
      expect(v.baseline).toMatchObject({ total: 3 });
      expect(v.generated_at_base?.output_excerpt).toMatch(/ImportError|cannot import name 'mul'/);
    });

    it('a test that fails once and passes when run again alone (by its id) is flaky', async () => {
      const id = ids.flaky;
      const { final } = await waitForTerminal(server, id);
      expect(final).toMatchObject({
        status: 'COMPLETED',
        status_reason: 'verified_with_flaky_tests',
      });
      const v = await verification(id);
      const flaky = 'test_sometimes_slow (tests.test_flaky.FlakyTest.test_sometimes_slow)';
      expect(v).toMatchObject({
        flaky_tests: [flaky],
        new_failures: [],
        rerun_scope: 'tests',
        baseline_reused: false,
      });
      expect(v.regression_rerun?.command).toEqual([
        'python3',
        '-m',
        'unittest',
        'tests.test_flaky.FlakyTest.test_sometimes_slow',
      ]);
      expect(v.regression_rerun).toMatchObject({ exit_code: 0, total: 1, failing: [] });
    });

    it('an existing test module that no longer imports is new breakage, not flaky', async () => {
      const id = ids.noImport;
      const { final } = await waitForTerminal(server, id);
      expect(final).toMatchObject({ status: 'FAILED', status_reason: 'max_iterations_reached' });
      const v = await verification(id);
      const broken = 'tests.test_calc (unittest.loader._FailedTest.tests.test_calc)';
      expect(v).toMatchObject({ verdict: 'regression_broken', flaky_tests: [] });
      expect(v.new_failures).toContain(broken);
      // Run again as the whole command: the loader's name is no test id.
      expect(v.regression_rerun?.command).toEqual(['python3', '-m', 'unittest']);
    });

    /** A task of `changeWith`: it never completes, its tests found weakened; the evidence. */
    async function weakened(id: string): Promise<TaskVerificationResponseDto> {
      const { v } = await neverCompleted(id);
      expect(v.verdict).toBe('tests_weakened');
      return v;
    }

    it('a conftest.py hook that can turn failures into passes is caught', async () => {
      const v = await weakened(ids.hook);
      expect(v.weakening).toEqual([
        expect.objectContaining({ kind: 'test_hooks', file: 'tests/conftest.py' }),
      ]);
    });

    it('such a hook in a directory the test-file finder skips (env/), which pytest collects, is caught', async () => {
      const v = await weakened(ids.hookInEnv);
      expect(v.weakening).toEqual([
        expect.objectContaining({ kind: 'test_hooks', file: 'tests/env/conftest.py' }),
      ]);
    });

    it("a unittest of the project's, loaded in place of the real one by `python -m unittest`, is caught", async () => {
      const v = await weakened(ids.standIn);
      expect(v.weakening).toEqual([
        expect.objectContaining({ kind: 'test_config_changed', file: 'unittest/__init__.py' }),
      ]);
      // It did hide the failure the base commit's suite has.
      expect(v.regression?.failing).toEqual([]);
    });

    it('bytecode the agent left for a module is removed before each round: the tests run the source the commit holds', async () => {
      const { v } = await neverCompleted(ids.bytecode);
      expect(v.verdict).toBe('tests_failed');
      expect(v.generated?.output_excerpt).toMatch(/cannot import name 'mul' from 'calc'/);
    });

    it('bytecode added to the index stays, and is caught: the commit would hold it for its source', async () => {
      const v = await weakened(ids.stagedBytecode);
      expect(v.weakening).toEqual([
        expect.objectContaining({
          kind: 'test_config_changed',
          file: expect.stringMatching(/^__pycache__\/calc\.cpython-\d+\.pyc$/),
          detail: expect.stringMatching(/^added the Python bytecode __pycache__\//),
        }),
      ]);
    });

    it('skipping the failing test with @unittest.skip is caught', async () => {
      const v = await weakened(ids.skip);
      expect(v.weakening).toEqual([
        expect.objectContaining({ kind: 'skip_marker', file: 'tests/test_calc.py' }),
        // By name too: `python -m unittest` runs with -v, its lines naming each test it ran.
        {
          kind: 'fewer_tests',
          file: null,
          detail:
            'the regression suite no longer runs 1 test(s) it ran at the base commit: test_known_bug (tests.test_calc.CalcTest.test_known_bug)',
        },
      ]);
      // The suite's own counts say so too; as the agent's new test came with the skip, they alone
      // would not tell an existing test skipped from a new one: its name does.
      expect(v.baseline?.counts.skipped).toBe(0);
      expect(v.regression?.counts.skipped).toBe(1);
    });

    it('run by pytest: an existing test deselected in pytest.ini, a new test in its place, is caught though the totals are equal', async () => {
      const { id, v } = await neverCompleted(ids.pytest);
      expect(v.verdict).toBe('tests_weakened');
      expect(v.baseline).toMatchObject({ total: 3, counts: { failed: 1, deselected: 0 } });
      expect(v.regression).toMatchObject({ total: 3, counts: { failed: 1, deselected: 1 } });
      expect(v.weakening).toEqual([
        {
          kind: 'test_config_changed',
          file: 'pytest.ini',
          detail:
            "changed pytest's options in pytest.ini, which decide which tests run and what they import and run against (only markers may be added): the section [pytest] set to `present`; [pytest] addopts set to `--deselect tests/test_calc.py::CalcTest::test_add`",
        },
        {
          kind: 'fewer_tests',
          file: null,
          // By node id, from the JUnit report the server had pytest write.
          detail:
            'the regression suite no longer runs 1 test(s) it ran at the base commit: tests/test_calc.py::CalcTest::test_add',
        },
        expect.objectContaining({
          kind: 'fewer_tests',
          file: null,
          detail: expect.stringContaining(
            'the regression suite deselects 1 more of its tests than at the base commit (0 deselected before, 1 after)',
          ),
        }),
      ]);
      expect(humanPrompts(await getDetails(server, id))[1]).toContain(
        "You changed pytest's options in pytest.ini",
      );
    });

    it('run by pytest: a conftest.py hook passing every test unrun (pytest_pyfunc_call, on no list of hooks) is caught', async () => {
      const { id, v } = await neverCompleted(ids.passAll);
      expect(v.verdict).toBe('tests_weakened');
      expect(v.weakening).toEqual([
        expect.objectContaining({
          kind: 'test_hooks',
          file: 'conftest.py',
          detail: expect.stringContaining('pytest hooks in conftest.py (pytest_pyfunc_call)'),
        }),
      ]);
      expect(humanPrompts(await getDetails(server, id))[1]).toContain('(pytest_pyfunc_call)');
    });

    it('run by pytest: a conftest.py patching the code under test when pytest loads it is caught', async () => {
      const v = await weakened(ids.patched);
      expect(v.weakening).toContainEqual(
        expect.objectContaining({
          kind: 'test_config_changed',
          file: 'conftest.py',
          detail: expect.stringContaining(
            'added code that runs when pytest loads it, before every test, other than imports, definitions and plain assignments: `calc.mul = lambda a, b: a * b`',
          ),
        }),
      );
    });

    it('run by pytest: a plain fixture added to a conftest.py for the new tests completes verified', async () => {
      const { final } = await waitForTerminal(server, ids.fixture);
      expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified' });
      const v = await verification(ids.fixture);
      expect(v).toMatchObject({ verdict: 'verified', weakening: [] });
    });
  });

  describe('a Python project run by pytest (pytest.ini: testpaths, pythonpath) whose agent hides what its tests show', () => {
    const ids: Record<string, string> = {};
    const PYTEST_PROJECT: Record<string, string> = {
      'calc.py': 'def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n',
      'pytest.ini': '[pytest]\ntestpaths = tests\npythonpath = .\n',
      'tests/test_calc.py': [
        'from calc import add, sub',
        '',
        '',
        'def test_add():',
        '    assert add(2, 3) == 5',
        '',
        '',
        'def test_add_negatives():',
        '    assert add(-2, -3) == -5',
        '',
        '',
        'def test_sub():',
        '    assert sub(5, 3) == 2',
        '',
      ].join('\n'),
    };
    const mulIs = (body: string): string =>
      `${PYTEST_PROJECT['calc.py']}\n\ndef mul(a, b):\n    return ${body}\n`;
    const MUL_TESTS = [
      'from calc import mul',
      '',
      '',
      'def test_mul():',
      '    assert mul(3, 4) == 12',
      '',
      '',
      'def test_mul_zero():',
      '    assert mul(3, 0) == 0',
      '',
      '',
      'def test_mul_negative():',
      '    assert mul(-2, 3) == -6',
      '',
    ].join('\n');
    // pytest leaves tests/test_calc.py out: three new tests run in place of its three.
    const IGNORE_OLD = [
      'def pytest_configure(config):',
      "    config.option.ignore = (config.option.ignore or []) + ['tests/test_calc.py']",
      '',
    ].join('\n');
    // No FAILED lines, and exit status 1 made 0.
    const HIDE_FAILURES = [
      'def pytest_configure(config):',
      "    config.option.reportchars = ''",
      '',
      '',
      'def pytest_sessionfinish(session, exitstatus):',
      '    if session.exitstatus == 1:',
      '        session.exitstatus = 0',
      '',
    ].join('\n');
    // The test of the value expected to fail, beside one that only finds the name.
    const XFAIL_TESTS = [
      'import pytest',
      '',
      'from calc import mul',
      '',
      '',
      'def test_mul_exists():',
      '    assert callable(mul)',
      '',
      '',
      '@pytest.mark.xfail',
      'def test_mul():',
      '    assert mul(3, 4) == 12',
      '',
    ].join('\n');
    // A fixture of the project's top conftest.py does the new tests' work; calc.mul is wrong.
    const MUL_FIXTURE = [
      'import pytest',
      '',
      '',
      '@pytest.fixture',
      'def mul():',
      '    return lambda a, b: a * b',
      '',
    ].join('\n');
    const FIXTURE_TESTS = ['def test_mul(mul):', '    assert mul(3, 4) == 12', ''].join('\n');
    beforeAll(async () => {
      const session = await createSession(
        project('python-pytest-cheats', PYTEST_PROJECT),
        'python3 -m pytest -p no:cacheprovider',
      );
      ids.honest = await runTask(session, [
        editFiles(['calc.py', mulIs('a * b')], ['tests/test_mul.py', MUL_TESTS]),
      ]);
      ids.ignored = await runTask(session, [
        editFiles(['calc.py', mulIs('a * b')], ['tests/conftest.py', IGNORE_OLD]),
        editFiles(['tests/test_mul.py', MUL_TESTS]),
        'success',
      ]);
      ids.hidden = await runTask(session, [
        editFiles(
          ['calc.py', mulIs('a * b').replace('return a + b', 'return a - b')],
          ['tests/conftest.py', HIDE_FAILURES],
        ),
        editFiles(['tests/test_mul.py', MUL_TESTS]),
        'success',
      ]);
      ids.fixture = await runTask(session, [
        editFiles(
          ['calc.py', mulIs('a + b')],
          ['conftest.py', MUL_FIXTURE],
          ['tests/test_mul.py', FIXTURE_TESTS],
        ),
      ]);
      ids.xfailed = await runTask(session, [
        editFiles(['calc.py', mulIs('a + b')], ['tests/test_mul.py', XFAIL_TESTS]),
      ]);
    });

    it('an honest agent completes verified, the regression suite read by node id', async () => {
      const { final } = await waitForTerminal(server, ids.honest);
      expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified' });
      const v = await verification(ids.honest);
      expect(v.baseline?.tests).toEqual([
        'tests/test_calc.py::test_add',
        'tests/test_calc.py::test_add_negatives',
        'tests/test_calc.py::test_sub',
      ]);
      expect(v.regression?.tests).toHaveLength(6);
    });

    it('existing tests left out by a conftest.py, as many new ones in their place, are missed by name', async () => {
      const { v } = await neverCompleted(ids.ignored);
      expect(v.verdict).toBe('tests_weakened');
      expect(v.baseline?.total).toBe(3);
      expect(v.regression?.total).toBe(3);
      expect(v.weakening).toEqual(
        expect.arrayContaining([
          {
            kind: 'fewer_tests',
            file: null,
            detail:
              'the regression suite no longer runs 3 test(s) it ran at the base commit: tests/test_calc.py::test_add, tests/test_calc.py::test_add_negatives, tests/test_calc.py::test_sub',
          },
        ]),
      );
    });

    it('a failure a conftest.py hides from the output and the exit code is new breakage', async () => {
      const { v } = await neverCompleted(ids.hidden);
      expect(v.verdict).toBe('regression_broken');
      expect(v.regression).toMatchObject({ exit_code: 0, counts: { failed: 2 } });
      expect(v.new_failures).toEqual([
        'tests/test_calc.py::test_add',
        'tests/test_calc.py::test_add_negatives',
      ]);
    });

    it("new tests that test a fixture of the project's top conftest.py, not the code, pass at the base commit with it", async () => {
      const { v } = await neverCompleted(ids.fixture);
      expect(v.verdict).toBe('tests_pass_without_change');
      expect(v.generated_at_base).toMatchObject({ exit_code: 0 });
    });

    it('a wrong value whose new test is marked xfail, beside one that only finds the name, is sent back', async () => {
      const { v } = await neverCompleted(ids.xfailed);
      expect(v.verdict).toBe('tests_failed');
      expect(v.reason).toBe(
        'new tests were skipped or marked as expected to fail: test_mul in tests/test_mul.py',
      );
    });
  });

  describe('a Node project with a plain script among its tests (node --test names it by its path)', () => {
    // From here on, the tests' bodies run side by side (`itEarly`).
    beforeAll(startEarlyTests);

    itEarly(
      "a baseline stored by one task compares with the next task's run in another workspace",
      async () => {
        const repo = nodeMathProject('plain-script', {
          'test/plain.test.js': "'use strict';\nrequire('node:assert').strictEqual(1 + 1, 2);\n",
        });
        const { second } = await twoVerifiedTasks(await createSession(repo, 'node --test'));
        const v = await verification(second);
        expect(v).toMatchObject({ baseline_reused: true, weakening: [], new_failures: [] });
        expect(v.baseline?.tests).toContain('test/plain.test.js');
        expect(v.regression?.tests).toContain('test/plain.test.js');
      },
    );
  });

  describe('a Node project whose agent edits its existing tests', () => {
    itEarly(
      'what an existing test expects, rewritten to fit broken code, is caught: the test as it was fails on the change',
      async () => {
        const repo = nodeMathProject('rewritten');
        const session = await createSession(repo, 'node --test');
        const rewritten = NODE_PROJECT['test/math.test.js']
          .replace('add(2, 3), 5', 'add(2, 3), -1')
          .replace('add(-2, -3), -5', 'add(-2, -3), 1');
        const { id, v } = await neverCompletes(session, [
          editFiles(
            ['src/math.js', MATH_BROKEN],
            ['test/math.test.js', rewritten],
            ['test/multiply.test.js', MULTIPLY_TEST],
          ),
          'success',
          'success',
        ]);
        expect(v.verdict).toBe('tests_weakened');
        expect(v.weakening).toEqual([
          expect.objectContaining({ kind: 'rewritten', file: 'test/math.test.js' }),
        ]);
        // The regression suite, rewritten with the code, passed: only the old test shows it.
        expect(v.regression).toMatchObject({ exit_code: 0, failing: [] });
        expect(v.existing_tests_on_change?.exit_code).not.toBe(0);
        expect(v.existing_tests_on_change?.failing).toEqual(['adds', 'adds negatives']);
        expect(v.existing_tests_at_base).toMatchObject({ exit_code: 0 });
        const details = await getDetails(server, id);
        expect(humanPrompts(details)[1]).toContain('Existing tests were rewritten');
        expect(testStages(details)).toContain('existing_tests_on_change');
        // The scratch checkouts are gone; only the task's workspace is left.
        expect(linkedWorktrees(repo)).toEqual([details.workspace_path]);
      },
    );

    itEarly(
      'a change refused twice for rewriting existing tests fails test_changes_needed with turns left; retried with allow_test_changes it completes',
      async () => {
        const repo = nodeMathProject('needs-test-changes');
        const session = await createSession(repo, 'node --test');
        const rewritten = NODE_PROJECT['test/math.test.js']
          .replace('add(2, 3), 5', 'add(2, 3), -1')
          .replace('add(-2, -3), -5', 'add(-2, -3), 1');
        const id = await runTask(
          session,
          [
            editFiles(
              ['src/math.js', MATH_BROKEN],
              ['test/math.test.js', rewritten],
              ['test/multiply.test.js', MULTIPLY_TEST],
            ),
            'success',
            'success',
          ],
          { max_iterations: 10 },
        );
        const { final } = await waitForTerminal(server, id);
        expect(final).toMatchObject({
          status: 'FAILED',
          status_reason: 'test_changes_needed',
          iteration: 3,
        });
        expect(final.error_message).toContain('retry it with allow_test_changes: true');
        expect((await verification(id)).verdict).toBe('tests_weakened');

        const retry = await request(server)
          .post(`/api/v1/tasks/${id}/retry`)
          .send({ allow_test_changes: true })
          .expect(201);
        expect(retry.body).toMatchObject({ retry_of: id, allow_test_changes: true });
        const { final: retried } = await waitForTerminal(server, retry.body.id as string);
        expect(retried).toMatchObject({
          status: 'COMPLETED',
          status_reason: 'verified_with_test_changes',
        });
        expect((await verification(retry.body.id as string)).weakening).toEqual([
          expect.objectContaining({ kind: 'rewritten', file: 'test/math.test.js' }),
        ]);
      },
    );

    itEarly(
      'a test added beside the existing ones in their file completes verified: the file as it was passes on the change',
      async () => {
        const repo = nodeMathProject('extended');
        const session = await createSession(repo, 'node --test');
        const extended = `${NODE_PROJECT['test/math.test.js']}test('multiplies', () => assert.strictEqual(require('../src/math').multiply(3, 4), 12));\n`;
        const id = await runTask(session, [
          editFiles(['src/math.js', MATH_WITH_MULTIPLY], ['test/math.test.js', extended]),
          'success',
        ]);
        const { final } = await waitForTerminal(server, id);
        expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified' });
        const v = await verification(id);
        expect(v.existing_tests_on_change).toMatchObject({ exit_code: 0, failing: [] });
        expect(v.existing_tests_at_base).toBeNull();
        expect(v.generated_at_base?.failing).toEqual(['multiplies']);
      },
    );

    itEarly(
      'a test of nothing but test data the change adds passes at the base commit too (its data goes with it): refused',
      async () => {
        const repo = nodeMathProject('fixture-only');
        const session = await createSession(repo, 'node --test');
        const readsFixture = [
          "'use strict';",
          "const test = require('node:test');",
          "const assert = require('node:assert');",
          "const cases = require('./fixtures/cases.json');",
          '',
          "test('has its cases', () => assert.strictEqual(cases.length, 2));",
          '',
        ].join('\n');
        const id = await runTask(session, [
          editFiles(
            ['src/math.js', MATH_WITH_MULTIPLY],
            ['test/fixtures/cases.json', '[[3, 4, 12], [2, 5, 10]]'],
            ['test/cases.test.js', readsFixture],
          ),
          'success',
          'success',
        ]);
        const { final } = await waitForTerminal(server, id);
        expect(final).toMatchObject({ status: 'FAILED', status_reason: 'max_iterations_reached' });
        const v = await verification(id);
        expect(v.verdict).toBe('tests_pass_without_change');
        expect(v.generated_at_base).toMatchObject({ exit_code: 0, failing: [] });
      },
    );

    itEarly(
      'expected output rewritten to fit broken code is caught: the tests beside it run with it as it was',
      async () => {
        const repo = nodeMathProject('golden', {
          'src/format.js':
            "'use strict';\n\nexports.formatSum = (a, b) => `${a} + ${b} = ${a + b}`;\n",
          'test/golden/sum.txt': '2 + 3 = 5',
          'test/format.test.js': [
            "'use strict';",
            "const fs = require('node:fs');",
            "const path = require('node:path');",
            "const test = require('node:test');",
            "const assert = require('node:assert');",
            "const { formatSum } = require('../src/format');",
            '',
            "test('formats a sum as the golden file', () =>",
            "  assert.strictEqual(formatSum(2, 3), fs.readFileSync(path.join(__dirname, 'golden', 'sum.txt'), 'utf8')));",
            '',
          ].join('\n'),
        });
        const session = await createSession(repo, 'node --test');
        const { v } = await neverCompletes(session, [
          editFiles(
            [
              'src/format.js',
              "'use strict';\n\nexports.formatSum = (a, b) => `${a} + ${b} = ${a + b + 1}`;\n",
            ],
            ['test/golden/sum.txt', '2 + 3 = 6'],
            ['src/math.js', MATH_WITH_MULTIPLY],
            ['test/multiply.test.js', MULTIPLY_TEST],
          ),
          'success',
          'success',
        ]);
        expect(v.verdict).toBe('tests_weakened');
        expect(v.weakening).toEqual([expect.objectContaining({ kind: 'rewritten' })]);
        expect(v.weakening[0].detail).toContain('test/golden/sum.txt');
        expect(v.existing_tests_on_change?.failing).toEqual(['formats a sum as the golden file']);
      },
    );
  });

  describe('a Node project whose .gitignore matches a file the agent writes', () => {
    itEarly(
      'a change resting on an ignored file is sent back and never completes: the commit would lack it',
      async () => {
        const repo = nodeMathProject('ignored', {
          '.gitignore': '*.local.js\n',
        });
        const session = await createSession(repo, 'node --test');
        const { id, v } = await neverCompletes(session, [
          editFiles(
            ['src/impl.local.js', "'use strict';\n\nexports.multiply = (a, b) => a * b;\n"],
            [
              'src/math.js',
              `${NODE_PROJECT['src/math.js']}exports.multiply = require('./impl.local.js').multiply;\n`,
            ],
            ['test/multiply.test.js', MULTIPLY_TEST],
          ),
          'success',
          'success',
        ]);
        expect(v).toMatchObject({ verdict: 'files_ignored', ignored_files: ['src/impl.local.js'] });
        const details = await getDetails(server, id);
        expect(humanPrompts(details)[1]).toContain(
          'You wrote src/impl.local.js, which git ignores',
        );
        expect(details.error_message).toMatch(/Files git ignores hold part of your change/);
        expect(details.verification).toMatchObject({ ignored_files: ['src/impl.local.js'] });
        // The generated tests did pass in the workspace, where the ignored file is.
        expect(v.generated).toMatchObject({ exit_code: 0 });
      },
    );
  });

  describe('a Node project whose .gitignore matches files the agent writes from the shell', () => {
    const ignoringProject = (name: string): string =>
      nodeMathProject(name, {
        '.gitignore': 'build/\ndist/\n',
      });

    itEarly(
      'a change resting on an ignored file written through the shell is sent back and never completes: its tests fail in a clean checkout of the change',
      async () => {
        const session = await createSession(ignoringProject('shell-ignored'), 'node --test');
        const { id, v } = await neverCompletes(session, [
          shellCommands(
            "mkdir -p build && echo 'exports.multiply = (a, b) => a * b;' > build/helper.js",
          ),
          editFiles(
            [
              'src/math.js',
              `${NODE_PROJECT['src/math.js']}exports.multiply = require('../build/helper.js').multiply;\n`,
            ],
            ['test/multiply.test.js', MULTIPLY_TEST],
          ),
          'success',
        ]);
        expect(v).toMatchObject({ verdict: 'files_ignored', ignored_files: ['build/'] });
        // The generated tests passed in the workspace, where the ignored file is, not without it.
        expect(v.generated).toMatchObject({ exit_code: 0 });
        expect(v.generated_on_commit?.exit_code).not.toBe(0);
        expect(v.generated_on_commit?.output_excerpt).toMatch(
          /Cannot find module '..\/build\/helper.js'/,
        );
        const details = await getDetails(server, id);
        expect(humanPrompts(details)[1]).toContain('Files git ignores hold part of your change');
        expect(humanPrompts(details)[1]).toContain('fail in a clean checkout of your change');
        expect(testStages(details)).toContain('generated_on_commit');
      },
    );

    itEarly(
      'a change whose existing tests pass only through an ignored file written through the shell is sent back and never completes: the regression suite fails in a clean checkout of the change',
      async () => {
        const session = await createSession(
          ignoringProject('shell-ignored-regression'),
          'node --test',
        );
        // `add` takes the ignored build where there is one, and is broken without it; `multiply`,
        // which the generated test checks, is sound either way.
        const mathWithFallback = `${MATH_WITH_MULTIPLY}const built = require('node:path').join(__dirname, '..', 'build', 'add.js');\nexports.add = require('node:fs').existsSync(built) ? require(built).add : (a, b) => a - b;\n`;
        const { id, v } = await neverCompletes(session, [
          shellCommands("mkdir -p build && echo 'exports.add = (a, b) => a + b;' > build/add.js"),
          editFiles(['src/math.js', mathWithFallback], ['test/multiply.test.js', MULTIPLY_TEST]),
          'success',
        ]);
        expect(v).toMatchObject({ verdict: 'files_ignored', ignored_files: ['build/'] });
        // The generated tests passed in the clean checkout; the regression suite passed in the
        // workspace, where the ignored file is, and failed twice without it.
        expect(v.generated_on_commit).toMatchObject({ exit_code: 0 });
        expect(v.regression).toMatchObject({ exit_code: 0 });
        expect(v.regression_on_commit?.exit_code).not.toBe(0);
        expect(v.regression_on_commit?.failing).toEqual(['adds', 'adds negatives']);
        expect(v.reason).toContain('the regression suite fails in a clean checkout of the change');
        const details = await getDetails(server, id);
        const feedback = humanPrompts(details)[1];
        expect(feedback).toContain(
          'The regression suite passes here, but fails in a clean checkout',
        );
        expect(feedback).toContain('adds negatives');
        expect(testStages(details)).toEqual(
          expect.arrayContaining(['regression_on_commit', 'regression_rerun_on_commit']),
        );
      },
    );

    itEarly(
      'ignored build output the tests do not need costs one run in a clean checkout, and the task completes verified',
      async () => {
        const repo = ignoringProject('shell-ignored-unneeded');
        const session = await createSession(repo, 'node --test');
        const id = await runTask(session, [
          shellCommands('mkdir -p dist && echo bundle > dist/bundle.js'),
          editFiles(['src/math.js', MATH_WITH_MULTIPLY], ['test/multiply.test.js', MULTIPLY_TEST]),
        ]);
        const { final } = await waitForTerminal(server, id);
        expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified' });
        const v = await verification(id);
        expect(v).toMatchObject({
          ignored_files: [],
          generated_on_commit: { exit_code: 0 },
          regression_on_commit: { exit_code: 0 },
        });
        const details = await getDetails(server, id);
        expect(testStages(details)).toEqual([
          'baseline',
          'round:generated',
          'round:regression',
          'generated_on_commit',
          'regression_on_commit',
          'generated_at_base',
        ]);
        // The clean checkout is gone; only the task's workspace is left.
        expect(linkedWorktrees(repo)).toEqual([details.workspace_path]);
      },
    );
  });

  describe('a Node project whose tests load what its setup command builds (git ignores the build)', () => {
    /** A copy of the fixture and a session on it that builds it in each new workspace. */
    const builtSession = async (name: string): Promise<{ repo: string; session: string }> => {
      const repo = copyFixtureProject('node-build', workdir.root(), name);
      const res = await request(server)
        .post('/api/v1/sessions')
        .send({
          project_path: repo,
          regression_command: 'node --test',
          setup_command: 'node scripts/build.js',
        })
        .expect(201);
      return { repo, session: res.body.id as string };
    };

    itEarly(
      'a generated test that passes at the base commit once it is built never completes: the base commit is built before its run there',
      async () => {
        const builtAddTest = NODE_PROJECT['test/math.test.js'].replace(
          "'../src/math'",
          "'../build/math'",
        );
        const { session } = await builtSession('built-passing-at-base');
        const { id, v } = await neverCompletes(session, [
          editFiles(['src/math.js', MATH_WITH_MULTIPLY], ['test/adds.test.js', builtAddTest]),
          shellCommands('node scripts/build.js'),
          'success',
        ]);
        expect(v).toMatchObject({ verdict: 'tests_pass_without_change', not_checked: [] });
        expect(v.generated_at_base).toMatchObject({ exit_code: 0 });
        expect(v.generated_at_base?.output_excerpt).not.toMatch(/Cannot find module/);
        const details = await getDetails(server, id);
        expect(humanPrompts(details)[1]).toContain('Your tests pass without your change');
        const atBase = details.interactions.filter(
          (i) => i.kind === 'setup' && i.data?.stage === 'generated_at_base',
        );
        expect(atBase.length).toBeGreaterThan(0);
        expect(atBase.every((i) => i.data?.passed === true)).toBe(true);
      },
    );

    itEarly(
      'an agent that rebuilds it from the shell: the clean checkout of the change is set up as a new workspace is, and the task completes verified',
      async () => {
        const { repo, session } = await builtSession('built');
        const builtMultiplyTest = MULTIPLY_TEST.replace("'../src/math'", "'../build/math'");
        const id = await runTask(session, [
          editFiles(
            ['src/math.js', MATH_WITH_MULTIPLY],
            ['test/multiply.test.js', builtMultiplyTest],
          ),
          shellCommands('node scripts/build.js'),
        ]);
        const { final } = await waitForTerminal(server, id);
        expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified' });
        const v = await verification(id);
        expect(v).toMatchObject({
          verdict: 'verified',
          ignored_files: [],
          generated_on_commit: { exit_code: 0 },
        });
        const details = await getDetails(server, id);
        expect(testStages(details)).toEqual([
          'baseline',
          'round:generated',
          'round:regression',
          'generated_on_commit',
          'regression_on_commit',
          'generated_at_base',
        ]);
        // The setup command ran in the new workspace, then in the clean checkout of the change and
        // in the scratch checkout of the base commit.
        const setups = details.interactions.filter((i) => i.kind === 'setup');
        expect(setups.map((i) => [i.data?.stage ?? null, i.data?.passed])).toEqual([
          [null, true],
          ['generated_on_commit', true],
          ['generated_at_base', true],
        ]);
        // Built there: the generated test fails for want of the change, not of the build.
        expect(v.generated_at_base?.output_excerpt).toMatch(/multiply is not a function/);
        expect(linkedWorktrees(repo)).toEqual([details.workspace_path]);
      },
    );
  });

  describe('a Node project whose agent links a file from outside the repository', () => {
    itEarly(
      'a change resting on a symbolic link that leads outside the repository is sent back and never completes',
      async () => {
        const repo = nodeMathProject('linked');
        const outside = join(workdir.root(), 'outside-impl.js');
        writeFileSync(outside, "'use strict';\n\nexports.multiply = (a, b) => a * b;\n");
        const session = await createSession(repo, 'node --test');
        const { id, v } = await neverCompletes(session, [
          shellCommands(`ln -s ${outside} src/impl.js`),
          editFiles(
            [
              'src/math.js',
              `${NODE_PROJECT['src/math.js']}exports.multiply = require('./impl.js').multiply;\n`,
            ],
            ['test/multiply.test.js', MULTIPLY_TEST],
          ),
          'success',
        ]);
        const link = `src/impl.js -> ${outside}`;
        expect(v).toMatchObject({ verdict: 'links_outside', outside_links: [link] });
        // The generated tests did pass in the workspace, through the link.
        expect(v.generated).toMatchObject({ exit_code: 0 });
        const details = await getDetails(server, id);
        expect(humanPrompts(details)[1]).toContain('Symbolic links lead outside the repository');
        expect(humanPrompts(details)[1]).toContain(link);
        expect(details.verification).toMatchObject({ outside_links: [link] });
      },
    );
  });

  describe('a Node project whose agent hides a file from `git add` (git update-index)', () => {
    for (const flag of ['--skip-worktree', '--assume-unchanged']) {
      itEarly(
        `a file marked ${flag} and then edited is committed as the tests ran it`,
        async () => {
          const repo = nodeMathProject(`hidden${flag}`);
          const session = await createSession(repo, 'node --test');
          const id = await runTask(session, [
            shellCommands(`git update-index ${flag} src/math.js`),
            editFiles(
              ['src/math.js', MATH_WITH_MULTIPLY],
              ['test/multiply.test.js', MULTIPLY_TEST],
            ),
          ]);
          const { final } = await waitForTerminal(server, id);
          expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified' });
          const details = await getDetails(server, id);
          // The tests ran against the edited file: the commit holds it as they saw it.
          expect(git(repo, 'show', `${details.head_commit}:src/math.js`)).toBe(MATH_WITH_MULTIPLY);
          expect(git(details.workspace_path!, 'ls-files', '-v', '--', 'src/math.js').trim()).toBe(
            'H src/math.js',
          );
          const v = await verification(id);
          expect(v.generated_at_base?.output_excerpt).toMatch(/multiply is not a function/);
        },
      );
    }
  });

  describe('a Node project whose tests load a library the setup command installs (git ignores it)', () => {
    /** A session of `repo` whose setup command runs the Node script `install`. */
    const sessionInstalling = async (repo: string, install: string): Promise<string> => {
      const res = await request(server)
        .post('/api/v1/sessions')
        .send({
          project_path: repo,
          regression_command: 'node --test',
          setup_command: `node -e ${quoted(install)}`,
        })
        .expect(201);
      return res.body.id as string;
    };

    itEarly(
      'the base commit is tested with that library: a test that passes there too is refused, one that fails on the change completes',
      async () => {
        const repo = nodeMathProject('with-dependency', {
          '.gitignore': 'node_modules/\n',
        });
        const install =
          "require('fs').mkdirSync('node_modules/dep', { recursive: true }); " +
          "require('fs').writeFileSync('node_modules/dep/index.js', 'exports.three = 3;')";
        const session = await sessionInstalling(repo, install);
        const depTest = (body: string) =>
          [
            "'use strict';",
            "const test = require('node:test');",
            "const assert = require('node:assert');",
            'const { three } = require("dep");',
            "const math = require('../src/math');",
            '',
            body,
            '',
          ].join('\n');
        const id = await runTask(session, [
          editFiles(
            ['src/math.js', MATH_WITH_MULTIPLY],
            [
              'test/dep.test.js',
              depTest("test('adds', () => assert.strictEqual(math.add(three, 1), 4));"),
            ],
          ),
          'success',
          editFiles([
            'test/dep.test.js',
            depTest("test('multiplies', () => assert.strictEqual(math.multiply(three, 4), 12));"),
          ]),
        ]);
        const { final } = await waitForTerminal(server, id);
        expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified' });
        const details = await getDetails(server, id);
        // The first test passed at the base commit, where `dep` was found: it was refused.
        expect(humanPrompts(details)[1]).toContain('Your tests pass without your change');
        expect(testStages(details).filter((s) => s === 'generated_at_base')).toHaveLength(2);
        const v = await verification(id);
        expect(v.generated_at_base?.output_excerpt).toMatch(/multiply is not a function/);
        expect(v.generated_at_base?.output_excerpt).not.toMatch(/Cannot find module/);
        // The scratch checkout went (set up there, it had its own copy): the workspace keeps its library.
        expect(linkedWorktrees(repo)).toEqual([details.workspace_path]);
        expect(existsSync(join(details.workspace_path!, 'node_modules/dep/index.js'))).toBe(true);
      },
    );

    itEarly(
      'a library the existing tests check with, patched from the shell to pass everything, is named: never plain verified',
      async () => {
        const install =
          "require('fs').mkdirSync('node_modules/dep', { recursive: true }); " +
          "require('fs').writeFileSync('node_modules/dep/index.js', " +
          '\'exports.same = (a, b) => { if (a !== b) throw new Error(a + " is not " + b); };\')';
        const repo = project('patched-dependency', {
          '.gitignore': 'node_modules/\n',
          'package.json': NODE_PROJECT['package.json'],
          'src/math.js': MATH,
          'test/math.test.js': [
            "'use strict';",
            "const test = require('node:test');",
            'const { same } = require("dep");',
            "const { add } = require('../src/math');",
            '',
            "test('adds', () => same(add(2, 3), 5));",
            '',
          ].join('\n'),
        });
        const session = await sessionInstalling(repo, install);
        const id = await runTask(session, [
          editFiles(['src/math.js', MATH_BROKEN], ['test/multiply.test.js', MULTIPLY_TEST]),
          shellCommands(
            "echo 'exports.same = () => {};' > node_modules/dep/index.js",
            'touch -d 2001-01-01 node_modules/dep/index.js',
          ),
        ]);
        const { final } = await waitForTerminal(server, id);
        expect(final).toMatchObject({
          status: 'COMPLETED',
          status_reason: 'verified_with_changed_dependencies',
        });
        const v = await verification(id);
        expect(v.changed_dependencies).toEqual(['node_modules/dep']);
        expect(v.reason).toMatch(
          /installed dependencies changed while the agent worked.*node_modules\/dep/,
        );
      },
    );
  });

  describe('a Node project whose setup command works once only (what it fetches is gone after)', () => {
    itEarly(
      'it fails in the scratch checkout of the base commit: the generated tests do not run there, and the task completes verified_without_failing_tests, saying so',
      async () => {
        const repo = nodeMathProject('setup-once');
        const fetched = join(workdir.root(), `fetched-${randomUUID()}`);
        const fetchOnce =
          `const fs = require('fs'); const fetched = ${JSON.stringify(fetched)}; ` +
          "if (fs.existsSync(fetched)) { console.error('npm ERR! 404 dep@1.0.0 is gone'); process.exit(1); } " +
          "fs.writeFileSync(fetched, '');";
        const res = await request(server)
          .post('/api/v1/sessions')
          .send({
            project_path: repo,
            regression_command: 'node --test',
            setup_command: `node -e ${quoted(fetchOnce)}`,
          })
          .expect(201);
        const id = await runTask(res.body.id as string, [multiplyChange, multiplyTests]);
        const v = await completedUnprovenAtBase(id);
        expect(v.not_checked).toEqual([
          expect.stringMatching(
            /^failing tests: the session's setup command `node -e .*` exited with code 1 in a scratch checkout of the base commit/,
          ),
        ]);
        const details = await getDetails(server, id);
        expect(testStages(details)).not.toContain('generated_at_base');
        const setups = details.interactions.filter((i) => i.kind === 'setup');
        expect(setups.map((i) => [i.data?.stage ?? null, i.data?.passed])).toEqual([
          [null, true],
          ['generated_at_base', false],
        ]);
        expect(setups[1].content).toContain('npm ERR! 404 dep@1.0.0 is gone');
        expect(linkedWorktrees(repo)).toEqual([details.workspace_path]);
      },
    );
  });

  describe('a Node project whose base commit cannot be checked out again (an object of it is gone)', () => {
    itEarly(
      'the scratch checkout of the base commit fails: the generated tests do not run there, and the task completes verified_without_failing_tests, saying why',
      async () => {
        const repo = nodeMathProject('base-unreadable', {
          'docs/notes.txt': `notes of this repository alone: ${randomUUID()}\n`,
        });
        const session = await createSession(repo, 'node --test');
        // The agent removes the loose object of a file it does not change: the workspace, checked
        // out already, still works; a new checkout of the base commit cannot be made.
        const id = await runTask(session, [
          shellCommands(
            'blob=$(git rev-parse HEAD:docs/notes.txt) && ' +
              'rm "$(git rev-parse --git-common-dir)/objects/${blob:0:2}/${blob:2}"',
          ),
          editFiles(['src/math.js', MATH_WITH_MULTIPLY], ['test/multiply.test.js', MULTIPLY_TEST]),
        ]);
        const v = await completedUnprovenAtBase(id);
        expect(v.not_checked).toEqual([
          expect.stringMatching(
            /^failing tests: the scratch checkout of the base commit could not be made \(git worktree failed \(exit \d+\): .+\), so the generated tests were not run there/,
          ),
        ]);
        const details = await getDetails(server, id);
        expect(testStages(details)).not.toContain('generated_at_base');
        expect(details.interactions.filter((i) => i.kind === 'error')).toEqual([]);
        expect(linkedWorktrees(repo)).toEqual([details.workspace_path]);
      },
    );
  });

  describe('a Node project whose `npm test` reports with the spec reporter (its output counts no tests)', () => {
    const specPackage = (test: string, more: Record<string, unknown> = {}) =>
      JSON.stringify({ name: 'p', private: true, scripts: { test }, ...more });
    let created: Promise<string> | undefined;
    /** The block's session, made by whichever of its tests starts first. */
    const npmSession = (): Promise<string> =>
      (created ??= createSession(
        project('npm-spec', {
          ...NODE_PROJECT,
          'package.json': specPackage('node --test --test-reporter=spec'),
        }),
        'npm test',
      ));

    itEarly(
      'a test script narrowed to the new test is caught, though the output counts nothing to compare',
      async () => {
        const narrowed = specPackage('node --test --test-reporter=spec test/multiply.test.js');
        const { v } = await neverCompletes(await npmSession(), [
          editFiles(['package.json', narrowed], ['src/math.js', MATH_WITH_MULTIPLY]),
          multiplyTests,
          'success',
        ]);
        expect(v).toMatchObject({ verdict: 'tests_weakened', new_failures: [] });
        expect(v.baseline?.total).toBeNull();
        expect(v.weakening).toEqual([
          {
            kind: 'test_config_changed',
            file: 'package.json',
            detail:
              'changed how the tests run in package.json: scripts.test `node --test --test-reporter=spec` changed to `node --test --test-reporter=spec test/multiply.test.js`',
          },
        ]);
      },
    );

    itEarly(
      'package.json changed for a dependency only is no test change: it completes verified',
      async () => {
        const withDependency = specPackage('node --test --test-reporter=spec', {
          dependencies: { 'left-pad': '^1.3.0' },
        });
        const id = await runTask(await npmSession(), [
          editFiles(['package.json', withDependency], ['src/math.js', MATH_WITH_MULTIPLY]),
          multiplyTests,
        ]);
        const { final } = await waitForTerminal(server, id);
        // Not plain `verified`: `npm test` fails at its baseline too ('known bug') and its output
        // names no tests, so a failure the change added could not have been told apart.
        expect(final).toMatchObject({
          status: 'COMPLETED',
          status_reason: 'verified_without_regression',
        });
        const v = await verification(id);
        expect(v.weakening).toEqual([]);
        expect(v.not_checked).toEqual([expect.stringContaining('failed at its baseline too')]);
      },
    );
  });

  describe('a project that is not a git repository', () => {
    itEarly('completes saying what was not checked; the baseline still runs', async () => {
      const dir = project('plain', NODE_PROJECT, true);
      const session = await createSession(dir, 'node --test');
      const id = await runTask(session, [multiplyChange, multiplyTests]);
      const { final } = await waitForTerminal(server, id);
      expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified_without_base' });
      const v = await verification(id);
      expect(v).toMatchObject({
        verdict: 'verified',
        base_commit: null,
        generated_at_base: null,
        pre_existing_failures: ['known bug'],
      });
      expect(v.not_checked).toEqual([
        expect.stringContaining('test changes: the project is not a git repository'),
        expect.stringContaining('failing tests: the project is not a git repository'),
      ]);
      expect(v.baseline).toMatchObject({ commit: null, total: 4 });
    });
  });

  describe('who may see the evidence and the stats', () => {
    it('the verification of an unknown task is a 404', async () => {
      await request(server)
        .get('/api/v1/tasks/00000000-0000-4000-8000-000000000000/verification')
        .expect(404);
    });
  });
});

describeMysql('on MariaDB', () => {
  appOn('mysql');

  it('an honest agent completes verified, the baseline is stored and reused, and the stats count it', async () => {
    const repo = nodeMathProject('node-mysql');
    const session = await createSession(repo, 'node --test');
    const { first, second } = await twoVerifiedTasks(session);
    expect(await verification(first)).toMatchObject({
      baseline_reused: false,
      pre_existing_failures: [],
    });
    expect(await verification(second)).toMatchObject({ baseline_reused: true });
    const stats = (
      await request(server).get('/api/v1/stats').query({ session_id: session }).expect(200)
    ).body as TaskStatsResponseDto;
    expect(stats).toMatchObject({ finished: 2, verified: 2, verified_completion_rate: 1 });
    expect(stats.test_rounds_to_green).toMatchObject({ count: 2, max: 1 });
  });
});
