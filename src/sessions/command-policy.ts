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
  const inline = inlineCodeRefusal(name, argv.slice(1));
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
