import type { Weakening } from 'src/orchestrator/run/test-weakening';
import {
  PythonStatement,
  pythonCode,
  pythonStatements,
  withoutStrings,
} from 'src/orchestrator/run/python-source';

/**
 * PYTEST PLUGIN CODE: what a new or changed Python module of the test tree (`isPythonTestModule`)
 * can do to every test pytest runs, existing ones included. A `conftest.py` is a plugin pytest
 * loads before it collects, and any other module may be made one, so its code is read as such
 * (`python-source.ts` reads it):
 *
 * - a pytest hook (`test_hooks`): any `pytest_*` name defined or bound there, however
 *   (`def pytest_pyfunc_call`, `pytest_x = f`, `from m import pytest_x`), new or changed: a
 *   `pytest_pyfunc_call` that returns `True` passes every test without running its body. A
 *   denylist of the dangerous hooks misses the next one, so every hook counts but two harmless
 *   forms: `pytest_configure` that only registers markers
 *   (`config.addinivalue_line("markers", "slow: ...")`), and `pytest_addoption` that only adds
 *   options with literal arguments (`parser.addoption("--runslow", action="store_true")`);
 * - pytest's plugin manager used (`config.pluginmanager`, kept in a name or not: `register`,
 *   `import_plugin`, `set_blocked`), in any module of the test tree (`test_config_changed`);
 * - in a `conftest.py` (`test_config_changed`), what reaches past its own fixtures: names bound by
 *   other means than their statements (`globals()`, `vars()`, `setattr`, `exec`, `__dict__`, ...),
 *   the options and outcome of the run written (`config.option.x = ...`, `session.exitstatus`,
 *   the terminal reporter); code that runs when pytest loads it other than imports, function and
 *   class definitions, docstrings and assignments to plain names (`calc.mul = ...`,
 *   `sys.path.insert(...)`, `sys.modules[...] = ...`, a call of its own functions: it changes
 *   what every test runs against); a fixture made `autouse` (it runs for every test and can
 *   patch the code under test); a module it imports patched (`calc.mul = ...`,
 *   `monkeypatch.setattr(calc, ...)`, in a fixture too); and a function that was there already
 *   changed (existing tests may use that fixture). A `conftest.py` may gain plain fixtures for
 *   the new tests: anything that changes what every test runs against is test configuration.
 *
 * Only what is new or changed counts: a statement there at the base commit, unchanged, is not
 * found again.
 */

/** A `pytest_*` name, other than `pytest_plugins` (looked at apart: `test-weakening.ts`). */
const PYTEST_NAME = /(?<![.\w])pytest_(?!plugins\b)\w+\b/g;

/**
 * The text of `head` (a statement's first line, strings emptied) where it binds names: a
 * definition's name, an assignment's targets, what an import binds (`as` names, a `from` import's
 * names), `for` targets, `as` names of `with` and `except`, `global` and `nonlocal` names, `:=`
 * targets. A name used there is no hook (`ok = pytest_x == None`).
 */
function bindingText(head: string): string {
  const walrus = [...head.matchAll(/(\w+)[ \t]*:=/g)].map((m) => m[1]);
  const defined = /^(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)/.exec(head)?.[1];
  const from = /^from[ \t]+\S+[ \t]+import\b(.*)$/.exec(head)?.[1];
  const loop = /^(?:async[ \t]+)?for\b(.*?)\bin\b/.exec(head)?.[1];
  const declared = /^(?:global|nonlocal)\b(.*)$/.exec(head)?.[1];
  const named = /^(?:import|with|async[ \t]+with|except)\b/.test(head)
    ? [...head.matchAll(/\bas[ \t]+\(?([\w, \t]+)/g)].map((m) => m[1])
    : [];
  const parts = [defined, from, loop, declared, ...named, ...walrus, ...(assignment(head) ?? [])];
  return parts.filter((p) => p !== undefined).join(' ');
}

/** The `pytest_*` names `statement` binds, in its first line or its body, by any statement. */
function hookNames(statement: PythonStatement, found = new Set<string>()): Set<string> {
  for (const m of bindingText(withoutStrings(statement.head)).matchAll(PYTEST_NAME))
    found.add(m[0]);
  for (const inner of statement.body ?? []) hookNames(inner, found);
  if (statement.body === null && /(?<![.\w])pytest_/.test(withoutStrings(statement.text))) {
    found.add('(too deeply nested to read)');
  }
  return found;
}

/** A docstring, or any statement of a string alone (not an f-string, whose braces are code). */
const STRING_STATEMENT = /^[rRbBuU]{0,2}("""|'''|"|')[^"'\n]*\1$/;

/** A string literal as `pythonCode` leaves it, not an f-string. */
const PLAIN_STRING = String.raw`[rRbBuU]{0,2}("""|'''|"|')[^"'\n]*\2`;

/**
 * The harmless hook: `def pytest_configure(config):` whose body only registers markers, each
 * `config.addinivalue_line("markers", "...")` with string literals, undecorated.
 */
function registersMarkersOnly(statement: PythonStatement): boolean {
  const head =
    /^def[ \t]+pytest_configure[ \t]*\([ \t]*(\w+)[ \t]*(?::[^)]*)?\)[ \t]*(?:->[^:]*)?:$/.exec(
      statement.head,
    );
  if (head === null || statement.decorators.length > 0 || statement.body === null) return false;
  const line = new RegExp(
    String.raw`^${head[1]}\.addinivalue_line\([ \t]*(["'])markers\1[ \t]*,[ \t]*(?:${PLAIN_STRING}[ \t]*)+,?[ \t]*\)$`,
  );
  return statement.body.every(
    (s) => s.body?.length === 0 && (STRING_STATEMENT.test(s.head) || line.test(s.head)),
  );
}

/** An option's arguments that are literals: strings, numbers, `True`, `False`, `None`, a type. */
const LITERAL_ARGUMENTS =
  /(?<![\w.])[A-Za-z_]\w*[ \t]*=(?!=)|""|''|(?<![\w.])(?:True|False|None|int|float|str)\b|-?\b\d+(?:\.\d+)?\b|[\s,]/g;

/**
 * The other harmless hook: `def pytest_addoption(parser):` whose body only adds command-line
 * options (`parser.addoption("--runslow", action="store_true", default=False, help="...")`), each
 * argument a literal. An option alone changes no test: what reads it (a fixture, a hook) is looked
 * at where it is. An argument that is code (an `action` class, whose constructor pytest runs) is
 * not harmless.
 */
function addsOptionsOnly(statement: PythonStatement): boolean {
  const head =
    /^def[ \t]+pytest_addoption[ \t]*\([ \t]*(\w+)[ \t]*(?::[^)]*)?\)[ \t]*(?:->[^:]*)?:$/.exec(
      statement.head,
    );
  if (head === null || statement.decorators.length > 0 || statement.body === null) return false;
  const call = new RegExp(String.raw`^${head[1]}\.addoption\(([^()]*)\)$`);
  return statement.body.every((s) => {
    if (s.body?.length !== 0) return false;
    if (STRING_STATEMENT.test(s.head)) return true;
    const args = call.exec(withoutStrings(s.head))?.[1];
    return args !== undefined && args.replace(LITERAL_ARGUMENTS, '') === '';
  });
}

/** `text` without its whitespace: how statements are compared. */
const squeezed = (text: string): string => text.replace(/\s+/g, '');

/** `text` cut to `max` characters, on one line. */
function clip(text: string, max = 160): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 3)}...`;
}

/** Of `after`'s entries (by key, to show), those `before` has not. */
function added(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after].filter(([key]) => !before.has(key)).map(([, shown]) => shown);
}

/** The top-level statements of a module that hold hooks, not the harmless one: by text, to show. */
function hookStatements(statements: readonly PythonStatement[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const statement of statements) {
    const names = hookNames(statement);
    if (names.size === 0 || registersMarkersOnly(statement) || addsOptionsOnly(statement)) {
      continue;
    }
    found.set(squeezed(statement.text), [...names].join(', '));
  }
  return found;
}

/**
 * What a `conftest.py` reaches past its own fixtures with, anywhere in it (`label`, `pattern` on
 * its code with strings emptied): names bound by other means than their statements, the run's
 * options and outcome written.
 */
const TAMPERING: readonly { label: string; pattern: RegExp }[] = [
  {
    label:
      'names bound or read by other means (`globals()`, `vars()`, `locals()`, `setattr`, `delattr`, `exec`, `eval`, `compile`, `__import__`)',
    pattern: /(?<![.\w])(?:globals|vars|locals|setattr|delattr|exec|eval|compile|__import__)\b/g,
  },
  {
    label:
      'module or object internals (`__dict__`, `__setattr__`, `__getattr__`, `__dir__`, `__builtins__`, `builtins`, `importlib`, `sys.modules`, ...)',
    pattern:
      /\b__(?:dict|setattr|delattr|getattr|getattribute|dir|builtins|import|init_subclass|set_name|class_getitem|class|code|globals|closure|defaults|kwdefaults|spec|loader|path)__\b|(?<![.\w])(?:builtins|importlib)\b|(?<!\w)modules\b/g,
  },
  {
    label:
      "pytest's options written (`config.option.x = ...`, `config.args`, `known_args_namespace`, `inicfg`)",
    pattern:
      /\boption\.\w+[ \t]*(?:[-+*/%&|^@]|\/\/|\*\*|<<|>>)?=(?!=)|\boption\.\w+\.(?:append|extend|insert|clear|remove|update)\b|\bconfig\.args\b|\bknown_args_namespace\b|\binicfg\b|\b_inicache\b/g,
  },
  {
    label:
      "the run's outcome or report written (`session.exitstatus`, `testsfailed`, `terminalreporter`, `reportchars`, `stats`)",
    pattern: /\b(?:exitstatus|testsfailed|terminalreporter|reportchars)\b|\.stats\b/g,
  },
];

/** pytest's plugin manager, used in any way (`register`, `import_plugin`, kept in a name). */
const PLUGIN_MANAGER = /\bpluginmanager\b/g;

function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(pattern)].length;
}

/** A fixture made `autouse` (`autouse=True`, `**{"autouse": True}`), not `autouse=False`. */
const AUTOUSE = /(?<![.\w])autouse\b(?![ \t"']*[=:][ \t]*False\b)/g;

/** A method call at import that changes something (`sys.path.insert(`, `os.environ.update(`). */
const MUTATING_CALL =
  /\.(?:insert|append|extend|update|setdefault|pop|popitem|remove|clear|add|discard|register|start|setattr|setitem|putenv|chdir|patch|write)[ \t]*\(/;

/** The one call let run at import: pytest's rewrite of the asserts of a helper module. */
const HARMLESS_CALL = /^pytest\.register_assert_rewrite[ \t]*\(/;

/**
 * The targets of an assignment statement (`a = b = 1`: `a `, ` b `; `x += 1`: `x `), or null for
 * another statement: its `=` outside brackets, not `==`, `!=`, `<=`, `>=` or `:=`.
 */
function assignment(head: string): string[] | null {
  const targets: string[] = [];
  let [depth, from] = [0, 0];
  for (let i = 0; i < head.length; i += 1) {
    const c = head[i];
    if (c === '(' || c === '[' || c === '{') depth += 1;
    else if (c === ')' || c === ']' || c === '}') depth -= 1;
    if (c !== '=' || depth !== 0) continue;
    if (head[i + 1] === '=') {
      i += 1;
      continue;
    }
    const before = head.slice(Math.max(0, i - 2), i);
    if (/[=!:]$/.test(before) || /(?<![<>])[<>]$/.test(before)) continue;
    const op = /(?:\*\*|\/\/|<<|>>|[-+*/%&|^@])$/.exec(before)?.[0] ?? '';
    targets.push(head.slice(from, i - op.length));
    if (op !== '') break;
    from = i + 1;
  }
  return targets.length === 0 ? null : targets;
}

/** A plain name, or names (`a`, `a, b`, `(a, *b)`), maybe annotated (`a: int`). */
const PLAIN_TARGET =
  /^[ \t]*[([]?[ \t]*\*?[A-Za-z_]\w*(?:[ \t]*,[ \t]*\*?[A-Za-z_]\w*)*[ \t]*,?[ \t]*[)\]]?[ \t]*$|^[ \t]*[A-Za-z_]\w*[ \t]*:/;

/** Names the module binds at its top (defs, classes, plain assignments), for their calls there. */
function moduleNames(statements: readonly PythonStatement[]): Set<string> {
  const names = new Set<string>();
  for (const s of statements) {
    const defined = /^(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)/.exec(s.head);
    if (defined !== null) names.add(defined[1]);
    else if (/^(?:if|elif|else|try|except|finally)\b/.test(s.head) && s.body !== null) {
      moduleNames(s.body).forEach((n) => names.add(n));
    } else {
      for (const target of assignment(s.head) ?? []) {
        for (const m of target.replace(/:.*$/, '').matchAll(/[A-Za-z_]\w*/g)) names.add(m[0]);
      }
    }
  }
  return names;
}

/**
 * Whether `code` (run at import: a value, a default, a decorator, a condition) does more than
 * compute: a method that changes something, or a function or class of the module called.
 */
function acts(code: string, local: ReadonlySet<string>): boolean {
  if (MUTATING_CALL.test(code)) return true;
  return [...code.matchAll(/(?<![.\w])([A-Za-z_]\w*)[ \t]*\(/g)].some((m) => local.has(m[1]));
}

/**
 * The statements of `statements` (a module's, a class body's, a top-level `if` or `try`'s) that
 * run at import and are not imports, definitions, docstrings or plain assignments, or that act
 * (`acts`): by text, to show.
 */
function importTimeCode(
  statements: readonly PythonStatement[],
  local: ReadonlySet<string>,
  found = new Map<string, string>(),
): Map<string, string> {
  for (const s of statements) {
    // A definition's own name is no call of it.
    const code = withoutStrings(s.head).replace(/^((?:async[ \t]+)?(?:def|class)[ \t]+)\w+/, '$1');
    const decorated = s.decorators.map(withoutStrings);
    const flag = () => found.set(squeezed(s.text), clip(s.text));
    if (s.body === null) flag();
    else if (/^(?:import|from)\b/.test(code)) continue;
    else if (/^(?:async[ \t]+)?def\b/.test(code)) {
      const decoratorCalls = decorated.some(
        (d) => acts(d, local) || local.has(/^[A-Za-z_]\w*/.exec(d)?.[0] ?? ''),
      );
      if (decoratorCalls || acts(code, local)) flag();
    } else if (/^(?:class|if|elif|else|try|except|finally)\b/.test(code)) {
      const actsThere = decorated.length > 0 || acts(code, local) || /\bmetaclass\b/.test(code);
      if (actsThere) flag();
      else importTimeCode(s.body, local, found);
    } else if (STRING_STATEMENT.test(code) || /^(?:pass|\.\.\.)$/.test(code)) continue;
    else if (HARMLESS_CALL.test(code)) continue;
    else {
      const assigned = assignment(code);
      const plain =
        assigned !== null
          ? assigned.every((t) => PLAIN_TARGET.test(t))
          : /^[A-Za-z_]\w*[ \t]*:/.test(code);
      if (!plain || acts(code, local)) flag();
    }
  }
  return found;
}

/** Names a module's imports bind at its top (`import calc`, `from app import calc as c`). */
function importedNames(statements: readonly PythonStatement[]): Set<string> {
  const names = new Set<string>();
  for (const s of statements) {
    const code = withoutStrings(s.head);
    const imported =
      /^import[ \t]+(.*)$/.exec(code) ?? /^from[ \t]+\S+[ \t]+import[ \t]+\(?(.*?)\)?$/.exec(code);
    for (const part of imported?.[1].split(',') ?? []) {
      const name = /(?:\bas[ \t]+)?([A-Za-z_]\w*)[ \t]*$/.exec(part.trim());
      if (name !== null && name[1] !== '*') names.add(name[1]);
    }
  }
  return names;
}

/**
 * How often `code` (`pythonCode`: strings keep their words) patches a module it imports, anywhere
 * (`calc.mul = f`, `monkeypatch.setattr(calc, ...)`, `monkeypatch.setattr("calc.mul", ...)`).
 */
function patchesOf(code: string, imported: ReadonlySet<string>): number {
  const names = [...imported].filter((n) => n !== 'pytest').join('|');
  if (names === '') return 0;
  const set = new RegExp(
    String.raw`(?<![.\w])(?:${names})(?:\.\w+)+[ \t]*(?:[-+*/%&|^@]|//|\*\*|<<|>>)?=(?!=)|\.setattr[ \t]*\([ \t]*(?:(?:${names})\b|["'][\w.]+\.)`,
    'g',
  );
  return count(code, set);
}

/** The functions (fixtures, helpers) at a module's top, by name: their whole text, squeezed. */
function functions(statements: readonly PythonStatement[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const s of statements) {
    const name = /^(?:async[ \t]+)?def[ \t]+(\w+)/.exec(s.head);
    if (name !== null) found.set(name[1], squeezed(s.text));
  }
  return found;
}

/** A module as read: its statements, its code (`pythonCode`) and its code without strings. */
interface Module {
  statements: PythonStatement[];
  words: string;
  code: string;
}

function read(text: string): Module {
  const words = pythonCode(text);
  return { statements: pythonStatements(words), words, code: withoutStrings(words) };
}

/** Findings for a `conftest.py` changed from `before` to `after` (`test_config_changed`). */
function conftestWeakening(path: string, before: Module, after: Module): Weakening[] {
  const [was, now] = [before.statements, after.statements];
  const [codeBefore, codeAfter] = [before.code, after.code];
  const found: string[] = [];
  const tampering = TAMPERING.filter(
    ({ pattern }) => count(codeAfter, pattern) > count(codeBefore, pattern),
  ).map(({ label }) => label);
  if (tampering.length > 0) found.push(`reached past its fixtures with ${tampering.join('; ')}`);
  const atImport = added(
    importTimeCode(was, moduleNames(was)),
    importTimeCode(now, moduleNames(now)),
  );
  if (atImport.length > 0) {
    found.push(
      `added code that runs when pytest loads it, before every test, other than imports, definitions and plain assignments: \`${clip(atImport.join('; '))}\``,
    );
  }
  const words = [before.words, after.words];
  if (count(words[1], AUTOUSE) > count(words[0], AUTOUSE)) {
    found.push('made a fixture `autouse`: it runs for every test, existing ones included');
  }
  if (patchesOf(words[1], importedNames(now)) > patchesOf(words[0], importedNames(was))) {
    found.push(
      'patched a module it imports (`module.name = ...`, `monkeypatch.setattr(module, ...)`)',
    );
  }
  const [had, has] = [functions(was), functions(now)];
  const changed = [...had].filter(([name, text]) => has.has(name) && has.get(name) !== text);
  if (changed.length > 0) {
    found.push(
      `changed ${changed.map(([name]) => `\`${name}\``).join(', ')}, there at the base commit (existing tests may use it)`,
    );
  }
  return found.map((what) => ({
    kind: 'test_config_changed',
    file: path,
    detail: `in ${path}, which pytest loads for every test under it, ${what}`,
  }));
}

/**
 * Findings for a Python module of the test tree changed from `before` to `after` (`conftest`:
 * whether it is a `conftest.py`): its hooks, pytest's plugin manager, and in a `conftest.py` what
 * reaches past its fixtures.
 */
export function pytestPluginWeakening(
  path: string,
  before: string,
  after: string,
  conftest: boolean,
): Weakening[] {
  const found: Weakening[] = [];
  const [was, now] = [read(before), read(after)];
  const hooks = added(hookStatements(was.statements), hookStatements(now.statements));
  if (hooks.length > 0) {
    found.push({
      kind: 'test_hooks',
      file: path,
      detail: `added or changed pytest hooks in ${path} (${[...new Set(hooks)].join(', ')}), which can change which tests run or how they end (\`pytest_pyfunc_call\` returning True passes every test unrun): only \`pytest_configure\` registering markers is not test configuration`,
    });
  }
  if (count(now.code, PLUGIN_MANAGER) > count(was.code, PLUGIN_MANAGER)) {
    found.push({
      kind: 'test_config_changed',
      file: path,
      detail: `used pytest's plugin manager in ${path} (\`pluginmanager\`: registering, importing or blocking plugins), which can change which tests run or how they end`,
    });
  }
  if (conftest) found.push(...conftestWeakening(path, was, now));
  return found;
}
