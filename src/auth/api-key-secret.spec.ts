import { createHash, timingSafeEqual } from 'node:crypto';
import { KEY_PATTERN } from 'src/access';
import {
  bearerToken,
  generateKeySecret,
  hashKey,
  keyMatches,
  prefixOf,
  tokenMatches,
} from 'src/auth/api-key-secret';

jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});

const compared = timingSafeEqual as jest.MockedFunction<typeof timingSafeEqual>;

describe('API key material', () => {
  beforeEach(() => compared.mockClear());

  it('is a public prefix and 256 random bits; only its SHA-256 is kept', () => {
    const a = generateKeySecret();
    const b = generateKeySecret();
    expect(a.key).toMatch(KEY_PATTERN);
    expect(a.key.startsWith(`${a.prefix}_`)).toBe(true);
    expect(a.key).not.toBe(b.key);
    expect(a.prefix).not.toBe(b.prefix);
    expect(a.hash).toBe(createHash('sha256').update(a.key).digest('hex'));
    expect(a.hash).not.toContain(a.key.slice(a.prefix.length + 1));
    expect(prefixOf(a.key)).toBe(a.prefix);
    expect(prefixOf(`${a.key}x`)).toBeNull();
    expect(prefixOf('cta_nothex000000_x')).toBeNull();
  });

  it('compares keys in constant time, also when no key has the prefix', () => {
    const { key, hash } = generateKeySecret();
    expect(keyMatches(key, hash)).toBe(true);
    expect(keyMatches(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`, hash)).toBe(false);
    expect(keyMatches(key, null)).toBe(false);
    expect(compared).toHaveBeenCalledTimes(3);
    for (const [a, b] of compared.mock.calls) {
      expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
    }
  });

  it('compares the metrics token in constant time whatever its length', () => {
    expect(tokenMatches('s3cret-metrics-token', 's3cret-metrics-token')).toBe(true);
    expect(tokenMatches('short', 's3cret-metrics-token')).toBe(false);
    expect(compared).toHaveBeenCalledTimes(2);
  });

  it('hashes distinct keys apart', () => {
    expect(hashKey('a')).not.toBe(hashKey('b'));
  });

  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
    ['Basic abc', null],
    ['Bearer', null],
    ['Bearer a b', null],
    ['abc', null],
  ])('reads %j as the token %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it('reads no token without the header', () => {
    expect(bearerToken(undefined)).toBeNull();
  });
});
