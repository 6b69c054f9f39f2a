import {
  addedSkipMarkers,
  countAssertions,
  detectWeakening,
} from 'src/orchestrator/run/test-weakening';

const unknown = { total: null, names: null, skipped: null };
const none = { baseline: unknown, after: unknown };
const count = (total: number | null) => ({ total, names: null, skipped: null });

describe('detectWeakening', () => {
  it('finds a deleted and a renamed test file', () => {
    const found = detectWeakening(
      [
        { status: 'deleted', path: 'test/a.test.js' },
        { status: 'renamed', path: 'test/b.test.js', newPath: 'test/b.js.bak' },
      ],
      none,
    );
    expect(found.map((w) => [w.kind, w.file])).toEqual([
      ['deleted', 'test/a.test.js'],
      ['renamed', 'test/b.test.js'],
    ]);
    expect(found[1].detail).toContain('test/b.js.bak');
  });

  it.each([
    ["test('x', () => {});", "test.skip('x', () => {});", '.skip('],
    ["it('x', () => {});", "it.only('x', () => {});", '.only('],
    ["it('x', () => {});", "xit('x', () => {});", 'xit('],
    ["describe('x', () => {});", "xdescribe('x', () => {});", 'xdescribe('],
    ["test('x', () => {});", "test('x', { skip: true }, () => {});", '{ skip: true }'],
    ["test('x', () => {});", "test('x', { skip: !0 }, () => {});", '{ skip: true }'],
    ['def test_x(self):', '@pytest.mark.skip\ndef test_x(self):', '@pytest.mark.skip'],
    [
      '    def test_x(self):',
      "    @unittest.skip('later')\n    def test_x(self):",
      '@unittest.skip',
    ],
    ['func TestX(t *testing.T) {', 'func TestX(t *testing.T) {\n\tt.Skip("later")', 't.Skip('],
    ['#[test]\nfn x() {}', '#[test]\n#[ignore]\nfn x() {}', '#[ignore]'],
    ['def test_x(self):', "def test_x(self):\n    self.skipTest('no')", 'skipTest('],
  ])('finds an added marker: %s -> %s', (before, after, label) => {
    const found = detectWeakening([{ status: 'modified', path: 'test/x', before, after }], none);
    expect(found).toEqual([expect.objectContaining({ kind: 'skip_marker', file: 'test/x' })]);
    expect(found[0].detail).toContain(label);
  });

  it.each([
    [
      'a test emptied',
      "test('adds', () => {\n  assert.strictEqual(add(2, 3), 5);\n  assert(add(0, 0) === 0);\n});",
      "test('adds', () => {});",
      2,
    ],
    [
      'an expect dropped',
      'it("a", () => { expect(f()).toBe(1); expect(g()).toBe(2); });',
      'it("a", () => { expect(f()).toBe(1); });',
      1,
    ],
    [
      'a Python assert dropped',
      'def test_a():\n    assert f() == 1\n    assert g() == 2\n',
      'def test_a():\n    assert f() == 1\n',
      1,
    ],
    [
      'a unittest assertion dropped',
      '    def test_a(self):\n        self.assertEqual(f(), 1)\n',
      '    def test_a(self):\n        pass\n',
      1,
    ],
    ['a Go check dropped', 'if got != 1 {\n\tt.Errorf("got %d", got)\n}', '_ = got', 1],
    ['a Rust assertion dropped', 'assert_eq!(f(), 1);\nassert!(g());', 'assert!(g());', 1],
  ])('finds assertions removed from an existing test file: %s', (_what, before, after, removed) => {
    const found = detectWeakening([{ status: 'modified', path: 'test/x', before, after }], none);
    expect(found).toEqual([expect.objectContaining({ kind: 'fewer_assertions', file: 'test/x' })]);
    expect(found[0].detail).toContain(`removed ${removed} assertion(s)`);
  });

  it('counts each assertion once, whatever its spelling', () => {
    expect(countAssertions('assert (x)\nassert(y)\nassert z\n')).toBe(3);
    expect(countAssertions('expect(a).toBe(1); expect.soft(b).toBe(2);')).toBe(2);
    expect(countAssertions('with pytest.raises(ValueError):\n    self.assertRaises(E, f)\n')).toBe(
      2,
    );
    expect(countAssertions('require.Equal(t, 1, got)\nx := require.resolve\n')).toBe(1);
    // Pagination options are no skip.
    expect(addedSkipMarkers('', 'await repo.find({ skip: 1, take: 10 });')).toEqual([]);
  });

  it('reads a file of blank lines in linear time (an agent may write one of megabytes)', () => {
    const blank = '\n'.repeat(4_000_000);
    expect(countAssertions(blank)).toBe(0);
    expect(
      detectWeakening(
        [{ status: 'modified', path: 'conftest.py', before: '', after: blank }],
        none,
      ),
    ).toEqual([]);
  });

  it('does not count assertions added, moved or rewritten in place', () => {
    const before = "test('a', () => {\n  assert.strictEqual(f(), 1);\n});";
    const moved =
      "test('b', () => {});\ntest('a', () => {\n  assert.equal(f(), 1);\n  expect(g()).toBe(2);\n});";
    expect(
      detectWeakening([{ status: 'modified', path: 't', before, after: moved }], none),
    ).toEqual([]);
  });

  it('does not count markers that were there already, nor an unchanged test file', () => {
    const before = "test.skip('old', () => {});\ntest('a', () => {});";
    const after = "test.skip('old', () => {});\ntest('a', () => {});\ntest('b', () => {});";
    expect(detectWeakening([{ status: 'modified', path: 't', before, after }], none)).toEqual([]);
  });

  it('counts markers: a second skip is found even though one existed', () => {
    expect(
      addedSkipMarkers("test.skip('a', f);", "test.skip('a', f);\ntest.skip('b', f);"),
    ).toEqual([{ label: '.skip(', added: 1 }]);
  });

  it('finds a regression suite that runs fewer tests than at the baseline, not more', () => {
    expect(detectWeakening([], { baseline: count(5), after: count(4) })).toEqual([
      expect.objectContaining({ kind: 'fewer_tests', file: null }),
    ]);
    expect(detectWeakening([], { baseline: count(5), after: count(6) })).toEqual([]);
  });

  it('finds a regression suite whose output stopped counting its tests (a test script made `exit 0`)', () => {
    const found = detectWeakening([], { baseline: count(5), after: count(null) });
    expect(found).toEqual([expect.objectContaining({ kind: 'fewer_tests', file: null })]);
    expect(found[0].detail).toContain('ran 5 test(s) at the base commit, and its output after');
    // Nothing to go by where the baseline did not count them either, or counted none.
    expect(detectWeakening([], none)).toEqual([]);
    expect(detectWeakening([], { baseline: count(0), after: count(null) })).toEqual([]);
  });

  it('by name where both runs name their tests: one dropped is found though another was added', () => {
    const found = detectWeakening([], {
      baseline: { total: 2, names: ['adds', 'adds negatives'], skipped: 0 },
      after: { total: 2, names: ['adds', 'multiplies'], skipped: 0 },
    });
    expect(found).toEqual([expect.objectContaining({ kind: 'fewer_tests' })]);
    expect(found[0].detail).toContain(
      'no longer runs 1 test(s) it ran at the base commit: adds negatives',
    );
  });

  it('finds a regression suite that skips more tests than at the baseline, however they were skipped', () => {
    const suite = (skipped: number | null, total = 3) => ({ total, names: null, skipped });
    const found = detectWeakening([], { baseline: suite(1), after: suite(2) });
    expect(found).toEqual([expect.objectContaining({ kind: 'skip_marker', file: null })]);
    expect(found[0].detail).toBe(
      'the regression suite skips 1 more of its tests than at the base commit (1 skipped of 3 before, 2 of 3 after)',
    );
    expect(detectWeakening([], { baseline: suite(2), after: suite(1) })).toEqual([]);
    expect(detectWeakening([], { baseline: suite(null), after: suite(3) })).toEqual([]);
    // A new test skipped where it cannot run is not an existing one skipped.
    expect(detectWeakening([], { baseline: suite(1), after: suite(2, 4) })).toEqual([]);
    expect(detectWeakening([], { baseline: suite(1), after: suite(3, 4) })).toHaveLength(1);
  });

  it('finds tests the regression suite deselects that it ran at the baseline, though new tests keep the totals', () => {
    const suite = (deselected: number | null | undefined, total = 2) => ({
      total,
      names: null,
      skipped: 0,
      deselected,
    });
    const found = detectWeakening([], { baseline: suite(0), after: suite(2, 2) });
    expect(found).toEqual([expect.objectContaining({ kind: 'fewer_tests', file: null })]);
    expect(found[0].detail).toBe(
      'the regression suite deselects 2 more of its tests than at the base commit (0 deselected before, 2 after): its options (`-k`, `-m`, `--deselect`) or a hook now leave them out',
    );
    // More tests run do not make up for those deselected.
    expect(detectWeakening([], { baseline: suite(1), after: suite(2, 5) })).toHaveLength(1);
    // As many as before, fewer, or not known (a baseline stored before they were counted).
    expect(detectWeakening([], { baseline: suite(1), after: suite(1) })).toEqual([]);
    expect(detectWeakening([], { baseline: suite(2), after: suite(0, 4) })).toEqual([]);
    expect(detectWeakening([], { baseline: suite(undefined), after: suite(2) })).toEqual([]);
    expect(detectWeakening([], { baseline: suite(0), after: suite(null) })).toEqual([]);
  });

  it('finds pytest hooks added to a conftest.py that can change which tests run or how they end', () => {
    const fixture = 'import pytest\n\n@pytest.fixture\ndef calc():\n    return 1\n';
    const forced = `${fixture}\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n    outcome = yield\n    outcome.get_result().outcome = "passed"\n`;
    const found = detectWeakening(
      [{ status: 'modified', path: 'tests/conftest.py', before: '', after: forced }],
      none,
    );
    expect(found).toEqual([
      expect.objectContaining({ kind: 'test_hooks', file: 'tests/conftest.py' }),
    ]);
    expect(found[0].detail).toContain('added 1 pytest hook(s) to tests/conftest.py');
    // Fixtures are not hooks, a hook there already is not counted again, and other files are not
    // conftest.py.
    expect(
      detectWeakening(
        [{ status: 'modified', path: 'conftest.py', before: '', after: fixture }],
        none,
      ),
    ).toEqual([]);
    expect(
      detectWeakening(
        [{ status: 'modified', path: 'conftest.py', before: forced, after: `${forced}\n# note\n` }],
        none,
      ),
    ).toEqual([]);
    expect(
      detectWeakening(
        [{ status: 'modified', path: 'tests/helpers.py', before: '', after: forced }],
        none,
      ),
    ).toEqual([]);
  });
});
