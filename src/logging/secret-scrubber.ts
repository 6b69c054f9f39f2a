import type { Writable } from 'node:stream';
import { KEY_MATERIAL } from 'src/access';
import { ExactSecrets } from 'src/common';
import { turnBatchedWrites } from 'src/logging/turn-batched-writes';

/** `Bearer <token>` in any text. */
const BEARER = /(Bearer\s+)[^\s"',;]+/gi;
/** The password of a URL with credentials (`mysql://user:password@host`). */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s"]*:)[^/\s"]+@/gi;

/**
 * Removes secrets from every log line before it is written: API keys (their public prefix kept),
 * bearer tokens, passwords in URLs, and the exact values of the server's own secrets (the database
 * password, METRICS_TOKEN, ANTHROPIC_API_KEY), as written and JSON-escaped. The last line of
 * defence: the code never logs them on purpose.
 */
export class SecretScrubber {
  private readonly secrets: ExactSecrets;

  constructor(secrets: readonly (string | undefined)[]) {
    this.secrets = new ExactSecrets(secrets);
  }

  scrub(text: string): string {
    let out = text.replace(KEY_MATERIAL, '$1_[REDACTED]').replace(BEARER, '$1[REDACTED]');
    // The URL pattern is tried at every word; text without a URL (most lines) skips it.
    if (out.includes('://')) out = out.replace(URL_PASSWORD, '$1***@');
    return this.secrets.redact(out);
  }
}

/**
 * A stream (pino's destination, or pino-pretty's) that scrubs what is written to it, then writes
 * it to `target`, the lines of one turn of the event loop together (`turnBatchedWrites`).
 */
export function scrubbingDestination(
  target: NodeJS.WritableStream,
  scrubber: SecretScrubber,
): Writable {
  return turnBatchedWrites(target, (text) => scrubber.scrub(text));
}
