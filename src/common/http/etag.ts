import { createHash } from 'node:crypto';

/**
 * The weak ETag of a response body, as Express computes it by default (`W/"<length in hex>-<27
 * characters of its SHA-1 in base64>"`). Express answers with it
 * (`configureApp` sets it) and so does the status read's fast path, so a client's
 * `If-None-Match` matches whichever of the two answered before.
 */
export function weakEtag(body: string | Buffer, encoding?: BufferEncoding): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, encoding) : body;
  return `W/"${bytes.length.toString(16)}-${createHash('sha1').update(bytes).digest('base64').slice(0, 27)}"`;
}
