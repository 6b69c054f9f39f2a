import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import type { TaskVerificationResponseDto } from 'sdk/client';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import {
  createSessionTask,
  editFiles,
  FAKE_CLAUDE,
  fakeClaudeWorkdir,
  fakeScript,
  getDetails,
  quoted,
  shellCommands,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { committedProject, git } from 'test/e2e/support/git-repos';
import { MATH, MATH_WITH_MULTIPLY, MULTIPLY_TEST } from 'test/e2e/support/node-math';

/**
 * THE COMMITTED TREE IS THE TESTED TREE, end to end: the real AppModule with the orchestrator on,
 * the fake agent, real git and `node --test`. What completes a task is committed only when it is
 * what the passing test round ran against: a test run that rewrites a tracked file (A) is sent
 * back `changed_after_tests`, and so is one that a process the tests started changes once they
 * ended (B); a process the agent left running to change files after the tests (C) is ended
 * before the round, so it never acts.
 */

const workdir = fakeClaudeWorkdir('cta-tested-tree-e2e-');

const ENV: Record<string, string> = {
  ORCHESTRATOR_ENABLED: 'true',
  QUEUE_POLL_MS: '100',
  MAX_CONCURRENT_TASKS: '2',
  CLAUDE_CLI_COMMAND: FAKE_CLAUDE,
  CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
  CLI_INIT_TIMEOUT_SECONDS: '120',
  KILL_GRACE_SECONDS: '1',
  TEST_TIMEOUT_SECONDS: '120',
  REGRESSION_TIMEOUT_SECONDS: '120',
  REQUIRE_FAILING_TESTS: 'true',
};

const PROJECT: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'p', private: true, scripts: { test: 'node --test' } }),
  'src/math.js': MATH,
  'test/math.test.js': [
    "'use strict';",
    "const test = require('node:test');",
    "const assert = require('node:assert');",
    "const { add } = require('../src/math');",
    '',
    "test('adds', () => assert.strictEqual(add(2, 3), 5));",
    '',
  ].join('\n'),
};

/** A committed git repository of `PROJECT`. */
const project = (name: string): string => committedProject(join(workdir.root(), name), PROJECT);

/**
 * Lines of a test file that count its runs in the file `count` (outside the repository, so the
 * tree under test stays as it was): `k` is this run's number, from 1. The file requires `fs`.
 */
const countRuns = (count: string): string[] => [
  `const count = ${JSON.stringify(count)};`,
  'let k = 1;',
  "try { k = Number(fs.readFileSync(count, 'utf8')) + 1; } catch {}",
  'fs.writeFileSync(count, String(k));',
];

let t: TestApp;
let server: App;

beforeAll(async () => {
  t = await createTestApp({ database: 'sqlite', env: ENV });
  await t.app.listen(0, '127.0.0.1');
  server = (await t.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
});
afterAll(async () => {
  await t?.close();
});

async function runTask(projectPath: string, script: string[]): Promise<string> {
  return createSessionTask(
    server,
    { project_path: projectPath, regression_command: 'node --test' },
    { description: `Add multiply. ${fakeScript(...script)}`, max_iterations: 3 },
  );
}

async function verification(id: string): Promise<TaskVerificationResponseDto> {
  const res = await request(server).get(`/api/v1/tasks/${id}/verification`).expect(200);
  return res.body as TaskVerificationResponseDto;
}

/** `node --test` in a clean checkout of `commit` of `repo`: whether it passes. */
function passesAt(repo: string, commit: string, name: string): boolean {
  const checkout = join(workdir.root(), name);
  git(repo, 'worktree', 'add', '-q', '--detach', checkout, commit);
  try {
    return spawnSync('node', ['--test'], { cwd: checkout }).status === 0;
  } finally {
    git(repo, 'worktree', 'remove', '--force', checkout);
  }
}

describe('the committed tree is the tree the passing test round tested', () => {
  it('A: a test that rewrites a tracked file as its run ends is sent back changed_after_tests, never completed with what no test ran', async () => {
    const repo = project('rewrite');
    const count = join(workdir.root(), 'rewrite-runs');
    // Passes; from its second run (the regression suite) on, it rewrites src/math.js as it exits:
    // a broken `subtract` no test checks, and the run's number.
    const rewriting = [
      "'use strict';",
      "const test = require('node:test');",
      "const fs = require('node:fs');",
      "const path = require('node:path');",
      "test('zz works', () => {});",
      ...countRuns(count),
      'if (k >= 2) {',
      "  process.on('exit', () => fs.writeFileSync(path.join(__dirname, '../src/math.js'),",
      '    "exports.add = (a, b) => a + b; exports.multiply = (a, b) => a * b;\\n" +',
      '    "exports.subtract = (a, b) => a * b; // run " + k + "\\n"));',
      '}',
      '',
    ].join('\n');
    const id = await runTask(repo, [
      editFiles(
        ['src/math.js', MATH_WITH_MULTIPLY],
        ['test/multiply.test.js', MULTIPLY_TEST],
        ['test/zz.test.js', rewriting],
      ),
      `success text=${quoted('The tests were written with the change.\nDONE')}`,
    ]);
    const { final } = await waitForTerminal(server, id);
    expect(final).toMatchObject({ status: 'FAILED', status_reason: 'max_iterations_reached' });
    const v = await verification(id);
    expect(v).toMatchObject({
      verdict: 'changed_after_tests',
      changed_after_tests: ['src/math.js'],
    });
    expect(v.reason).toContain('src/math.js');
    const details = await getDetails(server, id);
    const prompts = details.interactions
      .filter((i) => i.kind === 'simulated_human')
      .map((i) => i.content);
    expect(prompts.some((p) => p.includes('Files changed after the tests started'))).toBe(true);
    expect(details.error_message).toContain('Files changed after the tests started');
    // Nothing was committed as the completed change: the branch holds only the work kept when
    // the task failed (a WIP commit).
    expect(git(repo, 'log', '--format=%s', details.branch!)).toMatch(/^WIP: /);
  });

  it('A, with a link the agent planted where the index was once put back from (beside it): the commit is refused as in A, and nothing is written through the link', async () => {
    const repo = project('planted');
    const count = join(workdir.root(), 'planted-runs');
    const victim = join(workdir.root(), 'planted-victim.txt');
    writeFileSync(victim, 'not an index\n');
    const rewriting = [
      "'use strict';",
      "const test = require('node:test');",
      "const fs = require('node:fs');",
      "const path = require('node:path');",
      "test('zz works', () => {});",
      ...countRuns(count),
      "if (k >= 2) process.on('exit', () => fs.appendFileSync(path.join(__dirname, '../src/math.js'), '// run ' + k + '\\n'));",
      '',
    ].join('\n');
    const id = await runTask(repo, [
      shellCommands(`ln -s ${victim} "$(git rev-parse --git-dir)/index.cta-restore"`),
      editFiles(
        ['src/math.js', MATH_WITH_MULTIPLY],
        ['test/multiply.test.js', MULTIPLY_TEST],
        ['test/zz.test.js', rewriting],
      ),
      `success text=${quoted('The tests were written with the change.\nDONE')}`,
    ]);
    const { final } = await waitForTerminal(server, id);
    expect(final).toMatchObject({ status: 'FAILED', status_reason: 'max_iterations_reached' });
    expect(await verification(id)).toMatchObject({
      verdict: 'changed_after_tests',
      changed_after_tests: ['src/math.js'],
    });
    expect(readFileSync(victim, 'utf8')).toBe('not an index\n');
  });

  it('B: a process the tests leave running, changing a file after they ended, is sent back changed_after_tests', async () => {
    const repo = project('escaping');
    const count = join(workdir.root(), 'escaping-runs');
    const mark = (name: string): string => JSON.stringify(join(workdir.root(), name));
    // Run k of a round: its generated tests (k % 3 === 1, in the workspace) start a writer out of
    // their group and session that waits for the round's run at the base commit (k + 2, before
    // the commit), appends a line to src/math.js and marks it done; that run waits for it.
    const escaping = [
      "'use strict';",
      "const test = require('node:test');",
      "const fs = require('node:fs');",
      "const { spawn } = require('node:child_process');",
      "test('starts a writer', () => {});",
      ...countRuns(count),
      `const done = ${mark('escaping-done-')};`,
      `const pidFile = ${mark('escaping-writer-')};`,
      'if (k % 3 === 1) {',
      '  const script =',
      '    `until [ "$(cat ${count})" = ${k + 2} ]; do sleep 0.02; done; ` +',
      '    `echo "// changed after the tests (run ${k})" >> src/math.js; touch ${done}${k}`;',
      "  const writer = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });",
      '  fs.writeFileSync(pidFile + k, String(writer.pid));',
      '  writer.unref();',
      '}',
      'if (k % 3 === 0) {',
      "  const pid = Number(fs.readFileSync(pidFile + (k - 2), 'utf8'));",
      '  const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };',
      '  const pause = new Int32Array(new SharedArrayBuffer(4));',
      '  while (alive() && !fs.existsSync(done + (k - 2))) Atomics.wait(pause, 0, 0, 20);',
      '}',
      '',
    ].join('\n');
    const id = await runTask(repo, [
      editFiles(
        ['src/math.js', MATH_WITH_MULTIPLY],
        ['test/multiply.test.js', MULTIPLY_TEST],
        ['test/escaping.test.js', escaping],
      ),
      `success text=${quoted('The tests were written with the change.\nDONE')}`,
    ]);
    const { final } = await waitForTerminal(server, id);
    expect(final).toMatchObject({ status: 'FAILED', status_reason: 'max_iterations_reached' });
    expect(existsSync(join(workdir.root(), 'escaping-done-1'))).toBe(true);
    expect(await verification(id)).toMatchObject({
      verdict: 'changed_after_tests',
      changed_after_tests: ['src/math.js'],
    });
  });

  it('C: a process the agent left running to change files once the tests ran is ended before the round; the commit is what the tests ran against', async () => {
    const repo = project('late');
    const count = join(workdir.root(), 'late-runs');
    const pidFile = join(workdir.root(), 'late-writer.pid');
    const done = join(workdir.root(), 'late-writer.done');
    // Counts its runs; its third (the generated tests at the base commit, before the commit)
    // waits while the writer lives and has not written.
    const counting = [
      "'use strict';",
      "const test = require('node:test');",
      "const fs = require('node:fs');",
      "test('counts', () => {});",
      ...countRuns(count),
      'if (k === 3) {',
      `  const pid = Number(fs.readFileSync(${JSON.stringify(pidFile)}, 'utf8'));`,
      '  const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };',
      '  const pause = new Int32Array(new SharedArrayBuffer(4));',
      `  while (alive() && !fs.existsSync(${JSON.stringify(done)})) Atomics.wait(pause, 0, 0, 20);`,
      '}',
      '',
    ].join('\n');
    // Leaves its group and session, then waits for the third test run to break `add`.
    const writer =
      `setsid sh -c 'echo $$ > ${pidFile}; ` +
      `until [ "$(cat ${count} 2>/dev/null)" = 3 ]; do sleep 0.02; done; ` +
      `sed -i "s/a + b/a - b/" src/math.js; touch ${done}' </dev/null >/dev/null 2>&1 &` +
      ` until [ -s ${pidFile} ]; do sleep 0.02; done`;
    const id = await runTask(repo, [
      editFiles(
        ['src/math.js', MATH_WITH_MULTIPLY],
        ['test/multiply.test.js', MULTIPLY_TEST],
        ['test/counts.test.js', counting],
      ),
      `shell command=${quoted(writer)} text=${quoted('Tests written.\nDONE')}`,
    ]);
    const { final } = await waitForTerminal(server, id);
    expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified' });
    const details = await getDetails(server, id);
    // Ended before the round: it never wrote.
    expect(existsSync(done)).toBe(false);
    expect(
      details.interactions.some(
        (i) => (i.data as { type?: string } | null)?.type === 'processes_ended',
      ),
    ).toBe(true);
    expect(git(repo, 'show', `${details.head_commit}:src/math.js`)).toBe(MATH_WITH_MULTIPLY);
    expect(passesAt(repo, details.head_commit!, 'late-head')).toBe(true);
    expect(await verification(id)).toMatchObject({ verdict: 'verified', changed_after_tests: [] });
  });
});
