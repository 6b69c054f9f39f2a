import { fitVarchar } from 'src/database/varchar-fit';

describe('fitVarchar', () => {
  it('keeps a text that fits as it is', () => {
    expect(fitVarchar('math adds', 9)).toBe('math adds');
  });

  it('keeps the start of a longer text and marks the cut within the length', () => {
    const name = `regression: node --test ${'x'.repeat(1200)}`;
    const cut = fitVarchar(name, 1000);
    expect(cut.length).toBe(1000);
    expect(cut.startsWith('regression: node --test xxx')).toBe(true);
    expect(cut).toMatch(/… \[cut: 1224 characters in all, sha256 [0-9a-f]{16}\]$/);
  });

  it('cuts one text the same way every time, and two texts with the same start differently', () => {
    const start = 'y'.repeat(1500);
    expect(fitVarchar(`${start} a`, 1000)).toBe(fitVarchar(`${start} a`, 1000));
    expect(fitVarchar(`${start} a`, 1000)).not.toBe(fitVarchar(`${start} b`, 1000));
  });

  it('never splits a character of two UTF-16 units', () => {
    const cut = fitVarchar(`a${'🚀'.repeat(600)}`, 1000);
    expect(cut.length).toBeLessThanOrEqual(1000);
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});
