import { PatchBudget } from 'src/workspaces/patch-budget';

/** One file's diff adding `lines` lines of `width` characters. */
const file = (name: string, lines: number, width = 1): string =>
  `diff --git a/${name} b/${name}\n--- a/${name}\n+++ b/${name}\n@@ -0,0 +1,${lines} @@\n${`+${'x'.repeat(width)}\n`.repeat(lines)}`;

/** The patch through a budget of `maxBytes`, written `chunkSize` bytes at a time. */
function cut(patch: string, maxBytes: number, chunkSize = patch.length) {
  const budget = new PatchBudget(maxBytes);
  const bytes = Buffer.from(patch);
  for (let at = 0; at < bytes.length; at += chunkSize) {
    budget.write(bytes.subarray(at, at + chunkSize));
  }
  const result = budget.end();
  return { ...result, kept: result.kept.toString() };
}

describe('a patch cut to a budget of bytes', () => {
  const [a, b, c, d] = [file('a', 5), file('b', 50), file('c', 5), file('d', 2, 400)];

  it.each([1, 3, 7, 11, 12, 64, 100_000])(
    'keeps the later files that fit after one that does not (written %i bytes at a time)',
    (chunkSize) => {
      const patch = a + b + c;
      expect(cut(patch, patch.length, chunkSize)).toEqual({ kept: patch, files: 3, left: [] });
      expect(cut(patch, a.length + c.length + 10, chunkSize)).toEqual({
        kept: a + c,
        files: 2,
        left: [1],
      });
    },
  );

  it('counts bytes, not lines: two long lines can be more than fifty short ones', () => {
    const patch = d + a + b;
    expect(Buffer.byteLength(d)).toBeGreaterThan(Buffer.byteLength(b));
    expect(cut(patch, a.length + b.length)).toEqual({ kept: a + b, files: 2, left: [0] });
  });

  it('keeps the start of the first file, at a line end, when no file fits whole', () => {
    const result = cut(b + d, 60, 5);
    expect(result.files).toBe(0);
    expect(result.left).toEqual([0, 1]);
    expect(b.startsWith(result.kept)).toBe(true);
    expect(Buffer.byteLength(result.kept)).toBeLessThanOrEqual(60);
    expect(result.kept.endsWith('\n')).toBe(true);
  });

  it('counts bytes of multi-byte characters', () => {
    const wide = file('é', 10, 30).replace(/x/g, 'é');
    const patch = wide + a;
    expect(wide.length + a.length).toBeLessThan(Buffer.byteLength(wide) - 1);
    expect(cut(patch, Buffer.byteLength(wide) - 1)).toEqual({
      kept: a,
      files: 1,
      left: [0],
    });
  });
});
