/**
 * Where a Rust project's tests are. Cargo builds each `tests/*.rs` file of a package (and each
 * `tests/<dir>/main.rs`) as an integration test binary; other files under `tests/` are modules
 * those share (`tests/common/mod.rs`). A package may be the project itself or a member crate of a
 * workspace anywhere below it (`crates/core/tests/mul.rs`). Unit tests live inside the sources
 * (`#[cfg(test)] mod tests` in `src/**\/*.rs`): such files are source files, looked at for what a
 * change does to the tests inside them (`rust-test-weakening.ts`), not run as test files.
 */

export interface RustTestLocation {
  /** The package's directory, project-relative ('' for the project's own). */
  crateDir: string;
  /** The integration test target (`--test <target>`), or null for a module of `tests/`. */
  target: string | null;
}

/**
 * Where the Rust test file `parts` (a project-relative path's segments) belongs: under a `tests`
 * directory of a package (the first one not inside a `src` directory), or null.
 */
export function rustTestLocation(parts: readonly string[]): RustTestLocation | null {
  const base = parts[parts.length - 1] ?? '';
  if (!base.endsWith('.rs')) return null;
  const at = parts.findIndex((p, i) => p === 'tests' && i < parts.length - 1);
  if (at < 0 || parts.slice(0, at).includes('src')) return null;
  const rest = parts.slice(at + 1);
  const target =
    rest.length === 1
      ? rest[0].slice(0, -'.rs'.length)
      : rest.length === 2 && rest[1] === 'main.rs'
        ? rest[0]
        : null;
  return { crateDir: parts.slice(0, at).join('/'), target };
}

/**
 * The arguments `cargo test` gets to run the test file `file`: its package's manifest when it is
 * a member crate's (`--manifest-path crates/core/Cargo.toml`, which names the package as `-p`
 * does without reading its name), and its test target (`--test mul`), or all of the package's
 * integration tests (`--tests`) for a module they share.
 */
export function cargoTestArgs(file: string): string[] {
  const where = rustTestLocation(file.split('/').filter((s) => s !== '' && s !== '.'));
  if (where === null) return [];
  const manifest = where.crateDir === '' ? [] : ['--manifest-path', `${where.crateDir}/Cargo.toml`];
  return [...manifest, ...(where.target === null ? ['--tests'] : ['--test', where.target])];
}

/** Whether the project-relative `relPath` is a Rust source file (not a test file) of a package. */
export function isRustSource(relPath: string): boolean {
  const parts = relPath.split('/').filter((s) => s !== '' && s !== '.');
  return (parts.at(-1) ?? '').endsWith('.rs') && rustTestLocation(parts) === null;
}

/**
 * Whether the text of a Rust source file holds unit tests (`#[cfg(test)]`, `#[test]`): a change
 * to it is looked at for what it did to them (`BaseCheckout.testChanges`).
 */
export function holdsRustTests(text: string): boolean {
  return /#\[[ \t]*cfg[ \t]*\([^\]]*\btest\b|#\[[ \t]*(?:\w+::)*test[ \t]*\]/.test(text);
}
