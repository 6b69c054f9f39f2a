import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { KEY_PATTERN } from 'src/access';

/*
 * Keys look like `cta_<12 hex digits>_<43 base64url characters>` (KEY_PATTERN): a public prefix
 * (48 random bits, stored in clear) and 256 random bits. Only SHA-256 of the whole key is stored.
 */

export interface NewKeySecret {
  key: string;
  prefix: string;
  hash: string;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateKeySecret(): NewKeySecret {
  const prefix = `cta_${randomBytes(6).toString('hex')}`;
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashKey(key) };
}

/** The prefix of a well-formed key, or null. */
export function prefixOf(key: string): string | null {
  return KEY_PATTERN.exec(key)?.[1] ?? null;
}

/** A hash no key has: compared against when no key has the prefix, so both paths do the same work. */
const NO_KEY_HASH = hashKey('no key has this hash');

/**
 * True when `key` hashes to `storedHash`, compared in constant time (`timingSafeEqual` on the
 * 32-byte digests); with no stored hash the comparison still runs, against a hash no key has.
 */
export function keyMatches(key: string, storedHash: string | null): boolean {
  const expected = Buffer.from(storedHash ?? NO_KEY_HASH, 'hex');
  const actual = Buffer.from(hashKey(key), 'hex');
  return (
    expected.length === actual.length && timingSafeEqual(expected, actual) && storedHash !== null
  );
}

/** True when `token` equals `secret`, compared in constant time over their SHA-256 digests. */
export function tokenMatches(token: string, secret: string): boolean {
  return timingSafeEqual(
    createHash('sha256').update(token).digest(),
    createHash('sha256').update(secret).digest(),
  );
}

/**
 * True when a request carries more than one Authorization header. Node keeps only the first in
 * `headers`, so a key a proxy added after the client's (or the other way round) would be
 * chosen silently: such a request authenticates with neither.
 */
export function hasSeveralAuthorizations(rawHeaders: readonly string[]): boolean {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === 13 && name.toLowerCase() === 'authorization') seen += 1;
  }
  return seen > 1;
}

/** The token of an `Authorization: Bearer <token>` header; null when there is none. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  return match ? match[1] : null;
}
