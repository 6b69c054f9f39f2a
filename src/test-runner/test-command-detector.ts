import { existsSync, readdirSync } from 'fs';
import { basename, join } from 'path';
import { readChildFile } from 'src/process';
import { formatCommandLine, splitCommandLine } from 'src/test-runner/command-line';
import { scriptConfigOption } from 'src/test-runner/js-test-config';
import { cargoTestArgs } from 'src/test-runner/rust-test-files';
import { TestEcosystem } from 'src/test-runner/test-file-patterns';

/**
 * How a project's tests are run, decided from its files (or from the session's `test_command`).
 *
 * Detection order: a `package.json` with a real `scripts.test` (its runner recognised: `node
 * --test`, jest, vitest, else `npm test`); a `Cargo.toml` at the top → `cargo test`, unless pytest
 * is configured (below: a mixed Rust and Python project runs its Python tests), whatever other
 * Python files there are (a script, a `requirements.txt`); Python (packaging files, or `.py` files
 * at the top or in `tests/`), with pytest config (`pytest.ini`, `conftest.py`, `[tool.pytest...]` in
 * `pyproject.toml`, `[tool:pytest]` in `setup.cfg`, `[pytest]` in `tox.ini`) → pytest, otherwise
 * `python3 -m unittest`; `go.mod` → `go test`; a `package.json` without a test script → jest/vitest when installed, else
 * `node --test`.
 */
export type TestFramework =
  | 'node-test'
  | 'jest'
  | 'vitest'
  | 'npm-test'
  | 'pytest'
  | 'unittest'
  | 'go-test'
  | 'cargo-test'
  | 'custom';

export interface TestCommandPlan {
  ecosystem: TestEcosystem;
  framework: TestFramework;
  /** Runs the whole suite. */
  suiteArgv: string[];
  /** Prefix used to run given test files; `argvForFile` adds the file (and report options). */
  fileArgv: string[];
  /** For prompts: how generated tests are run, e.g. `node --test <test file>`. */
  display: string;
  /** For prompts: the framework's conventions. */
  conventions: string;
  /** The command came from the session's `test_command`. */
  custom: boolean;
}

/** One command to run, for one test file. */
export interface FileInvocation {
  argv: string[];
  file: string;
  /** Where the tool writes its report (JUnit XML unless `reportFormat` says), or null: none. */
  junitPath: string | null;
  /** The report's format when it is not JUnit XML: jest's JSON (jest's and vitest's `--json`). */
  reportFormat?: 'jest-json';
}

const PLACEHOLDER_NPM_TEST = /no test specified/;

interface PackageJson {
  scripts?: Record<string, unknown>;
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
}

/** Most of a project's configuration file read (package.json, pyproject.toml, ...). */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * A project configuration file, read as the server's user without following a symbolic link: the
 * agent writes the project, and must not make the server read another file for it.
 */
function readText(file: string): string | null {
  return readChildFile(file, MAX_CONFIG_BYTES);
}

function readPackageJson(projectPath: string): PackageJson | null {
  const text = readText(join(projectPath, 'package.json'));
  if (text === null) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as PackageJson) : {};
  } catch {
    return {};
  }
}

function hasDependency(pkg: PackageJson, name: string): boolean {
  return (
    (pkg.dependencies !== undefined && name in pkg.dependencies) ||
    (pkg.devDependencies !== undefined && name in pkg.devDependencies)
  );
}

function localBin(projectPath: string, name: string): string | null {
  const bin = join(projectPath, 'node_modules', '.bin', name);
  return existsSync(bin) ? bin : null;
}

function usesPytest(projectPath: string): boolean {
  if (existsSync(join(projectPath, 'pytest.ini'))) return true;
  if (existsSync(join(projectPath, 'conftest.py'))) return true;
  if (existsSync(join(projectPath, 'tests', 'conftest.py'))) return true;
  if (/^\[tool\.pytest/m.test(readText(join(projectPath, 'pyproject.toml')) ?? '')) return true;
  if (/^\[tool:pytest\]/m.test(readText(join(projectPath, 'setup.cfg')) ?? '')) return true;
  return /^\[pytest\]/m.test(readText(join(projectPath, 'tox.ini')) ?? '');
}

function hasPythonFiles(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => name.endsWith('.py'));
  } catch {
    return false;
  }
}

/** Python packaging or test config, or plain `.py` files at the top or in `tests/`. */
function isPythonProject(projectPath: string): boolean {
  const markers = [
    'pyproject.toml',
    'setup.py',
    'setup.cfg',
    'requirements.txt',
    'pytest.ini',
    'tox.ini',
  ];
  return (
    markers.some((f) => existsSync(join(projectPath, f))) ||
    hasPythonFiles(projectPath) ||
    hasPythonFiles(join(projectPath, 'tests'))
  );
}

const CONVENTIONS: Record<Exclude<TestFramework, 'custom'>, string> = {
  'node-test':
    "Use the built-in node:test runner with node:assert; name test files *.test.js (match the project's module style) in the existing test folder.",
  jest: 'Use Jest (describe/it/expect); name test files *.test.js or *.test.ts next to the existing tests.',
  vitest:
    'Use Vitest (import { describe, it, expect } from "vitest"); name test files *.test.ts or *.test.js next to the existing tests.',
  'npm-test':
    "Use the framework the project's `npm test` script runs; name test files like the existing ones.",
  pytest: 'Use pytest (plain assert statements, fixtures); name test files tests/test_*.py.',
  unittest:
    'Use the standard unittest module (classes deriving from unittest.TestCase); name test files tests/test_*.py.',
  'go-test':
    'Use the testing package; put TestXxx functions in *_test.go files in the package directory.',
  'cargo-test': 'Use #[test] functions; put integration tests in tests/*.rs.',
};

function plan(
  ecosystem: TestEcosystem,
  framework: Exclude<TestFramework, 'custom'>,
  suiteArgv: string[],
  fileArgv: string[],
): TestCommandPlan {
  return {
    ecosystem,
    framework,
    suiteArgv,
    fileArgv,
    display: `${formatCommandLine(fileArgv)} <test file>`,
    conventions: CONVENTIONS[framework],
    custom: false,
  };
}

function nodePlan(projectPath: string, pkg: PackageJson): TestCommandPlan {
  const script = typeof pkg.scripts?.test === 'string' ? pkg.scripts.test : '';
  const realScript = script.trim() !== '' && !PLACEHOLDER_NPM_TEST.test(script);
  const jest = localBin(projectPath, 'jest');
  const vitest = localBin(projectPath, 'vitest');
  if (realScript && /\bnode\b[^&|;]*--test\b/.test(script)) {
    return plan('node', 'node-test', ['npm', 'test'], ['node', '--test']);
  }
  const mentionsJest = /\bjest\b/.test(script) || (!realScript && hasDependency(pkg, 'jest'));
  const mentionsVitest = /\bvitest\b/.test(script) || (!realScript && hasDependency(pkg, 'vitest'));
  // The runner is run on each file directly, with the configuration the script names.
  const config = scriptConfigOption(script);
  const withConfig = config === null ? [] : ['--config', config];
  if (mentionsVitest && vitest !== null) {
    const fileArgv = [vitest, 'run', ...withConfig];
    return plan('node', 'vitest', realScript ? ['npm', 'test'] : [vitest, 'run'], fileArgv);
  }
  if (mentionsJest && jest !== null) {
    const fileArgv = [jest, ...withConfig, '--runTestsByPath'];
    return plan('node', 'jest', realScript ? ['npm', 'test'] : [jest], fileArgv);
  }
  if (realScript) return plan('node', 'npm-test', ['npm', 'test'], ['npm', 'test', '--']);
  return plan('node', 'node-test', ['node', '--test'], ['node', '--test']);
}

function pythonPlan(projectPath: string): TestCommandPlan {
  if (usesPytest(projectPath)) {
    return plan('python', 'pytest', ['python3', '-m', 'pytest'], ['python3', '-m', 'pytest']);
  }
  return plan('python', 'unittest', ['python3', '-m', 'unittest'], ['python3', '-m', 'unittest']);
}

function cargoPlan(): TestCommandPlan {
  return plan('rust', 'cargo-test', ['cargo', 'test'], ['cargo', 'test']);
}

/** Detects how to run the project's tests from its files; null when nothing is recognised. */
export function detectTestCommand(projectPath: string): TestCommandPlan | null {
  const pkg = readPackageJson(projectPath);
  const script = typeof pkg?.scripts?.test === 'string' ? pkg.scripts.test : '';
  if (pkg !== null && script.trim() !== '' && !PLACEHOLDER_NPM_TEST.test(script)) {
    return nodePlan(projectPath, pkg);
  }
  // A Rust project with a script or a requirements.txt beside it is still a Rust project; one that
  // configures pytest (a mixed PyO3/maturin project) runs its Python tests.
  const cargo = existsSync(join(projectPath, 'Cargo.toml'));
  if (cargo && !usesPytest(projectPath)) return cargoPlan();
  if (isPythonProject(projectPath) || usesPytest(projectPath)) return pythonPlan(projectPath);
  if (existsSync(join(projectPath, 'go.mod'))) {
    return plan('go', 'go-test', ['go', 'test', './...'], ['go', 'test']);
  }

  if (pkg !== null) return nodePlan(projectPath, pkg);
  return null;
}

/** A plan for test files of a project nothing was detected for, chosen by the files' type. */
export function planForFiles(
  projectPath: string,
  files: readonly string[],
): TestCommandPlan | null {
  if (files.length > 0 && files.every((f) => f.endsWith('.py'))) return pythonPlan(projectPath);
  if (files.length > 0 && files.every((f) => /\.(c|m)?js$/.test(f))) {
    return plan('node', 'node-test', ['node', '--test'], ['node', '--test']);
  }
  return null;
}

function recogniseFramework(argv: readonly string[]): Exclude<TestFramework, 'custom'> | null {
  const program = basename(argv[0] ?? '');
  if (argv.some((a) => a.startsWith('--test-reporter') || a.startsWith('--junitxml'))) return null;
  if (/^node(js)?$/.test(program) && argv.includes('--test')) return 'node-test';
  if (program === 'pytest' || program === 'py.test') return 'pytest';
  if (program === 'cargo' && argv[1] === 'test' && !argv.includes('--')) return 'cargo-test';
  if (/^python(3(\.\d+)?)?$/.test(program)) {
    const m = argv.indexOf('-m');
    if (m >= 0 && argv[m + 1] === 'pytest') return 'pytest';
    if (m >= 0 && argv[m + 1] === 'unittest') return 'unittest';
  }
  return null;
}

/**
 * A plan from a session's `test_command` (split without a shell; see `splitCommandLine`). Test
 * files are appended to it as separate arguments. `node --test ...`, pytest and unittest commands
 * are recognised so that JUnit reports give per-case results (unless the command already chooses
 * its own reporter).
 */
export function planFromCommand(commandLine: string, ecosystem: TestEcosystem): TestCommandPlan {
  const argv = splitCommandLine(commandLine);
  const recognised = recogniseFramework(argv);
  return {
    ecosystem,
    framework: recognised ?? 'custom',
    suiteArgv: argv,
    fileArgv: argv,
    display: `${formatCommandLine(argv)} <test file>`,
    conventions:
      recognised !== null
        ? CONVENTIONS[recognised]
        : 'Name and place test files like the existing tests.',
    custom: true,
  };
}

/** A file path as a command argument: never readable as an option. */
export function fileArgument(file: string): string {
  return file.startsWith('-') ? `./${file}` : file;
}

/**
 * The command running one test file. `junitPath` is where a JUnit report should go (outside the
 * project); it is used for `node --test` and pytest, and (as `.json`) for jest's and vitest's
 * JSON results; the others report per file by exit code.
 */
export function argvForFile(
  plan: TestCommandPlan,
  file: string,
  junitPath: string,
): FileInvocation {
  const arg = fileArgument(file);
  switch (plan.framework) {
    case 'node-test':
      return {
        argv: [
          ...plan.fileArgv,
          '--test-reporter=spec',
          '--test-reporter-destination=stdout',
          '--test-reporter=junit',
          `--test-reporter-destination=${junitPath}`,
          arg,
        ],
        file,
        junitPath,
      };
    case 'pytest':
      return {
        argv: [
          ...plan.fileArgv,
          '-p',
          'no:cacheprovider',
          '-o',
          'junit_family=xunit1',
          `--junitxml=${junitPath}`,
          arg,
        ],
        file,
        junitPath,
      };
    case 'unittest':
      return {
        argv: [...plan.fileArgv, arg.startsWith('./') ? arg : `./${arg}`],
        file,
        junitPath: null,
      };
    case 'go-test': {
      const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
      return { argv: [...plan.fileArgv, `./${dir === '.' ? '' : dir}`], file, junitPath: null };
    }
    case 'cargo-test':
      return { argv: [...plan.fileArgv, ...cargoTestArgs(file)], file, junitPath: null };
    case 'jest': {
      // Jest's own JSON results (no reporter package of the project needed): `jest-results.ts`.
      const reportPath = junitPath.replace(/\.xml$/, '.json');
      return {
        argv: [...plan.fileArgv, '--json', `--outputFile=${reportPath}`, arg],
        file,
        junitPath: reportPath,
        reportFormat: 'jest-json',
      };
    }
    case 'vitest': {
      // Vitest's built-in json reporter (jest's shape) beside its default one for the output.
      const reportPath = junitPath.replace(/\.xml$/, '.json');
      return {
        argv: [
          ...plan.fileArgv,
          '--reporter=default',
          '--reporter=json',
          `--outputFile.json=${reportPath}`,
          arg,
        ],
        file,
        junitPath: reportPath,
        reportFormat: 'jest-json',
      };
    }
    case 'npm-test':
    case 'custom':
      return { argv: [...plan.fileArgv, arg], file, junitPath: null };
  }
}
