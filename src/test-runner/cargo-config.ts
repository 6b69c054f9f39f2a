/**
 * Cargo's build and test configuration that decides which tests `cargo test` builds and runs, and
 * how (`testConfigFileKind` kind `cargo`):
 * - `.cargo/config.toml` (or `.cargo/config`): a `runner` that runs the test binaries instead of
 *   them (`runner = "true"`: nothing runs, everything passes), `rustflags` (`--cfg`), `[alias]`,
 *   `[env]`, a build target;
 * - `build.rs`: code cargo compiles and runs before the package's build (it sets `cfg` flags and
 *   environment the tests see);
 * - `rust-toolchain`, `rust-toolchain.toml`: which compiler builds them;
 * - `Cargo.toml`, only its entries that choose or run the tests (`cargoTestSettings`).
 */
const CARGO_FILES = new Set(['build.rs', 'rust-toolchain', 'rust-toolchain.toml', 'Cargo.toml']);

/** Whether the file `parts` (a project-relative path's segments) is Cargo's configuration. */
export function isCargoConfig(parts: readonly string[]): boolean {
  const base = parts[parts.length - 1] ?? '';
  if (parts.length >= 2 && parts[parts.length - 2] === '.cargo') {
    return base === 'config' || base === 'config.toml';
  }
  return CARGO_FILES.has(base);
}

/**
 * The entries of a Cargo.toml that choose which tests `cargo test` builds and runs or how they
 * end, by their full key (`lib.test`, `test[0].harness`, `features.default`): `test`, `harness`,
 * `doctest` of the library and each target, every entry of a `[[test]]` target, the package's
 * `autotests`, `autobenches`, `autobins`, `autolib` and `build`, the default features (code behind
 * `#[cfg(feature = ...)]`), the workspace's members (whose tests `cargo test --workspace` runs)
 * and the test profile (`[profile.test]`, and `[profile.dev]`'s checks the test profile inherits).
 */
const TEST_KEYS: readonly RegExp[] = [
  /^(lib|bin\[\d+\]|bench\[\d+\]|example\[\d+\])\.(test|harness|doctest|required-features)$/,
  /^test\[\d+\]\..+$/,
  /^(lib|bin|test|bench)$/,
  /^package\.(autotests|autobenches|autobins|autolib|autoexamples|build)$/,
  /^features\.default$/,
  /^workspace\.(members|exclude|default-members)$/,
  /^profile\.test\..+$/,
  /^profile\.dev\.(overflow-checks|debug-assertions|panic)$/,
];

const HEADER = /^[ \t]*\[(\[)?[ \t]*([A-Za-z0-9_.\-"' ]+?)[ \t]*\]\]?[ \t]*(?:#.*)?$/;
const ENTRY = /^[ \t]*([A-Za-z0-9_\-."]+)[ \t]*=(.*)$/;

/**
 * Cargo.toml's test entries (`TEST_KEYS`), by full key, their values with whitespace made one
 * space (lines of a value that spans several included). Light parsing, alike on both sides of a
 * change: enough to tell what changed.
 */
export function cargoTestSettings(text: string): Map<string, string> {
  const all = new Map<string, string>();
  const arrays = new Map<string, number>();
  let table = '';
  let key: string | null = null;
  for (const line of text.split(/\r?\n/)) {
    const header = HEADER.exec(line);
    if (header !== null) {
      const name = header[2].replace(/["'\s]/g, '');
      if (header[1] !== undefined) {
        const index = arrays.get(name) ?? 0;
        arrays.set(name, index + 1);
        table = `${name}[${index}]`;
      } else {
        table = name;
      }
      key = null;
      continue;
    }
    if (/^[ \t]*#/.test(line)) continue;
    const m = ENTRY.exec(line);
    if (m !== null) {
      key = `${table === '' ? '' : `${table}.`}${m[1].replace(/"/g, '')}`;
      all.set(key, m[2].replace(/#[^"']*$/, '').trim());
    } else if (key !== null && line.trim() !== '') {
      all.set(key, `${all.get(key)} ${line.trim()}`.trim());
    }
  }
  const found = new Map<string, string>();
  for (const [name, value] of all) {
    if (TEST_KEYS.some((pattern) => pattern.test(name))) found.set(name, value);
  }
  return found;
}
