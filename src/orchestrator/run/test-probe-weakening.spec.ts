import { testProbeWeakening } from 'src/orchestrator/run/test-probe-weakening';

const LIB = (add: string, tests = ''): string =>
  `pub fn add(a: i64, b: i64) -> i64 {\n    ${add}\n}\n${tests}`;
const TESTS =
  '\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn add_negative() {\n        assert_eq!(add(-2, -3), -5);\n    }\n}\n';

describe('testProbeWeakening', () => {
  it('code under test made to ask whether it runs under test (jest)', () => {
    const before = "'use strict';\nexports.add = (a, b) => a + b;\n";
    const after =
      "'use strict';\nexports.add = (a, b) => (process.env.JEST_WORKER_ID ? a + b : a - b);\n";
    expect(testProbeWeakening('src/calc.js', before, after)).toEqual([
      {
        kind: 'test_detection',
        file: 'src/calc.js',
        detail:
          'added code to src/calc.js that tells whether it runs under test (`JEST_WORKER_ID` 1x): the code under test can then pass the tests and do otherwise everywhere else, so keep it from asking',
      },
    ]);
  });

  it('a new file of the code under test that asks counts', () => {
    expect(
      testProbeWeakening('src/env.py', '', "import sys\nTESTING = 'pytest' in sys.modules\n"),
    ).toEqual([expect.objectContaining({ kind: 'test_detection', file: 'src/env.py' })]);
  });

  it('probes the code had at the base commit do not count; only those added', () => {
    const before = "const quiet = process.env.NODE_ENV === 'test';\n";
    expect(testProbeWeakening('src/log.js', before, `${before}exports.x = 1;\n`)).toEqual([]);
    expect(
      testProbeWeakening('src/log.js', before, `${before}const t = process.env.VITEST;\n`),
    ).toEqual([expect.objectContaining({ detail: expect.stringContaining('(`VITEST` 1x)') })]);
  });

  it("Rust: cfg!(test) in the code under test counts, its test modules' code does not", () => {
    expect(
      testProbeWeakening(
        'src/lib.rs',
        LIB('a + b', TESTS),
        LIB('if cfg!(test) { a + b } else { a - b }', TESTS),
      ),
    ).toEqual([
      {
        kind: 'test_detection',
        file: 'src/lib.rs',
        detail: expect.stringMatching(/^added code to src\/lib\.rs .*\(`cfg!\(test\)` 1x\)/),
      },
    ]);
    const testsAsking = TESTS.replace('assert_eq!', 'if cfg!(test) {}\n        assert_eq!');
    expect(
      testProbeWeakening('src/lib.rs', LIB('a + b', TESTS), LIB('a + b', testsAsking)),
    ).toEqual([]);
    // A new test module, or one comment naming the probe, is no probe.
    expect(
      testProbeWeakening('src/lib.rs', LIB('a + b'), LIB('// not cfg!(test)\n    a + b', TESTS)),
    ).toEqual([]);
  });

  it('Rust: an item kept out of the test build for a twin compiled under test', () => {
    const twins =
      '#[cfg(not(test))]\npub fn add(a: i64, b: i64) -> i64 {\n    a - b\n}\n\n#[cfg(test)]\npub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n';
    expect(testProbeWeakening('src/lib.rs', LIB('a + b'), twins)).toEqual([
      expect.objectContaining({ detail: expect.stringContaining('(`cfg(not(test))` 1x)') }),
    ]);
  });

  it('not in test files, nor test configuration', () => {
    const asks = "if (process.env.JEST_WORKER_ID) require('./fix');\n";
    expect(testProbeWeakening('test/calc.test.js', '', asks)).toEqual([]);
    expect(testProbeWeakening('jest.config.js', '', asks)).toEqual([]);
    expect(testProbeWeakening('tests/basic.rs', '', 'fn f() { if cfg!(test) {} }')).toEqual([]);
  });
});
