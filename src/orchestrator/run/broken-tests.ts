import { TestRunReport } from 'src/test-runner';

/**
 * BROKEN EXISTING TESTS: of the base commit's versions of the existing tests the change edited,
 * run against the change (`onChange`) and at the base commit (`atBase`), those the change breaks.
 * Pure. A test that passed at the base commit and fails or errors against the change, by file and
 * name; and a file whose tests all passed at the base commit (none failed there) that errors
 * against the change under a name the base run did not have, no parametrised case (`[...]` in
 * it): a module that no longer loads (pytest's collection error names the module, not its tests),
 * or a command that failed with no test failing. Not a new case that fails: a test parametrised
 * over what the code under test lists gains a case with the change, which the base version of
 * the test cannot pass. A run against the change that timed out tells nothing of this kind.
 */
export function brokenTests(onChange: TestRunReport, atBase: TestRunReport): string[] {
  const key = (c: { filePath: string | null; name: string }): string =>
    `${c.filePath ?? ''}\0${c.name}`;
  const bad = (status: string): boolean => status === 'failed' || status === 'error';
  const passed = new Set(atBase.cases.filter((c) => c.status === 'passed').map(key));
  const seen = new Set(atBase.cases.map(key));
  const sound = new Set(
    atBase.cases.filter((c) => c.status === 'passed').map((c) => c.filePath ?? ''),
  );
  for (const c of atBase.cases) if (bad(c.status)) sound.delete(c.filePath ?? '');
  return onChange.cases
    .filter(
      (c) =>
        bad(c.status) &&
        (passed.has(key(c)) ||
          (!onChange.timedOut &&
            c.status === 'error' &&
            !c.name.includes('[') &&
            !seen.has(key(c)) &&
            sound.has(c.filePath ?? ''))),
    )
    .map((c) => c.name);
}
