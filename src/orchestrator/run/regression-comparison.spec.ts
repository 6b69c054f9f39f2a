import { TestRunReport } from 'src/test-runner';
import {
  compareRegression,
  RegressionResult,
  regressionResult,
} from 'src/orchestrator/run/regression-comparison';

function tap(failing: string[], total = 3): string {
  const lines = failing.map((name, i) => `not ok ${i + 1} - ${name}`);
  return `TAP version 13\n${lines.join('\n')}\n# tests ${total}\n# pass ${total - failing.length}\n# fail ${failing.length}\n`;
}

function report(output: string, passed: boolean): TestRunReport {
  return {
    kind: 'regression',
    command: ['node', '--test'],
    exitCode: passed ? 0 : 1,
    timedOut: false,
    durationMs: 1,
    output,
    cases: [],
    passed,
    invocations: [],
  };
}

const perTest = (failing: string[], total = 3): RegressionResult => ({
  granularity: 'test',
  passed: failing.length === 0,
  total,
  counts: {
    passed: total - failing.length,
    failed: failing.length,
    errored: 0,
    skipped: 0,
    deselected: 0,
  },
  failing,
  names: null,
  format: 'tap',
});
const perCommand = (passed: boolean): RegressionResult => ({
  granularity: 'command',
  passed,
  total: null,
  counts: null,
  failing: passed ? [] : ['node --test'],
  names: null,
  format: null,
});

describe('regressionResult', () => {
  it('is per test when the output names the failing tests', () => {
    expect(regressionResult(report(tap(['b']), false), '/w/1')).toEqual({
      ...perTest(['b']),
      names: ['b'],
    });
  });

  it('names tests relative to where it ran, so that two workspaces name a file alike', () => {
    const named = (dir: string) =>
      regressionResult(report(tap([`${dir}/test/plain.test.js`]), false), dir);
    expect(named('/w/1')).toMatchObject({
      failing: ['test/plain.test.js'],
      names: ['test/plain.test.js'],
    });
    expect(named('/w/2')).toEqual(named('/w/1'));
  });

  it('is per command when the output is not recognised, or names no failure', () => {
    expect(regressionResult(report('segfault', false), '/w/1')).toEqual(perCommand(false));
    expect(regressionResult(report(tap([]), false), '/w/1')).toEqual({
      ...perCommand(false),
      total: 3,
      // What the output counts is kept though it names no failure.
      counts: { passed: 3, failed: 0, errored: 0, skipped: 0, deselected: 0 },
      names: [],
    });
  });

  it('a run exiting 0 whose output counts failures and names none has failed, per command', () => {
    // A conftest.py that empties pytest's report characters and turns exit status 1 into 0.
    const out = '....F\n========= 1 failed, 4 passed in 0.05s =========\n';
    const commandLine = { ...report(out, true), command: ['python3', '-m', 'pytest'] };
    const result = regressionResult(commandLine, '/w/1');
    expect(result).toMatchObject({
      granularity: 'command',
      passed: false,
      failing: ['python3 -m pytest'],
      counts: { passed: 4, failed: 1 },
    });
    expect(compareRegression('python3 -m pytest', null, result, null).newFailures).toEqual([
      'python3 -m pytest',
    ]);
  });

  it("reads the tests by id from the server's pytest report, skipped ones not among those run", () => {
    // A conftest.py that hid the output's FAILED lines and summary: the report still tells.
    const withReport: TestRunReport = {
      ...report('', true),
      command: ['python3', '-m', 'pytest'],
      tests: [
        { id: 'tests/test_calc.py::test_add', status: 'passed' },
        { id: 'tests/test_calc.py::test_sub', status: 'skipped' },
        { id: 'tests/test_mul.py::test_mul', status: 'failed' },
      ],
    };
    expect(regressionResult(withReport, '/w/1')).toEqual({
      granularity: 'test',
      passed: false,
      total: 3,
      counts: { passed: 1, failed: 1, errored: 0, skipped: 1, deselected: 0 },
      failing: ['tests/test_mul.py::test_mul'],
      names: ['tests/test_calc.py::test_add', 'tests/test_mul.py::test_mul'],
      format: 'pytest',
    });
  });

  it("keeps pytest's deselected tests in its counts", () => {
    const out = '.. \n========= 1 failed, 2 passed, 3 deselected in 0.05s =========\n';
    expect(regressionResult(report(out, false), '/w/1')).toMatchObject({
      total: 3,
      counts: { passed: 2, failed: 1, errored: 0, skipped: 0, deselected: 3 },
    });
  });
});

describe('compareRegression', () => {
  it('a test that failed at the baseline too is pre-existing; a new one is new breakage', () => {
    expect(
      compareRegression('node --test', perTest(['old']), perTest(['old', 'new']), null),
    ).toEqual({
      granularity: 'test',
      preExisting: ['old'],
      newFailures: ['new'],
      flaky: [],
    });
  });

  it('a new failure that passes when run again is flaky, one that fails again blocks', () => {
    expect(
      compareRegression('node --test', perTest([]), perTest(['flaky', 'broken']), {
        ...perTest(['broken'], 2),
        names: ['broken', 'flaky'],
      }),
    ).toEqual({ granularity: 'test', preExisting: [], newFailures: ['broken'], flaky: ['flaky'] });
  });

  it('a new failure the run again does not show passing blocks, whatever it failed as then', () => {
    // A unittest module that no longer imports: the loader names it one way in the full run and
    // another in the narrowed one, which fails too.
    const full = 'tests.test_calc (unittest.loader._FailedTest.tests.test_calc)';
    const narrowed = 'tests (unittest.loader._FailedTest.tests)';
    const unittest = (failing: string[], total: number): RegressionResult => ({
      ...perTest(failing, total),
      format: 'unittest',
    });
    expect(
      compareRegression('python3 -m unittest', unittest([], 3), unittest([full], 2), {
        ...unittest([narrowed], 1),
        passed: false,
      }),
    ).toMatchObject({ newFailures: [full], flaky: [] });
    // TAP names every test it ran: one the run again did not run is not flaky.
    expect(
      compareRegression('node --test', perTest([]), perTest(['gone']), {
        ...perTest([], 0),
        names: [],
      }),
    ).toMatchObject({ newFailures: ['gone'], flaky: [] });
  });

  it('where the output names only failures, a run again that passed with tests in it is flaky', () => {
    const unittest = (failing: string[], total: number): RegressionResult => ({
      ...perTest(failing, total),
      format: 'unittest',
    });
    expect(
      compareRegression('python3 -m unittest', unittest([], 3), unittest(['t (a.T.t)'], 3), {
        ...unittest([], 1),
      }),
    ).toMatchObject({ newFailures: [], flaky: ['t (a.T.t)'] });
    expect(
      compareRegression('python3 -m unittest', unittest([], 3), unittest(['t (a.T.t)'], 3), {
        ...unittest([], 0),
      }),
    ).toMatchObject({ newFailures: ['t (a.T.t)'], flaky: [] });
  });

  it('per command: the command passing when run again makes it flaky, failing blocks', () => {
    expect(
      compareRegression('node --test', perCommand(true), perCommand(false), perCommand(true)),
    ).toMatchObject({ newFailures: [], flaky: ['node --test'] });
    expect(
      compareRegression('node --test', perCommand(true), perCommand(false), perCommand(false)),
    ).toMatchObject({ newFailures: ['node --test'], flaky: [] });
  });

  it('per command: a command that failed at the baseline and fails now is pre-existing', () => {
    expect(
      compareRegression('node --test', perCommand(false), perCommand(false), null),
    ).toMatchObject({
      granularity: 'command',
      preExisting: ['node --test'],
      newFailures: [],
    });
  });

  it('falls back to per command when the baseline was not per test', () => {
    expect(compareRegression('node --test', perCommand(true), perTest(['x']), null)).toEqual({
      granularity: 'command',
      preExisting: [],
      newFailures: ['node --test'],
      flaky: [],
    });
  });

  it('without a baseline every failure is new', () => {
    expect(compareRegression('node --test', null, perTest(['x']), null).newFailures).toEqual(['x']);
  });
});
