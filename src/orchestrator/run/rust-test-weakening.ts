import { cargoTestSettings } from 'src/test-runner';
import type { Weakening } from 'src/orchestrator/run/test-weakening';

/**
 * WEAKENED RUST TESTS: what a change did to the tests of a Rust file of its base commit, an
 * integration test file (`tests/*.rs` of any package) or a source file holding unit tests
 * (`#[cfg(test)] mod tests { ... }`, `#[test]` functions in `src/**\/*.rs`), and to Cargo's
 * configuration (`cargo` test configuration files). Pure, like `test-weakening.ts`.
 *
 * In a source file only its tests are looked at: the `#[cfg(...test...)]` modules and the `#[test]`
 * functions outside them; the rest is the code under test. Counted before and after there:
 * `#[test]` functions (fewer: `fewer_tests`, which deleting `mod tests` is too), `#[ignore]`,
 * `#[cfg_attr(..., ignore)]` and `#[should_panic]` (more: `skip_marker`), assertions
 * (`assert!`, `assert_eq!`, `assert_ne!`, `debug_assert*!`, `panic!`; fewer: `fewer_assertions`),
 * and the `cfg` conditions the tests compile under (`#[cfg(all(test, feature = "x"))]`,
 * `#![cfg(...)]` at a test file's top: a condition added or changed is `test_config_changed`).
 */

/**
 * Comments, raw strings, strings and character literals, in one pattern: whichever starts first
 * is the one there (`"http://x"` is a string, not a comment; `'"'` a character, not a string).
 */
const NOT_CODE =
  /\/\/[^\n]*|\/\*[\s\S]*?\*\/|r(#*)"[\s\S]*?"\1|b?"(?:\\[\s\S]|[^"\\])*"|b?'(?:\\.|[^\\'\n])'/g;

/** `text` with comments, string and character literals blanked (same length), for brace counting. */
function code(text: string): string {
  return text.replace(NOT_CODE, (m) => m.replace(/[^\n]/g, ' '));
}

/** The end (exclusive) of the block whose `{` is at `open` in `text` (code only), or its length. */
function blockEnd(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i += 1) {
    if (text[i] === '{') depth += 1;
    else if (text[i] === '}') {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

/** A `#[test]` attribute (and `#[tokio::test]`-like ones of test frameworks). */
const TEST_ATTRIBUTE = /#\[[ \t]*(?:[\w]+::)*test[ \t]*(?:\([^)\]]*\))?[ \t]*\]/g;

/** A run of outer attributes and what they lead to: a module with a body, or anything else. */
const ATTRIBUTED_ITEM =
  /((?:#\[[^[\]]*(?:\[[^[\]]*\][^[\]]*)*\][ \t\r\n]*)+)(?:pub(?:\([^)]*\))?[ \t]+)?(mod[ \t]+\w+[ \t\r\n]*\{)?/g;

/** The tests of a Rust file: its test regions, and the `cfg` conditions on them. */
interface RustTests {
  /** The code of the test modules and `#[test]` functions (the whole file for a test file). */
  regions: string[];
  /** The `cfg(...)` conditions on test modules and tests, and a test file's `#![cfg(...)]`. */
  conditions: string[];
  /** Where the regions of a source file are in it: [start, end) of each. */
  spans: [number, number][];
}

const condition = (attribute: string): string[] =>
  [...attribute.matchAll(/#!?\[[ \t]*cfg[ \t]*\(([\s\S]*?)\)[ \t]*\]/g)].map((m) =>
    m[1].replace(/\s+/g, ''),
  );

function rustTests(text: string, wholeFile: boolean): RustTests {
  const plain = code(text);
  const regions: string[] = [];
  const conditions: string[] = [];
  const spans: [number, number][] = [];
  if (wholeFile) {
    regions.push(plain);
    const top = plain.match(/^(?:\s*#!\[[^\]]*\])*/)?.[0] ?? '';
    // The conditions as written (the blanked code has no strings: `feature = "x"`).
    conditions.push(...condition(text.slice(0, top.length)));
  }
  let end = 0;
  for (const m of plain.matchAll(ATTRIBUTED_ITEM)) {
    if (m.index < end) continue;
    const attributes = m[1];
    const testCfg = /#\[[ \t]*cfg[ \t]*\([^\]]*\btest\b/.test(attributes);
    const isTestModule = m[2] !== undefined && testCfg;
    // `#[cfg(test)] mod tests;`: its conditions count; its tests are in a file of their own.
    const isDeclaration =
      m[2] === undefined &&
      testCfg &&
      /^mod[ \t]+\w+[ \t]*;/.test(plain.slice(m.index + m[0].length));
    const isTest = /#\[[ \t]*(?:\w+::)*test[ \t]*(?:\([^)\]]*\))?[ \t]*\]/.test(attributes);
    if (!isTestModule && !isTest && !isDeclaration) continue;
    conditions.push(...condition(text.slice(m.index, m.index + attributes.length)));
    if (wholeFile || isDeclaration) continue;
    const open = isTestModule
      ? m.index + m[0].length - 1
      : plain.indexOf('{', m.index + m[0].length);
    if (open < 0) continue;
    end = blockEnd(plain, open);
    regions.push(plain.slice(m.index, end));
    spans.push([m.index, end]);
  }
  return { regions, conditions, spans };
}

/**
 * The code under test of a Rust source file: its code (comments and strings blanked) with its test
 * modules and `#[test]` functions blanked too (`test-probe-weakening.ts` looks there).
 */
export function rustCodeUnderTest(text: string): string {
  const plain = code(text);
  let out = plain;
  for (const [start, end] of rustTests(text, false).spans) {
    out = out.slice(0, start) + plain.slice(start, end).replace(/[^\n]/g, ' ') + out.slice(end);
  }
  return out;
}

/** `#[cfg(test)] mod tests;`: a test module kept in a file of its own, by name. */
const TEST_MODULE_DECLARATION =
  /#\[[ \t]*cfg[ \t]*\([^\]]*\btest\b[^\]]*\][ \t\r\n]*(?:pub(?:\([^)]*\))?[ \t]+)?mod[ \t]+(\w+)[ \t]*;/g;

/** The test modules a source file declares without a body (their tests are in other files). */
const declaredTestModules = (text: string): string[] =>
  [...code(text).matchAll(TEST_MODULE_DECLARATION)].map((m) => m[1]);

const count = (texts: readonly string[], pattern: RegExp): number =>
  texts.reduce((sum, text) => sum + [...text.matchAll(pattern)].length, 0);

const RUST_SKIPS: readonly { label: string; pattern: RegExp }[] = [
  { label: '#[ignore]', pattern: /#\[[ \t]*ignore\b/g },
  { label: '#[cfg_attr(..., ignore)]', pattern: /#\[[ \t]*cfg_attr[ \t]*\([^\]]*\bignore\b/g },
  { label: '#[should_panic]', pattern: /#\[[ \t]*should_panic\b/g },
];

const RUST_ASSERTIONS = /\b(?:debug_)?assert(?:_eq|_ne)?![ \t]*[([{]|\bpanic![ \t]*[([{]/g;

/** The conditions `after` has that `before` has not (as many times). */
function addedConditions(before: readonly string[], after: readonly string[]): string[] {
  const left = [...before];
  return after.filter((c) => {
    const at = left.indexOf(c);
    if (at >= 0) left.splice(at, 1);
    return at < 0 && c !== 'test';
  });
}

/**
 * What an edit of a Rust file of the base commit did to its tests (`testFile`: an integration
 * test file, looked at whole; else a source file, its tests only). `after` is empty for a file
 * the change deleted (a source file: its unit tests went with it).
 */
export function rustTestWeakening(
  path: string,
  before: string,
  after: string,
  testFile: boolean,
): Weakening[] {
  const [was, now] = [rustTests(before, testFile), rustTests(after, testFile)];
  const what = testFile ? `the existing test file ${path}` : `the tests in ${path}`;
  const found: Weakening[] = [];
  const [testsBefore, testsAfter] = [
    count(was.regions, TEST_ATTRIBUTE),
    count(now.regions, TEST_ATTRIBUTE),
  ];
  if (testsAfter < testsBefore) {
    found.push({
      kind: 'fewer_tests',
      file: path,
      detail: `removed ${testsBefore - testsAfter} #[test] function(s) from ${what} (${testsBefore} before, ${testsAfter} after)`,
    });
  }
  const declared = new Set(declaredTestModules(after));
  const undeclared = declaredTestModules(before).filter((name) => !declared.has(name));
  if (undeclared.length > 0) {
    found.push({
      kind: 'fewer_tests',
      file: path,
      detail: `removed the test module declaration(s) ${undeclared.map((name) => `\`mod ${name};\``).join(', ')} from ${path}: the tests in their files no longer compile into \`cargo test\``,
    });
  }
  for (const { label, pattern } of RUST_SKIPS) {
    const added = count(now.regions, pattern) - count(was.regions, pattern);
    if (added > 0) {
      found.push({
        kind: 'skip_marker',
        file: path,
        detail: `added ${added} \`${label}\` marker(s) to ${what}`,
      });
    }
  }
  const gated = addedConditions(was.conditions, now.conditions);
  if (gated.length > 0) {
    found.push({
      kind: 'test_config_changed',
      file: path,
      detail: `changed the conditions ${what} compile under: ${gated.map((c) => `\`cfg(${c})\``).join(', ')} (they may no longer be built by \`cargo test\`)`,
    });
  }
  const [assertsBefore, assertsAfter] = [
    count(was.regions, RUST_ASSERTIONS),
    count(now.regions, RUST_ASSERTIONS),
  ];
  if (assertsAfter < assertsBefore) {
    found.push({
      kind: 'fewer_assertions',
      file: path,
      detail: `removed ${assertsBefore - assertsAfter} assertion(s) from ${what} (${assertsBefore} before, ${assertsAfter} after)`,
    });
  }
  return found;
}

/**
 * Cargo's configuration (`cargo` test configuration): a Cargo.toml's test entries
 * (`cargoTestSettings`) added, changed or removed; any other Cargo file (`.cargo/config.toml`,
 * `build.rs`, `rust-toolchain*`) created, changed or deleted (whitespace aside).
 */
export function cargoConfigWeakening(path: string, before: string, after: string): Weakening[] {
  const base = path.split('/').at(-1) ?? path;
  if (base !== 'Cargo.toml') {
    if (before.replace(/\s+/g, '') === after.replace(/\s+/g, '')) return [];
    const verb = before === '' ? 'created' : after === '' ? 'deleted' : 'changed';
    return [
      {
        kind: 'test_config_changed',
        file: path,
        detail: `${verb} ${path}, Cargo configuration that decides how \`cargo test\` builds and runs the tests (a \`runner\` in .cargo/config.toml runs in place of the test binaries)`,
      },
    ];
  }
  const [was, now] = [cargoTestSettings(before), cargoTestSettings(after)];
  const changed = [...new Set([...was.keys(), ...now.keys()])]
    .filter((key) => was.get(key) !== now.get(key))
    .sort()
    .map((key) => {
      const [b, a] = [was.get(key), now.get(key)];
      if (b === undefined) return `${key} set to \`${a ?? ''}\``;
      if (a === undefined) return `${key} removed (was \`${b}\`)`;
      return `${key} \`${b}\` changed to \`${a}\``;
    });
  if (changed.length === 0) return [];
  return [
    {
      kind: 'test_config_changed',
      file: path,
      detail: `changed which tests \`cargo test\` builds and runs in ${path}: ${changed.join('; ')}`,
    },
  ];
}
