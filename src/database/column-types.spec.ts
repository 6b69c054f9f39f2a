import { jsonObjectTransformer } from 'src/database/column-types';

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
