import type { TestCaseResult } from 'src/test-runner';
import { createdTestFiles, skippedNewTests } from 'src/orchestrator/run/skipped-new-tests';

const kase = (
  name: string,
  filePath: string,
  status: TestCaseResult['status'],
  output = '',
): TestCaseResult => ({ name, filePath, status, durationMs: 1, output });

describe('createdTestFiles', () => {
  it('leaves out the test files of the base commit the change modified or renamed to', () => {
    const created = createdTestFiles(
      ['tests/test_new.py', 'tests/test_old.py', 'tests/test_moved.py'],
      [
        { status: 'modified', path: 'tests/test_old.py', before: 'x', after: 'y' },
        { status: 'renamed', path: 'tests/test_was.py', newPath: 'tests/test_moved.py' },
        // A test configuration file that did not exist at the base commit: no test file.
        { status: 'modified', path: 'tests/conftest.py', before: '', after: 'z' },
      ],
      true,
    );
    expect([...created]).toEqual(['tests/test_new.py']);
  });

  it('is empty without a base commit: nothing tells a new file from an old one', () => {
    expect(createdTestFiles(['tests/test_new.py'], [], false).size).toBe(0);
  });
});

describe('skippedNewTests', () => {
  const created = new Set(['tests/test_new.py']);

  it('names the skipped cases (xfail included) of created files only', () => {
    const cases = [
      kase('test_exists', 'tests/test_new.py', 'passed'),
      kase('test_value', 'tests/test_new.py', 'skipped'),
      kase('test_old_skip', 'tests/test_old.py', 'skipped'),
    ];
    expect(skippedNewTests(cases, created).map((c) => c.name)).toEqual(['test_value']);
  });

  it('counts a unittest file whose verdict line counts skipped tests or expected failures', () => {
    const file = (output: string) => [
      kase('tests/test_new.py', 'tests/test_new.py', 'passed', output),
    ];
    expect(
      skippedNewTests(file('Ran 2 tests in 0.001s\n\nOK (expected failures=1)\n'), created),
    ).toHaveLength(1);
    expect(
      skippedNewTests(file('Ran 2 tests in 0.001s\n\nOK (skipped=1)\n'), created),
    ).toHaveLength(1);
    expect(skippedNewTests(file('Ran 2 tests in 0.001s\n\nOK\n'), created)).toEqual([]);
  });

  it('lets every case that ran pass', () => {
    const cases = [
      kase('a', 'tests/test_new.py', 'passed'),
      kase('b', 'tests/test_new.py', 'passed'),
    ];
    expect(skippedNewTests(cases, created)).toEqual([]);
  });
});
