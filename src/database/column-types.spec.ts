import { jsonObjectTransformer, jsonTransformer } from 'src/database/column-types';

describe('jsonObjectTransformer', () => {
  it('round-trips objects and keeps null', () => {
    const value = { a: 1, nested: { list: [1, 'two', null] }, text: 'ünïcødé 🚀' };
    const stored = jsonObjectTransformer.to(value) as string;
    expect(typeof stored).toBe('string');
    expect(jsonObjectTransformer.from(stored)).toEqual(value);
    expect(jsonObjectTransformer.to(null)).toBeNull();
    expect(jsonObjectTransformer.to(undefined)).toBeNull();
    expect(jsonObjectTransformer.from(null)).toBeNull();
  });
});

describe('stored JSON that does not parse (a row damaged outside the server)', () => {
  it('reads an object column as a marked stand-in with the start of what is stored', () => {
    expect(jsonObjectTransformer.from('{"from":"PEND')).toEqual({ unreadable: '{"from":"PEND' });
    expect(jsonObjectTransformer.from(`{${'x'.repeat(500)}`)).toEqual({
      unreadable: `{${'x'.repeat(199)}`,
    });
  });

  it('reads any other JSON column as null, as a value never stored', () => {
    expect(jsonTransformer.from('["tes')).toBeNull();
    expect(jsonTransformer.from('["test/a.test.js"]')).toEqual(['test/a.test.js']);
  });
});
