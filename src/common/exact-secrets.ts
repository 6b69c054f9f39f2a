/** Shortest exact secret worth searching for (shorter ones would blank ordinary words). */
const MIN_SECRET_LENGTH = 8;

/**
 * The exact values of known secrets, found in text as written and JSON-escaped, and replaced by
 * `[REDACTED]` (the longest first, so that one holding another goes whole).
 */
export class ExactSecrets {
  private readonly values: string[];

  constructor(secrets: readonly (string | undefined)[]) {
    const known = secrets.filter(
      (s): s is string => s !== undefined && s.length >= MIN_SECRET_LENGTH,
    );
    this.values = [...new Set(known.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))].sort(
      (a, b) => b.length - a.length,
    );
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.values) {
      if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
    }
    return out;
  }
}
