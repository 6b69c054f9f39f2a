import { summarizeTestOutput } from 'src/test-runner/test-output-summary';

const TAP = `TAP version 13
# Subtest: adds
ok 1 - adds
# Subtest: fails
not ok 2 - fails
  ---
  duration_ms: 1
  ...
# Subtest: skipped
ok 3 - skipped # SKIP
# Subtest: suite
    # Subtest: inner bad
    not ok 1 - inner bad
    1..1
not ok 4 - suite
1..4
# tests 4
# suites 1
# pass 1
# fail 2
# cancelled 0
# skipped 1
# todo 0
`;

const UNITTEST = `FE.s
======================================================================
ERROR: test_err (tests.test_a.T.test_err)
----------------------------------------------------------------------
RuntimeError: x
======================================================================
FAIL: test_bad (tests.test_a.T.test_bad)
----------------------------------------------------------------------
AssertionError: 1 != 2

----------------------------------------------------------------------
Ran 4 tests in 0.002s

FAILED (failures=1, errors=1, skipped=1)
`;

const PYTEST = `tests/test_a.py F.s
=========================== short test summary info ============================
FAILED tests/test_a.py::test_bad - assert 1 == 2
==================== 1 failed, 1 passed, 1 skipped in 0.03s ====================
`;

describe('summarizeTestOutput', () => {
  it('reads TAP counts and every failing test, nested ones included', () => {
    expect(summarizeTestOutput(TAP)).toEqual({
      format: 'tap',
      total: 4,
      passed: 1,
      failed: 2,
      errored: 0,
      skipped: 1,
      deselected: 0,
      failing: ['fails', 'inner bad', 'suite'],
      names: ['adds', 'fails', 'inner bad', 'skipped', 'suite'],
    });
  });

  it('reads unittest counts and the FAIL/ERROR names', () => {
    expect(summarizeTestOutput(UNITTEST)).toEqual({
      format: 'unittest',
      total: 4,
      passed: 1,
      failed: 1,
      errored: 1,
      skipped: 1,
      deselected: 0,
      failing: ['test_bad (tests.test_a.T.test_bad)', 'test_err (tests.test_a.T.test_err)'],
      names: null,
    });
  });

  it('names every test a verbose unittest run ran, its skipped and expected failures left out', () => {
    const verbose = [
      'test_fail (tests.test_a.A.test_fail) ... FAIL',
      'test_ok (tests.test_a.A.test_ok)',
      'Doc line. ... ok',
      "test_skip (tests.test_a.A.test_skip) ... skipped 'later'",
      'test_xf (tests.test_a.A.test_xf) ... expected failure',
      'tests.test_b (unittest.loader._FailedTest.tests.test_b) ... ERROR',
      '',
      'Ran 5 tests in 0.003s',
      '',
      'FAILED (failures=1, errors=1, skipped=1, expected failures=1)',
    ].join('\n');
    expect(summarizeTestOutput(verbose)?.names).toEqual([
      'test_fail (tests.test_a.A.test_fail)',
      'test_ok (tests.test_a.A.test_ok)',
      'tests.test_b (unittest.loader._FailedTest.tests.test_b)',
    ]);
    // A line short of what it counted (output cut): no names rather than some.
    expect(summarizeTestOutput(verbose.replace('Ran 5', 'Ran 6'))?.names).toBeNull();
  });

  it('reads a passing unittest run', () => {
    expect(summarizeTestOutput('..\nRan 2 tests in 0.001s\n\nOK\n')).toMatchObject({
      total: 2,
      passed: 2,
      failing: [],
    });
  });

  it("reads pytest's summary line and its FAILED lines", () => {
    expect(summarizeTestOutput(PYTEST)).toEqual({
      format: 'pytest',
      total: 3,
      passed: 1,
      failed: 1,
      errored: 0,
      skipped: 1,
      deselected: 0,
      failing: ['tests/test_a.py::test_bad'],
      names: null,
    });
  });

  it("reads pytest's deselected tests apart from those it ran, and counts xpassed as passed", () => {
    const out = `tests/test_x.py .Xx
============ 1 passed, 2 deselected, 1 xfailed, 1 xpassed in 0.76s =============
`;
    expect(summarizeTestOutput(out)).toMatchObject({
      format: 'pytest',
      total: 3,
      passed: 2,
      skipped: 1,
      deselected: 2,
    });
    expect(
      summarizeTestOutput('============================ 4 deselected in 0.73s ==========\n'),
    ).toMatchObject({ total: 0, deselected: 4 });
  });

  it("counts unittest's expected failures as skipped, as pytest's xfailed are, not as failures", () => {
    const out = 'x.\nRan 3 tests in 0.001s\n\nOK (expected failures=1, skipped=1)\n';
    expect(summarizeTestOutput(out)).toMatchObject({
      total: 3,
      passed: 1,
      failed: 0,
      skipped: 2,
      deselected: 0,
    });
    const unexpected = 'u\nRan 1 test in 0.001s\n\nFAILED (unexpected successes=1)\n';
    expect(summarizeTestOutput(unexpected)).toMatchObject({ failed: 1, passed: 0 });
  });

  it('gives null for output it does not recognise', () => {
    expect(summarizeTestOutput('make: *** [test] Error 1\n')).toBeNull();
  });
});
