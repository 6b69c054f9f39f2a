import { basename } from 'node:path';
import { isAdmin, Principal } from 'src/access';
import { DomainError, ErrorCode } from 'src/common';
import { splitCommandLine } from 'src/test-runner';

/** A session's commands by field name (a field that is null names no command). */
export type CommandFields = Record<string, string | null>;

/** Programs that run another program or a script given on the command line; never for non-admins. */
const LAUNCHERS = new Set([
  'env',
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'mksh',
  'fish',
  'csh',
  'tcsh',
  'busybox',
  'sudo',
  'su',
  'doas',
  'xargs',
  'nohup',
  'nice',
  'timeout',
  'setsid',
  'stdbuf',
  'chroot',
  'unshare',
  'nsenter',
  'script',
  'strace',
  'gdb',
]);

/**
 * Options that make an allowed program run code written into the command itself, or another
 * program: by program family, long options (also as `--opt=value`) and short option letters
 * (also inside a cluster such as `-pe` or `-Bc`, or followed by their value, `-c'code'`; a
 * cluster is read up to a letter in `valued`, an option whose value follows: `-Xdev`). Arguments
 * are checked up to `stopAt`, where the program's own options end (`python3 -m pytest -c
 * pytest.ini` passes `-c` to pytest).
 */
const INLINE_CODE: {
  programs: RegExp;
  long: string[];
  short: string;
  valued?: string;
  stopAt?: RegExp;
}[] = [
  {
    programs: /^(node|nodejs|bun|deno)$/,
    long: [
      '--eval',
      '--print',
      '--require',
      '--import',
      '--loader',
      '--experimental-loader',
      '--interactive',
      '--env-file',
    ],
    short: 'epri',
    valued: 'C',
  },
  { programs: /^python[0-9.]*$/, long: [], short: 'c', valued: 'WXm', stopAt: /^-[A-Za-z]*m$/ },
  { programs: /^(perl|ruby|php|lua|Rscript)$/, long: ['--eval'], short: 'eEr' },
  {
    programs: /^(npm|npx|pnpm|yarn)$/,
    long: ['--call', '--script-shell', '--node-options', '--shell'],
    short: 'c',
  },
  { programs: /^go$/, long: ['-exec', '-toolexec'], short: '' },
  { programs: /^cargo$/, long: ['--config'], short: '' },
];

/**
 * Modules `python -m` may run for a key that is not admin: test runners and the installer. Others
 * run code given as their arguments (`timeit`, `pdb -c`, `trace`, `cProfile`, `code`, `runpy`) or
 * serve the machine (`http.server`, `pydoc -p`).
 */
const PYTHON_MODULES = new Set(['pytest', 'unittest', 'doctest', 'pip']);

/** Node's options that open a debugger: whoever reaches its port runs code in the process. */
const NODE_DEBUGGER = /^--(inspect|debug)(-brk|-port|-wait|-publish-uid)?(=|$)/;

/**
 * Installer verbs that take packages to install: a package named on the command line is no
 * dependency the project declares, and its install scripts run (`npm install evil-pkg`). Installing
 * what the project declares (`npm ci`, `npm install`, `pip install -r requirements.txt`, `pip
 * install -e .`) is what a setup command is for.
 */
const INSTALLERS: { programs: RegExp; verbs: Set<string>; valued: Set<string> }[] = [
  {
    programs: /^(npm|pnpm|yarn|bun)$/,
    verbs: new Set(['install', 'i', 'add', 'ci', 'update', 'up', 'upgrade', 'install-test', 'it']),
    valued: new Set(['--prefix', '--workspace', '-w', '--filter', '--cwd']),
  },
  {
    programs: /^pip[0-9.]*$/,
    verbs: new Set(['install', 'download', 'wheel']),
    valued: new Set([
      '-r',
      '--requirement',
      '-c',
      '--constraint',
      '-e',
      '--editable',
      '-t',
      '--target',
      '--prefix',
      '--root',
    ]),
  },
];

/** A package argument that names a path of the project rather than a package to fetch. */
const isPath = (arg: string): boolean => arg === '.' || /^\.{0,2}\//.test(arg);

/** An option's value that fetches from elsewhere (`-r https://…`, `-e git+https://…`). */
const isRemote = (value: string): boolean => /:\/\/|^git\+/.test(value);

/**
 * Why `args` make installer `name` install a package named on the command line, or null. The
 * verb is the first argument that is not an option or an option's value (`pip --cache-dir /tmp
 * install`); `yarn global` is read through.
 */
function namedPackageRefusal(name: string, args: readonly string[]): string | null {
  const installer = INSTALLERS.find((i) => i.programs.test(name));
  if (installer === undefined) return null;
  const verbAt = args.findIndex(
    (arg, i) =>
      !arg.startsWith('-') &&
      arg !== 'global' &&
      (i === 0 || !args[i - 1].startsWith('-') || installer.verbs.has(arg)),
  );
  if (verbAt === -1 || !installer.verbs.has(args[verbAt])) return null;
  const refusal = (what: string) =>
    `"${name} ${args[verbAt]} ${what}" installs a package the project does not declare and is not accepted from this API key`;
  for (let i = verbAt + 1; i < args.length; i += 1) {
    const arg = args[i];
    const [option, inline] = arg.split('=', 2);
    if (installer.valued.has(option)) {
      const value = inline ?? args[(i += 1)] ?? '';
      if (isRemote(value)) return refusal(`${option} ${value}`);
      continue;
    }
    if (arg === '--' || arg.startsWith('-') || isPath(arg)) continue;
    return refusal(arg);
  }
  return null;
}

/** Why a `python -m` or node command runs code other than the project's tests, or null. */
function moduleRefusal(name: string, args: readonly string[]): string | null {
  if (/^(node|nodejs)$/.test(name)) {
    const debug = args.find((arg) => NODE_DEBUGGER.test(arg));
    return debug === undefined
      ? null
      : `"${name} ${debug.split('=')[0]}" opens a debugger through which anyone reaching it runs code, and is not accepted from this API key`;
  }
  if (!/^python[0-9.]*$/.test(name)) return null;
  for (let i = 0; i < args.length; i += 1) {
    // The script (`python3 tests/run.py -m slow`): what follows is its own.
    if (!args[i].startsWith('-') && !/^-[A-Za-z]*[WX]$/.test(args[i - 1] ?? '')) return null;
    // `-m` alone or ending a cluster (`-Im pytest`, `-mpytest`), not a letter of another option's
    // value (`-Ximporttime`): the cluster is read up to its first option that takes a value.
    const module = /^-([A-Za-z]*?)([WXm])(.*)$/.exec(args[i]);
    if (module === null || module[2] !== 'm') continue;
    const named = module[3] !== '' ? module[3] : args[i + 1];
    if (named !== undefined && !PYTHON_MODULES.has(named)) {
      return `"${name} -m ${named}" runs a module other than ${[...PYTHON_MODULES].join(', ')} and is not accepted from this API key`;
    }
    if (named === 'pip') {
      return namedPackageRefusal('pip', args.slice(i + (module[3] !== '' ? 1 : 2)));
    }
    return null;
  }
  return null;
}

/** How deep package runners may run package runners (`npx npx jest`) before that is refused. */
const MAX_RUNNER_DEPTH = 2;

/** Options a package runner may carry before the command it runs: none of them takes a value. */
const RUNNER_FLAGS = new Set([
  '--yes',
  '-y',
  '--no',
  '--no-install',
  '--quiet',
  '-q',
  '--silent',
  '-s',
]);

/** Verbs of npm and the like that run a command or script that is not the project's own. */
const FOREIGN_VERBS = new Set(['explore', 'init', 'create', 'innit']);

/**
 * What a package runner runs (`npx jest --ci`, `npm exec -- jest`, `pnpm dlx x`, `yarn node`): the
 * command from its name on; null for a command that is no package runner or runs the project's
 * own scripts (`npm test`); a refusal for anything it cannot be sure of (an option before the
 * command, which may take a value that would then be read as the command) or that runs a
 * foreign command (`npm explore`).
 */
function commandRun(name: string, args: readonly string[]): string[] | { refusal: string } | null {
  const runner = /^(npx|bunx)$/.test(name);
  if (!runner && !/^(npm|pnpm|yarn|bun)$/.test(name)) return null;
  const first = args.findIndex((arg) => !RUNNER_FLAGS.has(arg));
  if (first === -1) return null;
  const unsure = (option: string) => ({
    refusal: `"${name} ${option}" before the command it runs is not accepted from this API key`,
  });
  if (args[first].startsWith('-')) return unsure(args[first]);
  if (runner) return args.slice(first);
  const verb = args[first];
  if (FOREIGN_VERBS.has(verb)) {
    return { refusal: `"${name} ${verb}" runs commands that are not the project's` };
  }
  if (verb === 'node') return args.slice(first);
  if (!['exec', 'x', 'dlx'].includes(verb)) return null;
  const rest = args.slice(first + 1);
  const start = rest.findIndex((arg) => arg !== '--' && !RUNNER_FLAGS.has(arg));
  if (start === -1) return null;
  return rest[start].startsWith('-') ? unsure(rest[start]) : rest.slice(start);
}

/** Why `argv` may not run for a non-admin key, or null when it may. */
export function commandRefusal(argv: readonly string[], allowed: readonly string[]): string | null {
  const program = argv[0];
  if (!allowed.includes(program) && !LAUNCHERS.has(basename(program))) {
    return `"${program}" is not one of the allowed programs (${allowed.join(', ')})`;
  }
  return codeRefusal(argv, allowed, 0);
}

/** Why `args` make program `name` run code given on the command line (`INLINE_CODE`), or null. */
function inlineCodeRefusal(name: string, args: readonly string[]): string | null {
  const family = INLINE_CODE.find((f) => f.programs.test(name));
  if (family === undefined) return null;
  for (const arg of args) {
    if (arg === '--') break;
    const option = arg.split('=')[0];
    if (family.long.includes(option)) {
      return `"${name} ${option}" runs code given on the command line and is not accepted from this API key`;
    }
    // The letters an option cluster starts with: `-Bc`, and `-c'code'` or `-Ic1` too, up to an
    // option whose value follows (`-Xfrozen_modules=off`).
    const cluster = /^-([A-Za-z]+)/.exec(arg)?.[1] ?? '';
    const valued = [...cluster].findIndex((c) => family.valued?.includes(c));
    const letters = valued === -1 ? cluster : cluster.slice(0, valued + 1);
    const letter = [...letters].find((c) => family.short.includes(c));
    if (!arg.startsWith('--') && letter !== undefined) {
      return `"${name} -${letter}" runs code given on the command line and is not accepted from this API key`;
    }
    if (family.stopAt?.test(arg)) break;
  }
  return null;
}

/**
 * Why `argv` runs a launcher or code given on the command line, or null: its program, and, for a
 * package runner, the command it runs, which must be an allowed program itself (as far as `depth`
 * allows).
 */
function codeRefusal(
  argv: readonly string[],
  allowed: readonly string[],
  depth: number,
): string | null {
  const name = basename(argv[0]);
  if (LAUNCHERS.has(name)) {
    return `"${name}" runs other programs or scripts and is not accepted from this API key`;
  }
  const inline =
    inlineCodeRefusal(name, argv.slice(1)) ??
    moduleRefusal(name, argv.slice(1)) ??
    namedPackageRefusal(name, argv.slice(1));
  if (inline !== null) return inline;
  const run = commandRun(name, argv.slice(1));
  if (run === null) return null;
  if ('refusal' in run) return run.refusal;
  if (depth >= MAX_RUNNER_DEPTH) {
    return `"${name}" runs package runners within package runners and is not accepted from this API key`;
  }
  if (!allowed.includes(run[0]) && !LAUNCHERS.has(basename(run[0]))) {
    return `"${name}" runs "${run[0]}", which is not one of the allowed programs (${allowed.join(', ')})`;
  }
  return codeRefusal(run, allowed, depth + 1);
}

function fieldErrors(errors: { field: string; message: string }[]): Record<string, unknown> {
  return { errors: errors.map((e) => ({ field: e.field, errors: [e.message] })) };
}

/**
 * WHO MAY RUN WHAT. Every command field of a session (`test_command`, `regression_command`; one
 * more field is one more entry in the object the caller passes) must be runnable without a shell
 * (400 `validation_failed`, for everyone), and for keys that are not admin must name a program in
 * ALLOWED_COMMANDS that is neither a shell, `env` nor a launcher, without inline code
 * (403 `command_not_allowed`). Each error names its field.
 */
export function assertCommandsAllowed(
  commands: CommandFields,
  principal: Principal,
  allowed: readonly string[],
): void {
  const invalid: { field: string; message: string }[] = [];
  const refused: { field: string; message: string }[] = [];
  for (const [field, command] of Object.entries(commands)) {
    if (command === null) continue;
    let argv: string[];
    try {
      argv = splitCommandLine(command);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      invalid.push({ field, message: `${field}: ${err.message}` });
      continue;
    }
    const refusal = isAdmin(principal) ? null : commandRefusal(argv, allowed);
    if (refusal !== null) refused.push({ field, message: `${field}: ${refusal}` });
  }
  if (invalid.length > 0) {
    throw new DomainError(
      ErrorCode.ValidationFailed,
      `Invalid request: ${invalid.map((e) => e.message).join('; ')}`,
      fieldErrors(invalid),
    );
  }
  if (refused.length > 0) {
    throw new DomainError(
      ErrorCode.CommandNotAllowed,
      refused.map((e) => e.message).join('; '),
      fieldErrors(refused),
    );
  }
}
