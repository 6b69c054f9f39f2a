/**
 * PYTHON SOURCE, read lightly: enough to tell what a `conftest.py` or another module of the test
 * tree does at import, without a Python to parse it. Comments are removed and strings left as
 * their words first (a `#` in a string is no comment, a `setattr` in a comment is no call, a
 * bracket in a string opens nothing), then the code is cut into
 * logical lines (brackets and `\` continue a line) and the lines into statements by their
 * indentation, a statement holding its indented body.
 */

/**
 * A comment, or a string (any prefix, triple-quoted or not): whichever starts first is the one
 * there (`"#"` is a string, `# "` a comment). Groups: 1 and 3 a string's prefix, 2 and 4 its quote.
 */
const COMMENT_OR_STRING =
  /#[^\n]*|((?<!\w)[rRbBuUfF]{1,2})?("""|''')(?:\\[\s\S]|(?!\2)[\s\S])*\2|((?<!\w)[rRbBuUfF]{1,2})?(["'])(?:\\[\s\S]|(?!\4)[^\\\n])*\4/g;

/** What a string keeps of its text: words, spaces and a little punctuation, nothing Python reads. */
const STRING_TEXT_DROPPED = /\\[\s\S]|[^\w .,\-/*]/g;

/**
 * `text` with its comments removed and each string kept as its prefix, its quotes and its words
 * (`"a:b\n"` is `"a b  "`, a docstring `""" Adds. """`): no bracket, colon, quote, `;` or newline
 * of a string is left to be read as code, so the lines left are code lines.
 */
export function pythonCode(text: string): string {
  return text.replace(
    COMMENT_OR_STRING,
    (m, p1?: string, q1?: string, p3?: string, q3?: string) => {
      if (m.startsWith('#')) return '';
      const [prefix, quote] = [p1 ?? p3 ?? '', q1 ?? q3 ?? ''];
      const inside = m.slice(prefix.length + quote.length, m.length - quote.length);
      return `${prefix}${quote}${inside.replace(STRING_TEXT_DROPPED, ' ')}${quote}`;
    },
  );
}

/**
 * `code` (`pythonCode`) with its strings emptied (`"a b"` is `""`): code alone. An f-string keeps
 * its words: what it holds in braces is code.
 */
export function withoutStrings(code: string): string {
  return code.replace(
    /((?<!\w)[rRbBuUfF]{1,2})?("""|'''|"|')[^"'\n]*\2/g,
    (m, prefix?: string, quote?: string) =>
      /f/i.test(prefix ?? '') ? m : `${prefix ?? ''}${quote}${quote}`,
  );
}

/** Python's compound statements, by the word they open with. */
const COMPOUND = /^(?:async[ \t]+)?(?:def|class|if|elif|else|try|except|finally|for|while|with)\b/;

/**
 * A compound statement's first line cut at its colon (the first outside brackets, not `:=`): the
 * header, and the body written on the same line (`if a: b()`; empty where the body is indented
 * below). Null for a simple statement.
 */
function compoundHeader(text: string): [string, string] | null {
  if (!COMPOUND.test(text)) return null;
  let depth = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '(' || c === '[' || c === '{') depth += 1;
    else if (c === ')' || c === ']' || c === '}') depth -= 1;
    else if (c === ':' && depth <= 0 && text[i + 1] !== '=') {
      return [text.slice(0, i + 1), text.slice(i + 1).trim()];
    }
  }
  return null;
}

/** A logical line of code: its indentation (in characters) and its text, continuations joined. */
interface LogicalLine {
  indent: number;
  text: string;
}

/** The logical lines of `code` (`pythonCode`), blank ones left out. */
function logicalLines(code: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let [current, depth] = ['', 0];
  for (const physical of code.split('\n')) {
    if (current === '' && physical.trim() === '') continue;
    current += current === '' ? physical : ` ${physical.trim()}`;
    for (const c of physical) {
      if (c === '(' || c === '[' || c === '{') depth += 1;
      else if ((c === ')' || c === ']' || c === '}') && depth > 0) depth -= 1;
    }
    if (depth > 0) continue;
    if (current.endsWith('\\')) {
      current = current.slice(0, -1);
      continue;
    }
    lines.push(
      ...split({ indent: /^[ \t]*/.exec(current)?.[0].length ?? 0, text: current.trim() }),
    );
    current = '';
  }
  return [...lines, ...split({ indent: 0, text: current.trim() })];
}

/**
 * A logical line as the statements it holds: cut at `;` (strings are blanked, so every `;` left
 * ends one), unless it opens a compound statement (its body is cut when read: `compoundHeader`).
 */
function split(line: LogicalLine): LogicalLine[] {
  if (compoundHeader(line.text) !== null) return [line];
  return line.text
    .split(';')
    .map((text) => ({ indent: line.indent, text: text.trim() }))
    .filter((l) => l.text !== '');
}

/**
 * A statement: its decorators (`@...` lines, without the `@`), its first line (`def f(x):`,
 * `x = 1`, `if a:`) and the statements of its body, for a compound one (whose first line ends in
 * `:`; a body on that line, `if a: b()`, is read as a statement of its body: `compoundHeader`).
 */
export interface PythonStatement {
  decorators: string[];
  head: string;
  /** Null where it was nested too deep to read (`MAX_NESTING`). */
  body: PythonStatement[] | null;
  /** The whole statement, decorators and body too, its lines joined by newlines. */
  text: string;
}

/** How deep bodies are read: deeper, a body is not read (`null`), and no stack overflows. */
const MAX_NESTING = 50;

/** The statements of `lines`, all indented at least as much as the first, `nesting` deep. */
function statementsOf(lines: readonly LogicalLine[], nesting = 0): PythonStatement[] {
  const found: PythonStatement[] = [];
  let decorators: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const { indent, text } = lines[i];
    let end = i + 1;
    while (end < lines.length && lines[end].indent > indent) end += 1;
    const rest = lines.slice(i + 1, end);
    if (text.startsWith('@')) {
      decorators.push(text.slice(1).trim());
      i = end;
      continue;
    }
    const [head, inline] = compoundHeader(text) ?? [text, ''];
    const body =
      nesting >= MAX_NESTING
        ? null
        : statementsOf(
            inline === '' ? rest : split({ indent: indent + 1, text: inline }),
            nesting + 1,
          );
    const all = [...decorators.map((d) => `@${d}`), text, ...rest.map((l) => l.text)];
    found.push({ decorators, head, body, text: all.join('\n') });
    decorators = [];
    i = end;
  }
  return found;
}

/** The top-level statements of a Python module, from its `code` (`pythonCode` of its source). */
export function pythonStatements(code: string): PythonStatement[] {
  return statementsOf(logicalLines(code));
}
