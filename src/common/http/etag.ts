import { hash } from 'node:crypto';

/**
 * The weak ETag of a response body, as Express computes it by default (`W/"<length in hex>-<27
 * characters of its SHA-1 in base64>"`). Express answers with it
 * (`configureApp` sets it) and so does the status read's fast path, so a client's
 * `If-None-Match` matches whichever of the two answered before. A UTF-8 string is hashed as it is
 * (`crypto.hash`, one call), without copying it into a Buffer first.
 */
export function weakEtag(body: string | Buffer, encoding: BufferEncoding = 'utf8'): string {
  const data =
    typeof body === 'string' && encoding !== 'utf8' && encoding !== 'utf-8'
      ? Buffer.from(body, encoding)
      : body;
  const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  return `W/"${length.toString(16)}-${hash('sha1', data, 'base64').slice(0, 27)}"`;
}
