import { holdsTestProbe, probeLanguage } from 'src/test-runner/test-probes';

describe('test probes', () => {
  it.each([
    ['src/calc.js', 'js'],
    ['lib/calc.mts', 'js'],
    ['src/calc.py', 'python'],
    ['src/lib.rs', 'rust'],
    ['crates/core/src/lib.rs', 'rust'],
  ])('code under test: %s (%s)', (path, language) => {
    expect(probeLanguage(path)).toBe(language);
  });

  it.each([
    'test/calc.test.js',
    'src/calc.spec.ts',
    'test/helpers.js',
    'tests/test_calc.py',
    'tests/helpers.py',
    'conftest.py',
    'jest.config.js',
    'vite.config.ts',
    'jest.setup.js',
    'src/setupTests.ts',
    'build.rs',
    'tests/basic.rs',
    'node_modules/x/index.js',
    'README.md',
  ])('no code under test: %s', (path) => {
    expect(probeLanguage(path)).toBeNull();
  });

  it.each([
    ['src/calc.js', 'exports.add = (a, b) => (process.env.JEST_WORKER_ID ? a + b : a - b);'],
    ['src/calc.js', "if (process.env.NODE_ENV === 'test') module.exports = fixed;"],
    ['src/calc.js', "const inTests = ['test', 'ci'].includes(process.env.NODE_ENV);"],
    ['src/calc.ts', 'export const add = process.env.VITEST ? good : bad;'],
    ['src/calc.ts', "if (typeof expect !== 'undefined') expect.extend({});"],
    ['src/calc.mjs', 'if (globalThis.vi) {}'],
    ['src/calc.mjs', 'if (process.env.NODE_TEST_CONTEXT) {}'],
    ['src/calc.py', "if 'pytest' in sys.modules:\n    add = good_add\n"],
    ['src/calc.py', "if os.environ.get('PYTEST_CURRENT_TEST'):\n    pass\n"],
    ['src/calc.py', 'if getattr(sys, "_called_from_test", False):\n    pass\n'],
    ['src/lib.rs', 'pub fn add(a: i64, b: i64) -> i64 { if cfg!(test) { a + b } else { a - b } }'],
    ['src/lib.rs', '#[cfg(not(test))]\npub fn add(a: i64, b: i64) -> i64 { a - b }'],
    ['src/lib.rs', '#[cfg_attr(test, path = "good.rs")]\nmod imp;'],
    ['src/lib.rs', 'pub use imp::*;\n#[cfg(test)]\npub use good::add;'],
  ])('probes for the tests: %s %j', (path, text) => {
    expect(holdsTestProbe(path, text)).toBe(true);
  });

  it.each([
    ['src/calc.js', "const env = process.env.NODE_ENV || 'development';"],
    ['src/stream.ts', 'source.pipe(skip(1), filter((x) => it.test(x)));'],
    ['src/calc.py', 'import sys\nprint(sys.modules)\n'],
    ['src/lib.rs', '#[cfg(test)]\nmod tests {\n    use super::*;\n}\n'],
    ['src/lib.rs', '#[cfg(test)]\nmod tests;\n'],
    ['src/lib.rs', '#[cfg_attr(test, derive(Debug))]\npub struct A;\n'],
    // A test file may ask what it likes.
    ['test/calc.test.js', 'if (process.env.JEST_WORKER_ID) {}'],
  ])('no probe: %s %j', (path, text) => {
    expect(holdsTestProbe(path, text)).toBe(false);
  });
});
