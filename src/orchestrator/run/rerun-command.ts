import { basename } from 'node:path';
import { pytestArgsStart, type TestOutputSummary } from 'src/test-runner';

/** The output format the failing tests' names were read from (`summarizeTestOutput`). */
export type NamedFormat = TestOutputSummary['format'];

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The dotted id of a unittest failure name, `test_x (pkg.mod.Class.test_x)`. */
function unittestId(name: string): string | null {
  return /\(([\w.]+)\)\s*$/.exec(name)?.[1] ?? null;
}

/**
 * THE FAILING REGRESSION TESTS ALONE: the regression command narrowed to the tests `names`, for
 * the tools that can (`node --test` by name pattern, `python -m unittest` by test id, pytest by
 * node id), or null when the command cannot be narrowed (then the whole command runs again).
 */
export function rerunArgv(
  argv: readonly string[],
  format: NamedFormat,
  names: readonly string[],
): string[] | null {
  if (names.length === 0) return null;
  const program = basename(argv[0] ?? '');
  switch (format) {
    case 'tap': {
      const at = argv.indexOf('--test');
      if (!/^node(js)?$/.test(program) || at < 0) return null;
      const pattern = `--test-name-pattern=^(${names.map(escapeRegex).join('|')})$`;
      return [...argv.slice(0, at + 1), pattern, ...argv.slice(at + 1)];
    }
    case 'unittest': {
      if (!/^python[\d.]*$/.test(program) || argv[1] !== '-m' || argv[2] !== 'unittest') {
        return null;
      }
      const rest = argv.slice(3);
      if (rest.includes('discover')) return null;
      const ids = names.map(unittestId);
      // A module that did not load is named by the loader (`unittest.loader._FailedTest...`), not
      // by a test id to run: the whole command runs again.
      if (ids.some((id) => id === null || id.startsWith('unittest.loader.'))) return null;
      return [...argv.slice(0, 3), ...rest.filter((a) => a.startsWith('-')), ...(ids as string[])];
    }
    case 'pytest': {
      const pytest = pytestArgsStart(argv);
      if (pytest === 0 || argv.slice(pytest).some((a) => !a.startsWith('-'))) return null;
      return [...argv, ...names];
    }
    case 'cargo':
    case 'jest':
    case 'vitest':
      // Names no filter of the tool selects alone (cargo's are read without their test binary,
      // jest's and vitest's are file and title): the whole command.
      return null;
  }
}
