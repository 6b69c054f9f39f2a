import { detectWeakening, TestFileChange } from 'src/orchestrator/run/test-weakening';
import { isTestConfigFile, testConfigFileKind } from 'src/test-runner';

const NO_TOTALS = {
  baseline: { total: null, names: null, skipped: null },
  after: { total: null, names: null, skipped: null },
};

const modified = (path: string, before: string, after: string): TestFileChange => ({
  status: 'modified',
  path,
  before,
  after,
});

const found = (path: string, before: string, after: string) =>
  detectWeakening([modified(path, before, after)], NO_TOTALS).map((w) => [w.kind, w.detail]);

const LIB = [
  'pub fn add(a: i64, b: i64) -> i64 {',
  '    assert!(a < 1_000_000, "too big");',
  '    a + b',
  '}',
  '',
  '#[cfg(test)]',
  'mod tests {',
  '    use super::*;',
  '',
  '    #[test]',
  '    fn add_small() {',
  '        assert_eq!(add(2, 3), 5);',
  '    }',
  '',
  '    #[test]',
  '    fn add_negative() {',
  '        let s = "}"; // a brace in a string: }',
  "        let c = '{';",
  '        assert_eq!(add(-2, -3), -5, "{} {}", s, c);',
  '    }',
  '}',
  '',
].join('\n');

describe('a Rust source file with unit tests (#[cfg(test)] mod tests)', () => {
  it('a string holding // hides no #[ignore] added after it', () => {
    const before = [
      'pub fn url() -> &\'static str { "http://x" }',
      '',
      '#[cfg(test)]',
      'mod tests {',
      '    #[test]',
      '    fn a() { assert!(true); }',
      '    #[test]',
      '    fn b() { assert_eq!(super::url(), "http://x"); }',
      '}',
      '',
    ].join('\n');
    const after = before.replace(
      '    #[test]\n    fn a()',
      '    #[test]\n    #[ignore]\n    fn a()',
    );
    expect(found('src/lib.rs', before, after)).toEqual([
      ['skip_marker', 'added 1 `#[ignore]` marker(s) to the tests in src/lib.rs'],
    ]);
  });

  it('removing a test module kept in its own file (#[cfg(test)] mod tests;) removes its tests', () => {
    const before =
      'pub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n\n#[cfg(test)]\nmod tests;\n';
    expect(
      found('src/lib.rs', before, 'pub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n'),
    ).toEqual([
      [
        'fewer_tests',
        'removed the test module declaration(s) `mod tests;` from src/lib.rs: the tests in their files no longer compile into `cargo test`',
      ],
    ]);
    expect(
      found(
        'src/lib.rs',
        before,
        before.replace('#[cfg(test)]', '#[cfg(all(test, feature = "x"))]'),
      ),
    ).toEqual([
      [
        'test_config_changed',
        'changed the conditions the tests in src/lib.rs compile under: `cfg(all(test,feature="x"))` (they may no longer be built by `cargo test`)',
      ],
    ]);
  });

  it('an #[ignore] added to an inline test is a skip marker', () => {
    const after = LIB.replace(
      '    #[test]\n    fn add_negative',
      '    #[test]\n    #[ignore]\n    fn add_negative',
    );
    expect(found('src/lib.rs', LIB, after)).toEqual([
      ['skip_marker', 'added 1 `#[ignore]` marker(s) to the tests in src/lib.rs'],
    ]);
  });

  it('gating the test module behind a feature is a test configuration change', () => {
    const after = LIB.replace('#[cfg(test)]', '#[cfg(all(test, feature = "x"))]');
    expect(found('src/lib.rs', LIB, after)).toEqual([
      [
        'test_config_changed',
        'changed the conditions the tests in src/lib.rs compile under: `cfg(all(test,feature="x"))` (they may no longer be built by `cargo test`)',
      ],
    ]);
  });

  it('deleting the test module removes its tests and their assertions', () => {
    const after = LIB.slice(0, LIB.indexOf('#[cfg(test)]'));
    expect(found('src/lib.rs', LIB, after)).toEqual([
      [
        'fewer_tests',
        'removed 2 #[test] function(s) from the tests in src/lib.rs (2 before, 0 after)',
      ],
      [
        'fewer_assertions',
        'removed 2 assertion(s) from the tests in src/lib.rs (2 before, 0 after)',
      ],
    ]);
    // Deleting the file (after empty) says the same.
    expect(found('src/lib.rs', LIB, '')).toHaveLength(2);
  });

  it('the code under test is not looked at: its own assert! removed, its logic changed', () => {
    const after = LIB.replace('    assert!(a < 1_000_000, "too big");\n', '').replace(
      '    a + b\n',
      '    if a < 0 { a - b } else { a + b }\n',
    );
    expect(found('src/lib.rs', LIB, after)).toEqual([]);
  });

  it('#[cfg_attr(..., ignore)] and #[should_panic] count; .skip( in Rust does not', () => {
    const after = LIB.replace(
      '    #[test]\n    fn add_small() {\n        assert_eq!(add(2, 3), 5);',
      '    #[test]\n    #[should_panic]\n    #[cfg_attr(not(windows), ignore)]\n    fn add_small() {\n        let v: Vec<i64> = [1, 2].iter().skip(1).copied().collect();\n        assert_eq!(add(2, v[0]), 4);',
    );
    expect(found('src/lib.rs', LIB, after).map(([kind, detail]) => `${kind}: ${detail}`)).toEqual([
      'skip_marker: added 1 `#[cfg_attr(..., ignore)]` marker(s) to the tests in src/lib.rs',
      'skip_marker: added 1 `#[should_panic]` marker(s) to the tests in src/lib.rs',
    ]);
  });
});

describe('a Rust integration test file (tests/*.rs of any package)', () => {
  const BASIC = 'use rcalc::add;\n\n#[test]\nfn add_zero() {\n    assert_eq!(add(0, 7), 7);\n}\n';

  it('gating the whole file with #![cfg(...)] is a test configuration change', () => {
    expect(
      found('crates/core/tests/basic.rs', BASIC, `#![cfg(feature = "slow")]\n${BASIC}`),
    ).toEqual([
      [
        'test_config_changed',
        'changed the conditions the existing test file crates/core/tests/basic.rs compile under: `cfg(feature="slow")` (they may no longer be built by `cargo test`)',
      ],
    ]);
  });

  it('an emptied test is fewer assertions, an #[ignore] a skip marker', () => {
    expect(
      found('tests/basic.rs', BASIC, BASIC.replace('    assert_eq!(add(0, 7), 7);\n', '')),
    ).toEqual([
      [
        'fewer_assertions',
        'removed 1 assertion(s) from the existing test file tests/basic.rs (1 before, 0 after)',
      ],
    ]);
    expect(
      found('tests/basic.rs', BASIC, BASIC.replace('#[test]\n', '#[test]\n#[ignore]\n')),
    ).toEqual([
      ['skip_marker', 'added 1 `#[ignore]` marker(s) to the existing test file tests/basic.rs'],
    ]);
  });
});

describe("Cargo's configuration is test configuration", () => {
  it.each([
    '.cargo/config.toml',
    '.cargo/config',
    'crates/core/.cargo/config.toml',
    'build.rs',
    'crates/core/build.rs',
    'rust-toolchain',
    'rust-toolchain.toml',
    'Cargo.toml',
    'crates/core/Cargo.toml',
  ])('%s', (path) => {
    expect(testConfigFileKind(path)).toBe('cargo');
  });

  it.each(['target/debug/build.rs', 'config.toml', 'src/build.rs.txt'])('%s is not', (path) => {
    expect(isTestConfigFile(path)).toBe(false);
  });

  it('a runner in .cargo/config.toml (created) runs in place of the test binaries', () => {
    const config = '[target.x86_64-unknown-linux-gnu]\nrunner = "true"\n';
    expect(found('.cargo/config.toml', '', config)).toEqual([
      [
        'test_config_changed',
        'created .cargo/config.toml, Cargo configuration that decides how `cargo test` builds and runs the tests (a `runner` in .cargo/config.toml runs in place of the test binaries)',
      ],
    ]);
  });

  const MANIFEST = '[package]\nname = "rcalc"\nversion = "0.1.0"\nedition = "2021"\n';

  it.each([
    ['[lib] test = false', `${MANIFEST}\n[lib]\ntest = false\n`, 'lib.test set to `false`'],
    [
      'lib.test = false as a dotted key',
      `lib.test = false\n${MANIFEST}`,
      'lib.test set to `false`',
    ],
    [
      'autotests = false',
      MANIFEST.replace('edition', 'autotests = false\nedition'),
      'package.autotests set to `false`',
    ],
    [
      'a [[test]] target without the harness',
      `${MANIFEST}\n[[test]]\nname = "basic"\nharness = false\n`,
      'test[0].harness set to `false`; test[0].name set to `"basic"`',
    ],
    [
      'a default feature',
      `${MANIFEST}\n[features]\ndefault = ["x"]\nx = []\n`,
      'features.default set to `["x"]`',
    ],
    [
      'a workspace member left out',
      `${MANIFEST}\n[workspace]\nmembers = [\n  "crates/core",\n]\n`,
      'workspace.members set to `[ "crates/core", ]`',
    ],
  ])('Cargo.toml: %s', (_name, after, detail) => {
    expect(found('Cargo.toml', MANIFEST, after)).toEqual([
      [
        'test_config_changed',
        `changed which tests \`cargo test\` builds and runs in Cargo.toml: ${detail}`,
      ],
    ]);
  });

  it("Cargo.toml: a dependency or a version is not the tests' business", () => {
    const after = `${MANIFEST.replace('0.1.0', '0.2.0')}\n[dependencies]\nserde = "1"\n\n[features]\nx = []\n`;
    expect(found('Cargo.toml', MANIFEST, after)).toEqual([]);
  });
});
