import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCargoOutput, summarizeCargo } from 'src/test-runner/cargo-results';
import { cargoTestArgs, isRustSource, rustTestLocation } from 'src/test-runner/rust-test-files';
import { casesForFile } from 'src/test-runner/test-case-results';
import { CommandResult } from 'src/test-runner/test-command-runner';
import { summarizeTestOutput } from 'src/test-runner/test-output-summary';

/**
 * `cargo test` output as cargo 1.95 printed it for the rcalc fixture (src/lib.rs with inline tests
 * add_small and add_negative, tests/basic.rs with add_zero), stdout and stderr together, captured
 * into test/fixtures/cargo-output.
 */
const captured = (name: string): string =>
  readFileSync(join(__dirname, '../../test/fixtures/cargo-output', `${name}.txt`), 'utf8');

const FILE = 'tests/mul.rs';
const MAX = 64 * 1024;

function result(output: string, exitCode: number | null): CommandResult {
  return {
    argv: ['cargo', 'test', '--test', 'mul'],
    exitCode,
    signal: null,
    timedOut: false,
    durationMs: 300,
    output,
    outputBytes: output.length,
    spawnError: null,
  };
}

const cases = (name: string, exitCode: number) =>
  casesForFile(FILE, result(captured(name), exitCode), null, MAX, 'libtest').map((c) => [
    c.name,
    c.status,
  ]);

describe('a generated Rust test file run by cargo test --test <name> (libtest)', () => {
  it('one whose only test is #[ignore]d is an error, not a pass', () => {
    expect(cases('ignored-only', 0)).toEqual([
      ['mul_works', 'skipped'],
      [FILE, 'error'],
    ]);
  });

  it('one without a #[test] (running 0 tests) is an error', () => {
    expect(cases('no-tests', 0)).toEqual([[FILE, 'error']]);
    const [only] = casesForFile(FILE, result(captured('no-tests'), 0), null, MAX, 'libtest');
    expect(only.output).toMatch(/^No tests were found in this file\./);
  });

  it('gives a case per test, a failing one with its own failure output', () => {
    expect(cases('mixed-failing', 101)).toEqual([
      ['mul_big', 'skipped'],
      ['mul_works', 'failed'],
      ['mul_zero', 'passed'],
    ]);
    const failing = casesForFile(
      FILE,
      result(captured('mixed-failing'), 101),
      null,
      MAX,
      'libtest',
    )[1];
    expect(failing.output).toMatch(/^thread 'mul_works' .* panicked at tests\/mul\.rs:5:5:/);
    expect(failing.output).toContain('right: 12');
  });

  it('a file that does not compile fails as a whole', () => {
    expect(cases('compile-error', 101)).toEqual([[FILE, 'failed']]);
  });

  it('a run that exits 0 without libtest\'s "test result:" line is an error', () => {
    const [only] = casesForFile(FILE, result('Finished\n', 0), null, MAX, 'libtest');
    expect([only.name, only.status]).toEqual([FILE, 'error']);
    expect(only.output).toMatch(/without printing libtest's "test result:" line/);
  });

  it('passing tests pass', () => {
    const output = captured('mixed-failing')
      .replace('test mul_works ... FAILED', 'test mul_works ... ok')
      .replace('1 passed; 1 failed; 1 ignored', '2 passed; 0 failed; 1 ignored');
    expect(
      casesForFile(FILE, result(output, 0), null, MAX, 'libtest').map((c) => c.status),
    ).toEqual(['skipped', 'passed', 'passed']);
  });
});

describe('cargo test output as a regression suite (summarizeTestOutput)', () => {
  it('sums the test result lines over the binaries, names every test', () => {
    expect(summarizeTestOutput(captured('suite-pass'))).toEqual({
      format: 'cargo',
      total: 3,
      passed: 3,
      failed: 0,
      errored: 0,
      skipped: 0,
      deselected: 0,
      failing: [],
      names: ['add_zero', 'tests::add_negative', 'tests::add_small'],
    });
  });

  it('counts an #[ignore]d test as skipped', () => {
    expect(summarizeTestOutput(captured('suite-ignored'))).toMatchObject({
      total: 3,
      passed: 2,
      skipped: 1,
    });
  });

  it('names the tests that ran: an ignored one (a doctest made `ignore`) is not among them', () => {
    const output = [
      'running 1 test',
      'test tests::add_small ... ok',
      'test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s',
      'running 1 test',
      'test mul_works ... ok',
      'test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s',
      'running 1 test',
      'test src/lib.rs - add (line 3) ... ignored',
      'test result: ok. 0 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s',
    ].join('\n');
    expect(summarizeCargo(output)).toMatchObject({
      total: 3,
      skipped: 1,
      names: ['mul_works', 'tests::add_small'],
    });
  });

  it('names a doctest without its line, which a line added above it moves', () => {
    const run = (lines: number[], failing = -1): string =>
      lines
        .map(
          (line, i) =>
            `test src/lib.rs - add (line ${line}) ... ${i === failing ? 'FAILED' : 'ok'}`,
        )
        .concat(
          `test result: ok. ${lines.length} passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s`,
        )
        .join('\n');
    expect(summarizeCargo(run([3]))?.names).toEqual(['src/lib.rs - add']);
    expect(summarizeCargo(run([7]))?.names).toEqual(['src/lib.rs - add']);
    // Several on one item: numbered in the order of their lines (libtest sorts them as text).
    expect(summarizeCargo(run([12, 4]))?.names).toEqual([
      'src/lib.rs - add (#1)',
      'src/lib.rs - add (#2)',
    ]);
    expect(summarizeCargo(run([12, 4], 0))?.failing).toEqual(['src/lib.rs - add (#2)']);
  });

  it('names the failing tests (cargo stops at the first failing binary)', () => {
    expect(summarizeTestOutput(captured('suite-unit-failing'))).toMatchObject({
      total: 2,
      passed: 1,
      failed: 1,
      failing: ['tests::add_negative'],
      names: ['tests::add_negative', 'tests::add_small'],
    });
    expect(summarizeTestOutput(captured('suite-unit-failing-no-fail-fast'))).toMatchObject({
      total: 3,
      failed: 1,
      failing: ['tests::add_negative'],
    });
  });

  it('a build error counts no tests', () => {
    expect(summarizeTestOutput(captured('compile-error'))).toBeNull();
  });

  it('names no tests when a name is in two binaries or a line is missing', () => {
    const output = [
      '     Running unittests src/lib.rs (/t/debug/deps/app-71ce70495b798487)',
      'running 1 test',
      'test tests::one ... ok',
      'test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s',
      '     Running unittests src/lib.rs (/t/debug/deps/core-839531897d783303)',
      'running 1 test',
      'test tests::two ... ok',
      'test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 2 filtered out; finished in 0.00s',
      '   Doc-tests app',
      'running 1 test',
      'test src/lib.rs - doc (line 2) ... ok',
      'test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.12s',
    ].join('\n');
    expect(summarizeCargo(output)).toMatchObject({
      total: 3,
      deselected: 0,
      names: ['src/lib.rs - doc', 'tests::one', 'tests::two'],
    });
    expect(summarizeCargo(output.replace('tests::two', 'tests::one'))).toMatchObject({
      total: 3,
      names: null,
    });
    const cut = output.replace('test tests::one ... ok\n', '');
    expect(summarizeCargo(cut)).toMatchObject({ total: 3, names: null });
    expect(parseCargoOutput('running 0 tests\n')).toBeNull();
  });
});

describe('Rust test files', () => {
  it.each([
    ['tests/mul.rs', { crateDir: '', target: 'mul' }, ['--test', 'mul']],
    ['tests/cli/main.rs', { crateDir: '', target: 'cli' }, ['--test', 'cli']],
    ['tests/common/mod.rs', { crateDir: '', target: null }, ['--tests']],
    [
      'crates/core/tests/mul.rs',
      { crateDir: 'crates/core', target: 'mul' },
      ['--manifest-path', 'crates/core/Cargo.toml', '--test', 'mul'],
    ],
  ])('%s is a test file of its package', (file, location, args) => {
    expect(rustTestLocation(file.split('/'))).toEqual(location);
    expect(cargoTestArgs(file)).toEqual(args);
    expect(isRustSource(file)).toBe(false);
  });

  it.each(['src/lib.rs', 'src/tests/mod.rs', 'crates/core/src/lib.rs', 'tests'])(
    '%s is not',
    (file) => {
      expect(rustTestLocation(file.split('/'))).toBeNull();
    },
  );
});
