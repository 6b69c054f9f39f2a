import { rerunArgv } from 'src/orchestrator/run/rerun-command';

describe('rerunArgv', () => {
  it('narrows node --test to the failing tests by an anchored name pattern', () => {
    expect(rerunArgv(['node', '--test', 'test/'], 'tap', ['adds', 'a (b)'])).toEqual([
      'node',
      '--test',
      '--test-name-pattern=^(adds|a \\(b\\))$',
      'test/',
    ]);
  });

  it('narrows python -m unittest to the failing test ids, keeping its options', () => {
    expect(
      rerunArgv(['python3', '-m', 'unittest', '-v'], 'unittest', [
        'test_bad (tests.test_a.T.test_bad)',
      ]),
    ).toEqual(['python3', '-m', 'unittest', '-v', 'tests.test_a.T.test_bad']);
  });

  it('narrows pytest without paths to the failing node ids', () => {
    expect(rerunArgv(['pytest', '-q'], 'pytest', ['tests/test_a.py::test_bad'])).toEqual([
      'pytest',
      '-q',
      'tests/test_a.py::test_bad',
    ]);
  });

  it.each<[string[], 'tap' | 'unittest' | 'pytest', string[]]>([
    [['npm', 'test'], 'tap', ['adds']],
    [['python3', '-m', 'unittest', 'discover', '-s', 'tests'], 'unittest', ['x (a.b)']],
    [['python3', '-m', 'unittest'], 'unittest', ['setUpClass (a.B)x']],
    [
      ['python3', '-m', 'unittest'],
      'unittest',
      ['tests.test_calc (unittest.loader._FailedTest.tests.test_calc)'],
    ],
    [['pytest', 'tests/'], 'pytest', ['tests/test_a.py::x']],
    [['node', '--test'], 'tap', []],
  ])('gives null where the command cannot be narrowed: %j', (argv, format, names) => {
    expect(rerunArgv(argv, format, names)).toBeNull();
  });
});
