import {
  pytestArgsStart,
  pytestReportTests,
  unittestVerbose,
  withJunitReport,
} from 'src/test-runner/regression-report';

describe('pytest regression commands', () => {
  it('are recognised as pytest or python -m pytest, and asked for an xunit1 report first', () => {
    expect(pytestArgsStart(['python3', '-m', 'pytest'])).toBe(3);
    expect(pytestArgsStart(['/usr/bin/pytest', '-q'])).toBe(1);
    expect(pytestArgsStart(['python3', '-m', 'unittest'])).toBe(0);
    expect(withJunitReport(['pytest', '-q', '--', 'tests'], '/tmp/r/regression.xml')).toEqual([
      'pytest',
      '--junitxml=/tmp/r/regression.xml',
      '-o',
      'junit_family=xunit1',
      '-q',
      '--',
      'tests',
    ]);
    expect(withJunitReport(['npm', 'test'], '/tmp/r.xml')).toBeNull();
  });

  it('are left as given where they set JUnit themselves: their own report, or the plugin off', () => {
    for (const argv of [
      ['pytest', '-p', 'no:junitxml'],
      ['python3', '-m', 'pytest', '-pno:junitxml', 'tests'],
      ['pytest', '--junitxml=out/junit.xml'],
      ['pytest', '--junit-xml', 'out/junit.xml'],
    ]) {
      expect(withJunitReport(argv, '/tmp/r.xml')).toBeNull();
    }
  });
});

describe('unittestVerbose', () => {
  it('adds -v to python -m unittest at its end, once', () => {
    expect(unittestVerbose(['python3', '-m', 'unittest', 'discover', '-s', 'tests'])).toEqual([
      'python3',
      '-m',
      'unittest',
      'discover',
      '-s',
      'tests',
      '-v',
    ]);
    expect(unittestVerbose(['python', '-m', 'unittest', '-v'])).toEqual([
      'python',
      '-m',
      'unittest',
      '-v',
    ]);
    expect(unittestVerbose(['python3', '-m', 'pytest'])).toBeNull();
  });
});

describe('pytestReportTests', () => {
  it('names a test a class inherits from another module by the class that runs it', () => {
    const xml = [
      '<testsuites><testsuite name="pytest">',
      '<testcase classname="tests.test_sub.TestSub" name="test_m" file="tests/base.py"/>',
      '<testcase classname="tests.test_mul.TestMul" name="test_m" file="tests/base.py"/>',
      '</testsuite></testsuites>',
    ].join('');
    expect(pytestReportTests(xml)).toEqual([
      { id: 'tests/test_sub.py::TestSub::test_m', status: 'passed' },
      { id: 'tests/test_mul.py::TestMul::test_m', status: 'passed' },
    ]);
  });

  it('names each test by its node id, a module that failed to be collected by its file', () => {
    const xml = [
      '<testsuites name="pytest tests"><testsuite name="pytest">',
      '<testcase classname="tests.test_calc" name="test_add" file="tests/test_calc.py"/>',
      '<testcase classname="tests.test_calc.TestX" name="test_p[1]" file="tests/test_calc.py"><failure message="x">boom</failure></testcase>',
      '<testcase classname="tests.test_calc" name="test_xf" file="tests/test_calc.py"><skipped type="pytest.xfail" message=""/></testcase>',
      '<testcase classname="" name="tests.test_broken" file="tests/test_broken.py"><error message="collection failure">E</error></testcase>',
      '</testsuite></testsuites>',
    ].join('');
    expect(pytestReportTests(xml)).toEqual([
      { id: 'tests/test_calc.py::test_add', status: 'passed' },
      { id: 'tests/test_calc.py::TestX::test_p[1]', status: 'failed' },
      { id: 'tests/test_calc.py::test_xf', status: 'skipped' },
      { id: 'tests/test_broken.py', status: 'error' },
    ]);
  });

  it('is null for a report that cannot be read', () => {
    expect(pytestReportTests('<testsuite><testcase')).toBeNull();
  });
});
