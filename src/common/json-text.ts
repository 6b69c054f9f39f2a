/**
 * `JSON.stringify(value)`, or null where it cannot be written: nested deeper than the engine's
 * stack allows (a line an agent printed: `[[[[...]]]]`), a cycle, a BigInt. What an agent or a
 * project wrote is stored and compared; it is never a reason for the server to fail.
 */
export function jsonTextOrNull(value: unknown): string | null {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return null;
  }
}

/** `jsonTextOrNull`, with a JSON string saying so in place of what cannot be written. */
export function jsonText(value: unknown): string {
  return jsonTextOrNull(value) ?? JSON.stringify(NOT_WRITABLE);
}

/** What stands for a value `jsonText` cannot write. */
export const NOT_WRITABLE = '[not stored: nested too deeply to write as JSON]';
