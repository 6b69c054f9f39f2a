import type { TestCaseResult } from 'src/test-runner';
import type { TestFileChange } from 'src/orchestrator/run/test-weakening';

/**
 * SKIPPED NEW TESTS: a new test must run and pass. One skipped or expected to fail (pytest's
 * `skip`, `skipif` and `xfail`, unittest's `skip` and `expectedFailure`, jest's and vitest's
 * `test.skip` and `test.todo`, libtest's `#[ignore]`) proves nothing of the change, and passes
 * beside one that proves little: an `xfail` on the test of the value next to one that checks only
 * that a name exists. New are every test of a file the change created, and, in an existing
 * Python or Rust test file the agent added to, a test whose name its base commit's version does
 * not hold: a test skipped there at the base commit is not the change's, and what the change did
 * to the existing tests is the weakening check's (`test-weakening.ts`). A jest or vitest case is
 * named by its titles, which its file need not hold as one string, so there only created files
 * count.
 */

/** unittest's verdict line for a file when it skipped tests or expected some to fail. */
const UNITTEST_NOT_RUN = /^(?:OK|FAILED) \([^)]*\b(?:skipped|expected failures)=\d+/m;

/** The generated test files and what the change did to them, as the verification sees it. */
export interface GeneratedFiles {
  /** Those the change created. */
  created: Set<string>;
  /** Existing test files the change modified, by path: their text at the base commit. */
  before: Map<string, string>;
}

/**
 * Of the generated test `files`, those the change created (not test files of the base commit it
 * modified or renamed to: `changes`, from the base checkout), and the base commit's text of those
 * it modified. Nothing without a base commit (`hasBase`): there nothing tells a new file from an
 * old one.
 */
export function generatedFiles(
  files: readonly string[],
  changes: readonly TestFileChange[],
  hasBase: boolean,
): GeneratedFiles {
  if (!hasBase) return { created: new Set(), before: new Map() };
  const before = new Map<string, string>();
  const renamedTo = new Set<string>();
  for (const change of changes) {
    if (change.status === 'modified' && change.before !== '')
      before.set(change.path, change.before);
    if (change.status === 'renamed') renamedTo.add(change.newPath);
  }
  const created = files.filter((file) => !before.has(file) && !renamedTo.has(file));
  return { created: new Set(created), before };
}

/**
 * Whether the test `name` (pytest's function, `test_x[1-2]` with its parameters; libtest's path,
 * `tests::mul_big`) of the Python or Rust file `path` is missing from `before`, the file at the
 * base commit: a test the change added. False for any other file.
 */
function addedTo(path: string, name: string, before: string): boolean {
  if (!/\.(?:py|rs)$/.test(path)) return false;
  const own =
    name
      .replace(/\[.*\]$/s, '')
      .split('::')
      .at(-1) ?? '';
  if (!/^\w+$/.test(own)) return false;
  return !new RegExp(`\\b${own}\\b`).test(before);
}

/**
 * The cases of a generated run that did not run and are new (`generated`): skipped (what a report
 * marks skipped, xfail included), or a created file whose unittest verdict line counts skipped
 * tests or expected failures.
 */
export function skippedNewTests(
  cases: readonly TestCaseResult[],
  generated: GeneratedFiles,
): TestCaseResult[] {
  return cases.filter((c) => {
    if (c.filePath === null) return false;
    if (generated.created.has(c.filePath)) {
      return (
        c.status === 'skipped' ||
        (c.name === c.filePath && c.status === 'passed' && UNITTEST_NOT_RUN.test(c.output))
      );
    }
    const before = generated.before.get(c.filePath);
    return c.status === 'skipped' && before !== undefined && addedTo(c.filePath, c.name, before);
  });
}
