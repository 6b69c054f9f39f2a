import { jsonText, jsonTextOrNull, NOT_WRITABLE } from 'src/common/json-text';

/** An array nested `depth` deep, as JSON.parse makes it from text an agent printed. */
function nested(depth: number): unknown {
  return JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
}

describe('jsonText', () => {
  it('writes what JSON.stringify writes', () => {
    expect(jsonText({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}');
    expect(jsonText(undefined)).toBe('null');
  });

  it('stands a marker for a value nested deeper than the stack allows, instead of throwing', () => {
    const deep = nested(200_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(jsonTextOrNull(deep)).toBeNull();
    expect(JSON.parse(jsonText(deep))).toBe(NOT_WRITABLE);
  });
});
