import type { TestCaseResult } from 'src/test-runner';
import { generatedFiles, skippedNewTests } from 'src/orchestrator/run/skipped-new-tests';

const kase = (
  name: string,
  filePath: string,
  status: TestCaseResult['status'],
  output = '',
): TestCaseResult => ({ name, filePath, status, durationMs: 1, output });

describe('generatedFiles', () => {
  it('tells the files the change created from the test files of the base commit it modified or renamed to', () => {
    const found = generatedFiles(
      ['tests/test_new.py', 'tests/test_old.py', 'tests/test_moved.py'],
      [
        { status: 'modified', path: 'tests/test_old.py', before: 'x', after: 'y' },
        { status: 'renamed', path: 'tests/test_was.py', newPath: 'tests/test_moved.py' },
        // A test configuration file that did not exist at the base commit: no test file.
        { status: 'modified', path: 'tests/conftest.py', before: '', after: 'z' },
      ],
      true,
    );
    expect([...found.created]).toEqual(['tests/test_new.py']);
    expect([...found.before]).toEqual([['tests/test_old.py', 'x']]);
  });

  it('finds nothing without a base commit: nothing tells a new file from an old one', () => {
    const found = generatedFiles(['tests/test_new.py'], [], false);
    expect(found.created.size + found.before.size).toBe(0);
  });
});

describe('skippedNewTests', () => {
  const generated = {
    created: new Set(['tests/test_new.py']),
    before: new Map([
      ['tests/test_old.py', 'def test_known_bug():\n    pass\n'],
      ['tests/calc.rs', '#[test]\n#[ignore]\nfn slow_sum() {}\n'],
      ['test/old.test.js', "test.skip('old', f);\n"],
    ]),
  };

  it('names the skipped cases (xfail included) of created files', () => {
    const cases = [
      kase('test_exists', 'tests/test_new.py', 'passed'),
      kase('test_value', 'tests/test_new.py', 'skipped'),
    ];
    expect(skippedNewTests(cases, generated).map((c) => c.name)).toEqual(['test_value']);
  });

  it('in an existing Python or Rust test file, only skipped tests its base commit did not have', () => {
    const cases = [
      kase('test_known_bug', 'tests/test_old.py', 'skipped'),
      kase('test_mul[3-4]', 'tests/test_old.py', 'skipped'),
      kase('slow_sum', 'tests/calc.rs', 'skipped'),
      kase('tests::mul_big', 'tests/calc.rs', 'skipped'),
      // A jest case is named by its titles: an existing file is not looked at by name.
      kase('calc multiplies', 'test/old.test.js', 'skipped'),
      kase('test_other', 'tests/test_unlisted.py', 'skipped'),
    ];
    expect(skippedNewTests(cases, generated).map((c) => c.name)).toEqual([
      'test_mul[3-4]',
      'tests::mul_big',
    ]);
  });

  it('counts a created unittest file whose verdict line counts skipped tests or expected failures', () => {
    const file = (output: string) => [
      kase('tests/test_new.py', 'tests/test_new.py', 'passed', output),
    ];
    const ran = 'Ran 2 tests in 0.001s\n\n';
    expect(skippedNewTests(file(`${ran}OK (expected failures=1)\n`), generated)).toHaveLength(1);
    expect(skippedNewTests(file(`${ran}OK (skipped=1)\n`), generated)).toHaveLength(1);
    expect(skippedNewTests(file(`${ran}OK\n`), generated)).toEqual([]);
  });

  it('lets every case that ran pass', () => {
    const cases = [
      kase('a', 'tests/test_new.py', 'passed'),
      kase('test_mul', 'tests/test_old.py', 'passed'),
    ];
    expect(skippedNewTests(cases, generated)).toEqual([]);
  });
});
