import { basename } from 'node:path';
import type { TestCaseStatus } from 'src/test-runner/command-end';
import { parseJunitXml } from 'src/test-runner/junit-report';

/**
 * A REGRESSION RUN'S TESTS BY ID, FROM A REPORT THE SERVER ASKED FOR. The regression command is
 * the session's, run as given; where it is pytest's (`pytest ...`, `python -m pytest ...`), the
 * server adds `--junitxml=<a file of its own>` to it and reads each test's node id and outcome
 * from that report rather than from the terminal output, which a `conftest.py` can reshape (no
 * `FAILED` lines, no summary) and which names no test that passed. With every test named, an
 * existing test the change stops running (ignored, deselected, skipped) is missed by name, however
 * many new tests run in its place. `python -m unittest` is run verbose (`-v` added): its lines then
 * name every test it ran (`unittestNames` in `test-output-summary.ts` reads them).
 */

/** One test of a regression run, by the id its tool selects it by (pytest's node id). */
export interface RegressionTest {
  id: string;
  status: TestCaseStatus;
}

/**
 * Where pytest's own arguments start in `argv` (1 for `pytest ...`, 3 for `python -m pytest
 * ...`), or 0 when `argv` is no pytest command the server recognises.
 */
export function pytestArgsStart(argv: readonly string[]): number {
  const program = basename(argv[0] ?? '');
  if (program === 'pytest') return 1;
  return /^python[\d.]*$/.test(program) && argv[1] === '-m' && argv[2] === 'pytest' ? 3 : 0;
}

/**
 * Whether `argv` writes a JUnit report of its own (its `--junitxml` would win over the server's:
 * pytest keeps the last) or turns pytest's JUnit plugin off (`-p no:junitxml`: the server's
 * option would then be one pytest does not know, and every run would fail).
 */
function ownJunitSetting(argv: readonly string[]): boolean {
  return argv.some(
    (arg, i) =>
      /^--junit-?xml(=|$)/.test(arg) ||
      arg === '-pno:junitxml' ||
      (arg === 'no:junitxml' && argv[i - 1] === '-p'),
  );
}

/**
 * `argv` asked to write its JUnit report to `reportPath`, in the `xunit1` family (the one that
 * names each test's file, from which its node id is made), or null when `argv` is no pytest
 * command or has a JUnit setting of its own (`ownJunitSetting`; then its output is read). The
 * options go first, before any the session's command gives: a `--` later on, or a test path, is
 * left as it was.
 */
export function withJunitReport(argv: readonly string[], reportPath: string): string[] | null {
  const start = pytestArgsStart(argv);
  if (start === 0 || ownJunitSetting(argv)) return null;
  return [
    ...argv.slice(0, start),
    `--junitxml=${reportPath}`,
    '-o',
    'junit_family=xunit1',
    ...argv.slice(start),
  ];
}

/**
 * `argv` with `-v` added at its end where it is `python -m unittest ...` without it, so that its
 * output names each test it runs (at the end, where both unittest's own options and `discover`'s
 * take it); null when `argv` is no such command.
 */
export function unittestVerbose(argv: readonly string[]): string[] | null {
  const program = basename(argv[0] ?? '');
  if (!/^python[\d.]*$/.test(program) || argv[1] !== '-m' || argv[2] !== 'unittest') return null;
  if (argv.includes('--')) return null;
  return argv.includes('-v') || argv.includes('--verbose') ? [...argv] : [...argv, '-v'];
}

/**
 * A pytest node id from a JUnit case: `file::Class::name` from its `file` (`tests/test_calc.py`)
 * and `classname` (`tests.test_calc.TestCalc`); a module that failed to be collected is its file
 * alone, as pytest's `ERROR tests/test_x.py` names it. A test a class inherits from another
 * module has that module's `file` (where the function is written) and its own class's
 * `classname`: its module is then read from the classname, up to its first part that starts in
 * upper case (a class), so each class that inherits it keeps an id of its own.
 */
function nodeId(file: string | null, classname: string | null, name: string): string {
  if (file === null) return [classname, name].filter((part) => part).join('::');
  if (classname === null || classname === '') return file;
  const module = file.replace(/\.py$/, '').split('/').join('.');
  if (classname === module) return [file, name].join('::');
  if (classname.startsWith(`${module}.`)) {
    return [file, ...classname.slice(module.length + 1).split('.'), name].join('::');
  }
  const parts = classname.split('.');
  const firstClass = parts.findIndex((part) => /^[A-Z]/.test(part));
  if (firstClass <= 0) return [classname, name].join('::');
  return [`${parts.slice(0, firstClass).join('/')}.py`, ...parts.slice(firstClass), name].join(
    '::',
  );
}

/**
 * The tests of a pytest JUnit report by node id, or null when it cannot be read (then the run's
 * output is all there is).
 */
export function pytestReportTests(xml: string): RegressionTest[] | null {
  try {
    return parseJunitXml(xml).map((c) => ({
      id: nodeId(c.file, c.classname, c.name),
      status: c.status,
    }));
  } catch {
    return null;
  }
}
