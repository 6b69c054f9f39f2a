import { DomainError, ErrorCode } from 'src/common';

/**
 * Splits a session's `test_command` / `regression_command` into an argv array. The result is run
 * WITHOUT a shell, so the grammar is a small, explicit subset of POSIX shell words:
 *
 * - words are separated by spaces or tabs;
 * - `'single quotes'` keep everything literally;
 * - `"double quotes"` keep everything literally except `\"` and `\\`;
 * - outside quotes a backslash escapes the next character (`a\ b` is one word `a b`);
 * - `''` or `""` gives an empty argument.
 *
 * Anything a shell would have interpreted is REJECTED with a `DomainError`
 * (`validation_failed`) instead of being passed on silently, because without a shell it would not
 * do what the author meant: outside quotes `|`, `&` (`&&`), `;`, `<`, `>`, `(`, `)`, `{`, `}`,
 * `*`, `?`, `[`, `]`, `~`, `#`, `$` and a newline; anywhere (even in double quotes) a backtick or
 * `$(` / `${` / `$NAME`; a leading `NAME=value` environment assignment; an unterminated quote.
 * Quote such characters in single quotes to pass them literally (`'$HOME'`, `'*.py'`).
 */
export function splitCommandLine(commandLine: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let i = 0;
  const fail = (why: string): never => {
    throw new DomainError(
      ErrorCode.ValidationFailed,
      `Command ${JSON.stringify(commandLine)} is not allowed: ${why}. Commands run without a shell; quote special characters in single quotes.`,
      { command: commandLine },
    );
  };
  const checkDollar = (at: number): void => {
    const next = commandLine[at + 1] ?? '';
    if (next === '(' || next === '{' || /[A-Za-z_0-9@*#?!$-]/.test(next)) {
      fail('contains shell expansion ($...)');
    }
  };

  while (i < commandLine.length) {
    const ch = commandLine[i];
    if (ch === ' ' || ch === '\t') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
      i += 1;
      continue;
    }
    if (ch === "'") {
      const end = commandLine.indexOf("'", i + 1);
      if (end < 0) fail('unterminated single quote');
      current += commandLine.slice(i + 1, end);
      inWord = true;
      i = end + 1;
      continue;
    }
    if (ch === '"') {
      i += 1;
      let closed = false;
      while (i < commandLine.length) {
        const c = commandLine[i];
        if (c === '"') {
          closed = true;
          i += 1;
          break;
        }
        if (c === '`') fail('contains a backtick command substitution');
        if (c === '$') checkDollar(i);
        if (c === '\\' && (commandLine[i + 1] === '"' || commandLine[i + 1] === '\\')) {
          current += commandLine[i + 1];
          i += 2;
          continue;
        }
        current += c;
        i += 1;
      }
      if (!closed) fail('unterminated double quote');
      inWord = true;
      continue;
    }
    if (ch === '\\') {
      if (i + 1 >= commandLine.length) fail('ends with a lone backslash');
      if (commandLine[i + 1] === '\n') fail('contains a line break');
      current += commandLine[i + 1];
      inWord = true;
      i += 2;
      continue;
    }
    if (ch === '`') fail('contains a backtick command substitution');
    if (ch === '$') {
      checkDollar(i);
      fail('contains a "$"');
    }
    if (ch === '\n' || ch === '\r') fail('contains a line break');
    if ('|&;<>(){}'.includes(ch)) fail(`contains the shell operator "${ch}"`);
    if ('*?[]'.includes(ch)) fail(`contains the glob character "${ch}" (globs are not expanded)`);
    if (ch === '~' && !inWord) fail('starts a word with "~" (home directories are not expanded)');
    if (ch === '#' && !inWord) fail('contains a "#" comment');
    if (ch === '\0') fail('contains a NUL character');
    current += ch;
    inWord = true;
    i += 1;
  }
  if (inWord) words.push(current);
  if (words.length === 0) fail('is empty');
  if (words[0] === '') fail('has an empty program name');
  if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
    fail('starts with an environment assignment (NAME=value), which needs a shell');
  }
  if (words.some((w) => w.includes('\0'))) fail('contains a NUL character');
  return words;
}

/** Renders an argv for logs and prompts, quoting words that would otherwise be ambiguous. */
export function formatCommandLine(argv: readonly string[]): string {
  return argv
    .map((word) =>
      word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)
        ? word
        : `'${word.replace(/'/g, `'\\''`)}'`,
    )
    .join(' ');
}
