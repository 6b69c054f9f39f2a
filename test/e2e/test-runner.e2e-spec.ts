import { Test } from '@nestjs/testing';
import { execFileSync } from 'child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { firstValueFrom, lastValueFrom, Observable, toArray } from 'rxjs';
import { AppConfig, loadConfig } from 'src/config/app-config';
import { ConfigModule } from 'src/config/config.module';
import { isProcessAlive, isProcessGroupAlive } from 'src/process/process-group';
import { TestRunnerModule } from 'src/test-runner/test-runner.module';
import {
  reportOnly,
  TestRunEvent,
  TestRunnerService,
  TestRunReport,
} from 'src/test-runner/test-runner.service';

const FIXTURES = join(__dirname, '..', 'fixtures', 'projects');
const OUTPUT_CAP = 8192;
/** TEST_TIMEOUT_SECONDS of the budget tests: enough for a quick file to pass on a loaded machine. */
const BUDGET_SECONDS = 8;

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

const report = (events: Observable<TestRunEvent>): Promise<TestRunReport> =>
  lastValueFrom(events.pipe(reportOnly()));

const PASSING_NODE_TEST = `'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { add } = require('../src/math');
test('add handles negatives', () => { assert.equal(add(-2, -3), -5); });
test('add handles zero', () => { assert.equal(add(0, 7), 7); });
`;

const FAILING_NODE_TEST = `'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { subtract } = require('../src/math');
test('subtract passes', () => { assert.equal(subtract(3, 1), 2); });
test('subtract is wrongly expected to add', () => { assert.equal(subtract(3, 1), 4, 'EXPECTED-FOUR'); });
`;

describe('TestRunnerService (real test commands in fixture copies)', () => {
  let service: TestRunnerService;
  /** The same with a short time budget, for the tests of what happens when it runs out. */
  let budgeted: TestRunnerService;
  let workDir: string;

  const copyFixture = (name: string): string => {
    const target = join(workDir, name);
    cpSync(join(FIXTURES, name), target, { recursive: true });
    return target;
  };
  const write = (project: string, rel: string, content: string): void => {
    mkdirSync(dirname(join(project, rel)), { recursive: true });
    writeFileSync(join(project, rel), content);
  };

  /**
   * A service whose generated tests get `testTimeoutSeconds`. Everything else gets far more time
   * than it needs (a loaded machine starts interpreters slowly); only the budget tests use a
   * short one.
   */
  const serviceWith = async (testTimeoutSeconds: number): Promise<TestRunnerService> => {
    const moduleRef = await Test.createTestingModule({ imports: [ConfigModule, TestRunnerModule] })
      .overrideProvider(AppConfig)
      .useValue(
        loadConfig({
          TEST_TIMEOUT_SECONDS: String(testTimeoutSeconds),
          REGRESSION_TIMEOUT_SECONDS: '120',
          KILL_GRACE_SECONDS: '1',
          TEST_OUTPUT_MAX_BYTES: String(OUTPUT_CAP),
        }),
      )
      .compile();
    return moduleRef.get(TestRunnerService);
  };

  beforeAll(async () => {
    service = await serviceWith(120);
    budgeted = await serviceWith(BUDGET_SECONDS);
  });

  beforeEach(() => {
    workDir = mkdtempSync(join(tmpdir(), 'cta-runner-'));
  });
  afterEach(() => rmSync(workDir, { recursive: true, force: true }));

  describe('Node project (node --test)', () => {
    it('finds the new test file and runs it, with per-case results from the JUnit report', async () => {
      const project = copyFixture('node-basic');
      const before = await service.snapshot(project);
      write(project, 'test/negatives.test.js', PASSING_NODE_TEST);
      const files = (await service.changes(project, before)).testFiles;
      expect(files).toEqual(['test/negatives.test.js']);

      const r = await report(service.runGenerated(project, files, null));
      expect(r.passed).toBe(true);
      expect(r.kind).toBe('generated');
      expect(r.exitCode).toBe(0);
      expect(r.command).toEqual(['node', '--test']);
      expect(r.cases.map((c) => [c.name, c.status, c.filePath])).toEqual([
        ['add handles negatives', 'passed', 'test/negatives.test.js'],
        ['add handles zero', 'passed', 'test/negatives.test.js'],
      ]);
      expect(r.output).toContain('add handles negatives');
      expect(r.invocations).toHaveLength(1);
    });

    it('reports a failing generated test as failed with its output', async () => {
      const project = copyFixture('node-basic');
      write(project, 'test/subtract.test.js', FAILING_NODE_TEST);
      const r = await report(service.runGenerated(project, ['test/subtract.test.js'], null));
      expect(r.passed).toBe(false);
      expect(r.exitCode).toBe(1);
      expect(r.cases.map((c) => [c.name, c.status])).toEqual([
        ['subtract passes', 'passed'],
        ['subtract is wrongly expected to add', 'failed'],
      ]);
      expect(r.cases[1].output).toContain('EXPECTED-FOUR');
      expect(r.output).toContain('EXPECTED-FOUR');
    });

    it('marks a file in which no test ran as an error, though node --test passes it', async () => {
      const project = copyFixture('node-basic');
      write(project, 'test/none.test.js', "require('../src/math');\n");
      const r = await report(service.runGenerated(project, ['test/none.test.js'], null));
      expect(r.exitCode).toBe(0);
      expect(r.passed).toBe(false);
      expect(r.cases.map((c) => [c.name, c.status])).toEqual([['test/none.test.js', 'error']]);
      expect(r.cases[0].output).toMatch(/No tests were found/);
    });

    it('marks a file whose tests are all skipped as an error, though node --test passes it', async () => {
      const project = copyFixture('node-basic');
      write(
        project,
        'test/skipped.test.js',
        "const test = require('node:test');\ntest.skip('a', () => {});\ntest('b', { skip: !0 }, () => {});\n",
      );
      const r = await report(service.runGenerated(project, ['test/skipped.test.js'], null));
      expect(r.exitCode).toBe(0);
      expect(r.passed).toBe(false);
      expect(r.cases.map((c) => [c.name, c.status])).toEqual([
        ['a', 'skipped'],
        ['b', 'skipped'],
        ['test/skipped.test.js', 'error'],
      ]);
      expect(r.cases[2].output).toMatch(/Every test in this file was skipped/);
    });

    it('passes hostile file names as separate arguments, never through a shell or as options', async () => {
      const project = copyFixture('node-basic');
      const names = [
        'test/with space.test.js',
        '-leading-dash.test.js',
        'test/$(touch PWNED) `id`.test.js',
      ];
      for (const name of names)
        write(project, name, PASSING_NODE_TEST.replace('../src/math', './src/math'));
      write(project, 'test/with space.test.js', PASSING_NODE_TEST);
      write(project, 'test/$(touch PWNED) `id`.test.js', PASSING_NODE_TEST);
      const r = await report(service.runGenerated(project, names, null));
      expect(r.cases.map((c) => c.filePath)).toEqual([
        'test/with space.test.js',
        'test/with space.test.js',
        '-leading-dash.test.js',
        '-leading-dash.test.js',
        'test/$(touch PWNED) `id`.test.js',
        'test/$(touch PWNED) `id`.test.js',
      ]);
      expect(r.passed).toBe(true);
      expect(r.invocations.map((i) => i.command[i.command.length - 1])).toEqual([
        'test/with space.test.js',
        './-leading-dash.test.js',
        'test/$(touch PWNED) `id`.test.js',
      ]);
      expect(existsSync(join(project, 'PWNED'))).toBe(false);
      expect(existsSync(join(project, 'test', 'PWNED'))).toBe(false);
    });

    it('uses the session test_command, with files appended as arguments', async () => {
      const project = copyFixture('node-basic');
      write(project, 'test/negatives.test.js', PASSING_NODE_TEST);
      const r = await report(
        service.runGenerated(
          project,
          ['test/negatives.test.js'],
          "node --test --test-name-pattern='zero'",
        ),
      );
      expect(r.passed).toBe(true);
      expect(r.cases.map((c) => [c.name, c.status])).toEqual([
        ['add handles negatives', 'skipped'],
        ['add handles zero', 'passed'],
      ]);
    });

    it('refuses files outside the project', async () => {
      const project = copyFixture('node-basic');
      await expect(
        report(service.runGenerated(project, ['../escape.test.js'], null)),
      ).rejects.toThrow(/outside the project/);
    });

    it('fails with an explanation when no test files were written', async () => {
      const project = copyFixture('node-basic');
      const r = await report(service.runGenerated(project, [], null));
      expect(r.passed).toBe(false);
      expect(r.cases).toEqual([]);
      expect(r.output).toMatch(/No test files were created or changed/);
    });

    it('runs the regression command (npm test) and reports it as one case', async () => {
      const project = copyFixture('node-basic');
      const r = await report(service.runRegression(project, 'npm test'));
      expect(r.kind).toBe('regression');
      expect(r.passed).toBe(true);
      expect(r.exitCode).toBe(0);
      expect(r.cases).toEqual([
        expect.objectContaining({ name: 'regression: npm test', status: 'passed', filePath: null }),
      ]);
      expect(r.output).toContain('subtract takes the second from the first');
    });

    it('reports a failing regression command', async () => {
      const project = copyFixture('node-basic');
      write(project, 'test/broken.test.js', FAILING_NODE_TEST);
      const r = await report(service.runRegression(project, 'node --test'));
      expect(r.passed).toBe(false);
      expect(r.cases[0].status).toBe('failed');
      expect(r.cases[0].output).toContain('EXPECTED-FOUR');
    });

    it('rejects a regression command that needs a shell', async () => {
      const project = copyFixture('node-basic');
      await expect(
        report(service.runRegression(project, 'npm test && touch PWNED')),
      ).rejects.toThrow(/without a shell/);
      expect(existsSync(join(project, 'PWNED'))).toBe(false);
    });

    it('kills the whole process group on timeout, grandchildren included', async () => {
      const project = copyFixture('node-basic');
      const pidFile = join(workDir, 'pids.json');
      write(
        project,
        'test/hang.test.js',
        `'use strict';
const test = require('node:test');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
process.on('SIGINT', () => {});
test('hangs', async () => {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  fs.writeFileSync(${JSON.stringify(pidFile)}, JSON.stringify({ runner: process.pid, sleeper: child.pid }));
  await new Promise(() => {});
});
`,
      );
      const events = await lastValueFrom(
        budgeted.runGenerated(project, ['test/hang.test.js'], null).pipe(toArray()),
      );
      const spawned = events.find((e) => e.type === 'spawned');
      const last = events[events.length - 1];
      expect(last.type).toBe('report');
      const r = (last as Extract<TestRunEvent, { type: 'report' }>).report;
      expect(r.timedOut).toBe(true);
      expect(r.passed).toBe(false);
      expect(r.cases.some((c) => c.status === 'error')).toBe(true);
      // The round's budget, less what the round spent before starting the command.
      const stopped = /\[timed out after (\d+) ms; process group stopped\]/.exec(r.output);
      expect(Number(stopped?.[1])).toBeGreaterThan(0);
      expect(Number(stopped?.[1])).toBeLessThanOrEqual(BUDGET_SECONDS * 1000);
      const pids = JSON.parse(readFileSync(pidFile, 'utf8')) as { runner: number; sleeper: number };
      expect(spawned).toBeDefined();
      const pgid = (spawned as Extract<TestRunEvent, { type: 'spawned' }>).pid;
      expect(isProcessGroupAlive(pgid)).toBe(false);
      expect(isProcessAlive(pids.runner)).toBe(false);
      expect(isProcessAlive(pids.sleeper)).toBe(false);
    });

    it('gives all generated files one time budget: files left when it is used up are not run', async () => {
      const project = copyFixture('node-basic');
      const taking = (ms: number) => `'use strict';
const test = require('node:test');
test('takes ${ms} ms', async () => { await new Promise((r) => setTimeout(r, ${ms})); });
`;
      write(project, 'test/a-slow.test.js', taking(10));
      write(project, 'test/b-slow.test.js', taking(600_000));
      write(project, 'test/c-slow.test.js', taking(10));
      const files = ['test/a-slow.test.js', 'test/b-slow.test.js', 'test/c-slow.test.js'];
      const r = await report(budgeted.runGenerated(project, files, null));
      // a passes, b is stopped when the budget runs out, c never starts.
      expect(r.invocations).toHaveLength(2);
      expect(r.invocations.map((i) => i.timedOut)).toEqual([false, true]);
      expect(r.cases.find((c) => c.filePath === 'test/a-slow.test.js')?.status).toBe('passed');
      // Stopped mid-test, node --test may still write its report with that test failed (cancelled)
      // before it exits, or not get to (seen both under load): either way the file has one case
      // in error that says it timed out, and none passed.
      const b = r.cases.filter((c) => c.filePath === 'test/b-slow.test.js');
      expect(b.filter((c) => c.status === 'error')).toEqual([
        expect.objectContaining({
          name: 'test/b-slow.test.js',
          output: expect.stringMatching(/^The test command timed out after \d+ ms: /),
        }),
      ]);
      expect(b.filter((c) => c.status === 'passed')).toEqual([]);
      const notRun = r.cases.find((c) => c.filePath === 'test/c-slow.test.js');
      expect(notRun).toMatchObject({ status: 'skipped', durationMs: 0 });
      expect(notRun?.output).toMatch(/Not run: the generated tests used up TEST_TIMEOUT_SECONDS/);
      expect(r.timedOut).toBe(true);
      expect(r.passed).toBe(false);
    });

    it('stops the process group when the subscriber unsubscribes (cancel)', async () => {
      const project = copyFixture('node-basic');
      write(
        project,
        'test/slow.test.js',
        `require('node:test')('slow', () => new Promise((r) => setTimeout(r, 60000)));\n`,
      );
      let pgid = 0;
      await new Promise<void>((resolve) => {
        const sub = service.runGenerated(project, ['test/slow.test.js'], null).subscribe((e) => {
          if (e.type === 'spawned') {
            pgid = e.pid;
            setTimeout(() => {
              sub.unsubscribe();
              resolve();
            }, 300);
          }
        });
      });
      expect(pgid).toBeGreaterThan(1);
      expect(await waitUntil(() => !isProcessGroupAlive(pgid), 5000)).toBe(true);
    });

    it('caps the output it keeps', async () => {
      const project = copyFixture('node-basic');
      write(
        project,
        'test/noisy.test.js',
        `require('node:test')('noisy', () => { for (let i = 0; i < 2000; i++) console.log('line ' + i + ' ' + 'z'.repeat(200)); });\n`,
      );
      const r = await report(service.runRegression(project, 'node --test test/noisy.test.js'));
      expect(r.passed).toBe(true);
      expect(Buffer.byteLength(r.output)).toBeLessThan(OUTPUT_CAP + 512);
      expect(Buffer.byteLength(r.cases[0].output)).toBeLessThan(OUTPUT_CAP + 512);
      expect(r.cases[0].output).toMatch(/\[\.\.\. \d+ bytes cut \.\.\.\]/);
    });
  });

  describe('Python project (unittest, pytest when installed)', () => {
    const FAILING_PY = `import unittest\nfrom calc import divide\n\nclass DivideTest(unittest.TestCase):\n    def test_divide(self):\n        self.assertEqual(divide(6, 3), 3, "EXPECTED-THREE")\n`;
    const PASSING_PY = `import unittest\nfrom calc import divide\n\nclass DivideTest(unittest.TestCase):\n    def test_divide(self):\n        self.assertEqual(divide(6, 3), 2)\n`;

    it('detects unittest and reports one case per file', async () => {
      const project = copyFixture('python-basic');
      expect(service.describeTestSetup(project, null)).toMatchObject({
        framework: 'unittest',
        command: 'python3 -m unittest <test file>',
      });
      const before = await service.snapshot(project);
      write(project, 'tests/test_divide.py', PASSING_PY);
      write(project, 'tests/test_divide_bad.py', FAILING_PY);
      write(project, 'tests/helpers.py', 'X = 1\n');
      const files = (await service.changes(project, before)).testFiles;
      expect(files).toEqual(['tests/test_divide.py', 'tests/test_divide_bad.py']);
      const r = await report(service.runGenerated(project, files, null));
      expect(r.passed).toBe(false);
      expect(r.cases.map((c) => [c.name, c.status])).toEqual([
        ['tests/test_divide.py', 'passed'],
        ['tests/test_divide_bad.py', 'failed'],
      ]);
      expect(r.cases[1].output).toContain('EXPECTED-THREE');
      expect(existsSync(join(project, 'tests', '__pycache__'))).toBe(false);
    });

    it('in a git-initialised copy, finds new tests through git status and runs them', async () => {
      const project = copyFixture('python-basic');
      const gitEnv = {
        PATH: process.env.PATH,
        HOME: workDir,
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
        execFileSync('git', args, { cwd: project, env: gitEnv, stdio: 'ignore' });
      }
      const before = await service.snapshot(project);
      expect(before.mode).toBe('git');
      write(project, 'tests/test_divide.py', PASSING_PY);
      write(project, 'calc.py', readFileSync(join(project, 'calc.py'), 'utf8') + '\n');
      const files = (await service.changes(project, before)).testFiles;
      expect(files).toEqual(['tests/test_divide.py']);
      const r = await report(service.runGenerated(project, files, null));
      expect(r.passed).toBe(true);
      expect(r.cases).toEqual([
        expect.objectContaining({ name: 'tests/test_divide.py', status: 'passed' }),
      ]);
    });

    it.each([
      ['with git', true],
      ['without git', false],
    ])(
      'reports a conftest.py created or changed as test configuration, not a test (%s)',
      async (_how, withGit) => {
        const project = copyFixture('python-basic');
        if (withGit) {
          for (const args of [
            ['init', '-q'],
            ['add', '-A'],
            ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'fixture'],
          ]) {
            execFileSync('git', args, { cwd: project, stdio: 'ignore' });
          }
        }
        const before = await service.snapshot(project);
        expect(before.mode).toBe(withGit ? 'git' : 'files');
        write(project, 'tests/test_divide.py', PASSING_PY);
        write(project, 'tests/conftest.py', 'import pytest\n');
        write(project, 'conftest.py', 'import pytest\n');
        const changes = await service.changes(project, before);
        expect(changes.testFiles).toEqual(['tests/test_divide.py']);
        expect(changes.configFiles).toEqual(['conftest.py', 'tests/conftest.py']);
      },
    );

    it('runs a file whose name has a space and a leading dash', async () => {
      const project = copyFixture('python-basic');
      write(project, 'tests/-odd name_test.py', PASSING_PY);
      const r = await report(service.runGenerated(project, ['tests/-odd name_test.py'], null));
      expect(r.cases).toEqual([
        expect.objectContaining({ filePath: 'tests/-odd name_test.py', status: 'passed' }),
      ]);
    });

    it('marks a file without tests as an error', async () => {
      const project = copyFixture('python-basic');
      write(project, 'tests/test_empty.py', 'X = 1\n');
      const r = await report(service.runGenerated(project, ['tests/test_empty.py'], null));
      expect(r.passed).toBe(false);
      expect(r.cases[0].status).toBe('error');
      expect(r.cases[0].output).toMatch(/No tests were found/);
    });

    it('marks a file that ends its process at import with exit 0 as an error: its tests never ran', async () => {
      const project = copyFixture('python-basic');
      write(project, 'tests/test_exits.py', `import os\nos._exit(0)\n${PASSING_PY}`);
      const r = await report(service.runGenerated(project, ['tests/test_exits.py'], null));
      expect(r.passed).toBe(false);
      expect(r.cases.map((c) => c.status)).toEqual(['error']);
      expect(r.cases[0].output).toContain('without printing "Ran N tests"');
    });

    it('runs the regression suite with python3 -m unittest', async () => {
      const project = copyFixture('python-basic');
      const r = await report(service.runRegression(project, 'python3 -m unittest'));
      expect(r.passed).toBe(true);
      expect(r.output).toMatch(/Ran 2 tests/);
    });

    const pytestAvailable = ((): boolean => {
      try {
        execFileSync('python3', ['-m', 'pytest', '--version'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    })();
    /** The python-basic fixture as a pytest project: one passing test, one failing (EXPECTED-FOUR). */
    const pytestStyleProject = (): string => {
      const project = copyFixture('python-basic');
      write(project, 'pytest.ini', '[pytest]\n');
      write(
        project,
        'tests/test_pytest_style.py',
        'from calc import add\n\ndef test_add_ok():\n    assert add(1, 2) == 3\n\ndef test_add_bad():\n    assert add(1, 2) == 4, "EXPECTED-FOUR"\n',
      );
      return project;
    };

    (pytestAvailable ? it : it.skip)(
      'uses pytest JUnit XML for per-case results when configured',
      async () => {
        const project = pytestStyleProject();
        const r = await report(service.runGenerated(project, ['tests/test_pytest_style.py'], null));
        expect(r.command).toEqual(['python3', '-m', 'pytest']);
        expect(r.cases.map((c) => [c.name, c.status, c.filePath])).toEqual([
          ['test_add_ok', 'passed', 'tests/test_pytest_style.py'],
          ['test_add_bad', 'failed', 'tests/test_pytest_style.py'],
        ]);
        expect(r.cases[1].output).toContain('EXPECTED-FOUR');
        expect(existsSync(join(project, '.pytest_cache'))).toBe(false);

        // A file that ends its process at import, exit code 0: pytest writes no report.
        write(
          project,
          'tests/test_exits.py',
          `import os\nos._exit(0)\n\ndef test_x():\n    assert False\n`,
        );
        const exits = await report(service.runGenerated(project, ['tests/test_exits.py'], null));
        expect(exits.passed).toBe(false);
        expect(exits.cases.map((c) => c.status)).toEqual(['error']);
        expect(exits.cases[0].output).toContain('without writing its report');
      },
    );

    (pytestAvailable ? it : it.skip)(
      "reads a pytest regression run's tests by node id from a report of the server's, then removes it",
      async () => {
        const project = pytestStyleProject();
        const r = await report(service.runRegression(project, 'python3 -m pytest -q'));
        expect(r.command).toEqual(['python3', '-m', 'pytest', '-q']);
        const ran = r.invocations[0].command;
        expect(ran.slice(0, 3)).toEqual(['python3', '-m', 'pytest']);
        expect(ran[3]).toMatch(/^--junitxml=.*\/regression\.xml$/);
        expect(ran.slice(4)).toEqual(['-o', 'junit_family=xunit1', '-q']);
        expect(r.tests).toEqual(
          expect.arrayContaining([
            { id: 'tests/test_pytest_style.py::test_add_ok', status: 'passed' },
            { id: 'tests/test_pytest_style.py::test_add_bad', status: 'failed' },
          ]),
        );
        expect(existsSync(dirname(ran[3].slice('--junitxml='.length)))).toBe(false);
      },
    );
  });

  it('reports a missing test tool as an error, not a crash', async () => {
    const project = copyFixture('node-basic');
    write(project, 'test/a.test.js', PASSING_NODE_TEST);
    const r = await firstValueFrom(
      service
        .runGenerated(project, ['test/a.test.js'], 'definitely-not-a-command-xyz')
        .pipe(reportOnly()),
    );
    expect(r.passed).toBe(false);
    expect(r.cases[0].status).toBe('error');
    expect(r.output).toMatch(/could not start definitely-not-a-command-xyz/);
  });

  describe('MAX_CONCURRENT_TEST_RUNS', () => {
    /** A regression run that waits for `release`, and one that writes it. */
    const waiterAndReleaser = (project: string) => {
      const release = join(project, 'release');
      const waiter = `node -e "setInterval(()=>{if(require('fs').existsSync('${release}'))process.exit(0)},20)"`;
      const releaser = `node -e "require('fs').writeFileSync('${release}','')"`;
      return { waiter, releaser };
    };
    const serviceWithSlots = async (slots: number, regressionSeconds: number) => {
      const moduleRef = await Test.createTestingModule({
        imports: [ConfigModule, TestRunnerModule],
      })
        .overrideProvider(AppConfig)
        .useValue(
          loadConfig({
            MAX_CONCURRENT_TEST_RUNS: String(slots),
            REGRESSION_TIMEOUT_SECONDS: String(regressionSeconds),
            KILL_GRACE_SECONDS: '1',
          }),
        )
        .compile();
      return moduleRef.get(TestRunnerService);
    };

    it('with one slot a second run waits for the first to end, its time limit not yet started', async () => {
      const limited = await serviceWithSlots(1, 2);
      const project = copyFixture('node-basic');
      const { waiter, releaser } = waiterAndReleaser(project);
      const first = report(limited.runRegression(project, waiter));
      const second = report(limited.runRegression(project, releaser));
      const [a, b] = await Promise.all([first, second]);
      // The releaser could not run beside the waiter: the waiter ran out of time.
      expect(a.timedOut).toBe(true);
      expect(b.passed).toBe(true);
      expect(b.timedOut).toBe(false);
    });

    it('with two slots both run at once', async () => {
      const roomy = await serviceWithSlots(2, 120);
      const project = copyFixture('node-basic');
      const { waiter, releaser } = waiterAndReleaser(project);
      const [a, b] = await Promise.all([
        report(roomy.runRegression(project, waiter)),
        report(roomy.runRegression(project, releaser)),
      ]);
      expect(a.passed).toBe(true);
      expect(b.passed).toBe(true);
    });
  });
});
