import type { TestCaseResult } from 'src/test-runner';
import type { TestFileChange } from 'src/orchestrator/run/test-weakening';

/**
 * SKIPPED NEW TESTS: a test in a file the change created must run and pass. One skipped or
 * expected to fail (pytest's `skip`, `skipif` and `xfail`, unittest's `skip` and
 * `expectedFailure`, jest's and vitest's `test.skip` and `test.todo`, libtest's `#[ignore]`)
 * proves nothing of the change, and passes beside one that proves little: an `xfail` on the test
 * of the value next to one that checks only that a name exists. Only files the change created
 * count: an existing test file the agent added to may hold tests skipped at the base commit, and
 * what the change did to those is the weakening check's (`test-weakening.ts`).
 */

/** unittest's verdict line for a file when it skipped tests or expected some to fail. */
const UNITTEST_NOT_RUN = /^(?:OK|FAILED) \([^)]*\b(?:skipped|expected failures)=\d+/m;

/**
 * Of the generated test `files`, those the change created: not test files of the base commit it
 * modified or renamed (`changes`, from the base checkout). Empty without a base commit
 * (`hasBase`): there nothing tells a new file from an old one.
 */
export function createdTestFiles(
  files: readonly string[],
  changes: readonly TestFileChange[],
  hasBase: boolean,
): Set<string> {
  if (!hasBase) return new Set();
  const existing = new Set<string>();
  for (const change of changes) {
    if (change.status === 'modified' && change.before !== '') existing.add(change.path);
    if (change.status === 'renamed') existing.add(change.newPath);
  }
  return new Set(files.filter((file) => !existing.has(file)));
}

/**
 * The cases of a generated run, in the `created` files, that did not run: skipped (what a report
 * marks skipped, xfail included), or a file whose unittest verdict line counts skipped tests or
 * expected failures.
 */
export function skippedNewTests(
  cases: readonly TestCaseResult[],
  created: ReadonlySet<string>,
): TestCaseResult[] {
  return cases.filter(
    (c) =>
      c.filePath !== null &&
      created.has(c.filePath) &&
      (c.status === 'skipped' ||
        (c.name === c.filePath && c.status === 'passed' && UNITTEST_NOT_RUN.test(c.output))),
  );
}
