import {
  testSupportRoot,
  isInSkippedDirectory,
  isTestFile,
  TestEcosystem,
} from 'src/test-runner/test-file-patterns';

describe('isTestFile', () => {
  it.each<[string, TestEcosystem, boolean]>([
    ['test/math.test.js', 'node', true],
    ['src/math.spec.ts', 'node', true],
    ['src/math_test.mjs', 'node', true],
    ['test/helpers.js', 'node', true],
    ['__tests__/a.tsx', 'node', true],
    ['src/math.js', 'node', false],
    ['src/types.d.ts', 'node', false],
    ['test/data.json', 'node', false],
    ['node_modules/x/a.test.js', 'node', false],
    ['tests/test_calc.py', 'python', true],
    ['calc_test.py', 'python', true],
    ['tests/conftest.py', 'python', false],
    ['tests/__init__.py', 'python', false],
    ['calc.py', 'python', false],
    ['.venv/lib/test_x.py', 'python', false],
    ['tests/test_calc.py', 'node', false],
    ['pkg/calc_test.go', 'go', true],
    ['pkg/calc.go', 'go', false],
    ['tests/integration.rs', 'rust', true],
    ['src/lib.rs', 'rust', false],
    ['tests/test_calc.py', 'unknown', true],
    ['test/a.test.js', 'unknown', true],
    ['README.md', 'unknown', false],
  ])('%s (%s) -> %s', (path, ecosystem, expected) => {
    expect(isTestFile(path, ecosystem)).toBe(expected);
  });

  it('knows the skipped directories', () => {
    expect(isInSkippedDirectory('a/node_modules/b.js')).toBe(true);
    expect(isInSkippedDirectory('dist/a.test.js')).toBe(true);
    expect(isInSkippedDirectory('src/dist.test.js')).toBe(false);
  });
});

describe('testSupportRoot', () => {
  it.each<[string, string | null]>([
    ['test/golden/sum.txt', 'test'],
    ['pkg/tests/helpers.py', 'pkg/tests'],
    ['tests/fixtures/cases.json', 'tests'],
    ['src/__snapshots__/view.test.js.snap', 'src'],
    ['__snapshots__/view.test.js.snap', '.'],
    ['pkg/testdata/input.txt', 'pkg'],
  ])('a file of a test directory that is no test file serves the tests there: %s', (path, root) => {
    expect(testSupportRoot(path)).toBe(root);
  });

  it.each([
    'test/math.test.js',
    'test/helpers.js',
    'tests/test_calc.py',
    'src/math.js',
    'README.md',
    'node_modules/x/test/data.json',
  ])('any other file serves no tests: %s', (path) => {
    expect(testSupportRoot(path)).toBeNull();
  });
});
