import { TestCaseResult, TestRunReport } from 'src/test-runner';
import { brokenTests } from 'src/orchestrator/run/broken-tests';

const test = (name: string, status: TestCaseResult['status'], filePath = 'tests/test_calc.py') => ({
  name,
  filePath,
  status,
  durationMs: 1,
  output: '',
});

function run(cases: TestCaseResult[], timedOut = false): TestRunReport {
  return {
    kind: 'generated',
    command: ['python3', '-m', 'pytest'],
    exitCode: 1,
    timedOut,
    durationMs: 1,
    output: '',
    cases,
    passed: false,
    invocations: [],
  };
}

describe('brokenTests', () => {
  const atBase = run([test('test_add', 'passed'), test('test_sub', 'passed')]);

  it('names a test that passed at the base commit and fails or errors against the change', () => {
    expect(
      brokenTests(run([test('test_add', 'failed'), test('test_sub', 'error')]), atBase),
    ).toEqual(['test_add', 'test_sub']);
  });

  it('names a module of tests that all passed at the base commit and no longer loads', () => {
    // pytest's collection error: one case named by the module, not by its tests.
    const onChange = run([test('tests.test_calc', 'error')]);
    expect(brokenTests(onChange, atBase)).toEqual(['tests.test_calc']);
  });

  it('blames no module whose tests failed at the base commit too, nor a run that timed out', () => {
    const failing = run([test('test_add', 'passed'), test('test_sub', 'failed')]);
    expect(brokenTests(run([test('tests.test_calc', 'error')]), failing)).toEqual([]);
    expect(brokenTests(run([test('tests.test_calc', 'error')], true), atBase)).toEqual([]);
  });

  it('blames no new case that fails: one a test parametrised over what the change added gains', () => {
    const onChange = run([
      test('test_add', 'passed'),
      test('test_sub', 'passed'),
      test('test_op[mul]', 'failed'),
      test('test_op[pow]', 'error'),
    ]);
    expect(brokenTests(onChange, atBase)).toEqual([]);
  });
});
