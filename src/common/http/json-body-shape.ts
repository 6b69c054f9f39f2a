/** Deepest nesting of arrays and objects a body may have (no request of this API needs more than a few). */
export const MAX_JSON_DEPTH = 32;

/** A body nested deeper than MAX_JSON_DEPTH (found before it is parsed). */
export class JsonTooDeepError extends Error {}

/** An open array (null) or object (the names seen in it so far, and whether a name comes next). */
type Open = { names: Set<string>; nameNext: boolean } | null;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The name a JSON string's bytes `[start, end]` (both quotes included) spell, escapes decoded. */
function nameAt(body: Buffer, start: number, end: number, escaped: boolean): string | null {
  if (!escaped) return body.toString('utf8', start + 1, end);
  try {
    return JSON.parse(body.toString('utf8', start, end + 1)) as string;
  } catch {
    return null;
  }
}

/**
 * Scans a JSON body's bytes once, before it is parsed: throws JsonTooDeepError when it nests
 * arrays and objects deeper than MAX_JSON_DEPTH, and returns the first name that appears twice in
 * one object (null when none does). `JSON.parse` keeps the last of two, silently: a request
 * `{"description": "a", "description": "b"}` means something else to each reader that takes the
 * first (RFC 8259 leaves it to the reader; I-JSON, RFC 7493, forbids it). Names are compared as
 * text, so `"a"` and `"\u0061"` are the same name. A body that is no JSON may give any answer:
 * the parser refuses it anyway.
 */
export function scanJsonBody(body: Buffer): string | null {
  const open: Open[] = [];
  let duplicate: string | null = null;
  for (let i = 0; i < body.length; i += 1) {
    const byte = body[i];
    if (byte === QUOTE) {
      const start = i;
      let escaped = false;
      for (i += 1; i < body.length && body[i] !== QUOTE; i += 1) {
        if (body[i] === BACKSLASH) {
          escaped = true;
          i += 1;
        }
      }
      const top = open[open.length - 1];
      if (top && top.nameNext) {
        top.nameNext = false;
        const name = nameAt(body, start, i, escaped);
        if (name !== null && duplicate === null) {
          if (top.names.has(name)) duplicate = name;
          else top.names.add(name);
        }
      }
    } else if (byte === 0x7b || byte === 0x5b) {
      open.push(byte === 0x7b ? { names: new Set(), nameNext: true } : null);
      if (open.length > MAX_JSON_DEPTH) throw new JsonTooDeepError();
    } else if (byte === 0x7d || byte === 0x5d) {
      open.pop();
    } else if (byte === 0x2c) {
      const top = open[open.length - 1];
      if (top) top.nameNext = true;
    }
  }
  return duplicate;
}
