/** One line of the CLI's stdout, without its newline. */
export interface SplitLine {
  text: string;
  /**
   * True when the line could not be kept usable: even with its strings shortened it is longer than
   * `maxLineBytes` plus the slack (or it ended inside a string being shortened). `text` is then
   * only its start, for a message.
   */
  truncated: boolean;
  /**
   * True when string values of an over-long line were shortened to fit (each cut string ends with
   * a `[... N bytes cut]` marker before its closing quote): the line is still valid JSON when the
   * CLI's line was. Never true together with `truncated`.
   */
  shortened?: boolean;
  /** Length of the whole line as the CLI printed it, in bytes. */
  bytes: number;
}

export interface SplitterOptions {
  /** Bytes outside strings (and markers) kept beyond `maxLineBytes` before a line is given up. */
  slackBytes?: number;
  /** Past `maxLineBytes`, each string keeps at least this many bytes before it is shortened. */
  stringHeadBytes?: number;
}

export const DEFAULT_SLACK_BYTES = 256 * 1024;
export const DEFAULT_STRING_HEAD_BYTES = 256;

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LETTER_U = 0x75;

function hexValue(b: number): number {
  return b <= 0x39 ? b - 0x30 : (b | 0x20) - 0x57;
}

/**
 * Splits a byte stream into newline-delimited lines with bounded memory, JSON-string aware.
 *
 * The CLI's lines are JSON objects whose bulk is string values (text, tool input, tool output), so
 * once `maxLineBytes` of a line are kept, the rest of each string is dropped as it arrives and, when
 * the string closes, a `[... N bytes cut]` marker is put before its closing quote: the line comes
 * out shorter but still valid JSON (`shortened`). Strings are tracked incrementally across chunks
 * (backslash escapes included); a cut starts only at a safe point: not inside an escape (a
 * `\uXXXX` keeps its 4 hex digits, a high surrogate escape keeps the low one after it), not on a
 * UTF-8 continuation byte. Past the cap every string still keeps its first `stringHeadBytes`, so
 * keys and short values (`"type":"result"`) survive. Bytes outside strings, and markers, are kept up
 * to `slackBytes` beyond the cap; past that the line is hopeless: the rest is dropped and it is
 * marked `truncated`. A raw newline always ends a line (JSON strings cannot contain one).
 * So a line never holds more than `maxLineBytes + slackBytes` in memory, however long it is.
 *
 * Cost: a line within the cap is only copied, as a plain splitter would. A longer one is scanned
 * once from its start when it passes the cap, then as it arrives: plain string bytes in a tight
 * loop, dropped string bytes and bytes outside strings with `indexOf` jumps (about +55 ms on 50 MB
 * of 5 MB lines of escape-dense text, nothing measurable on lines within the cap).
 */
export class NdjsonLineSplitter {
  private readonly slackBytes: number;
  private readonly stringHeadBytes: number;

  private pending: Buffer[] = [];
  /** Bytes in `pending` (markers included). */
  private kept = 0;
  private lineBytes = 0;
  // JSON string state of the current line.
  private inString = false;
  private afterBackslash = false;
  private hexLeft = 0;
  private hexAcc = 0;
  /** The previous byte completed a `\uD800`-`\uDBFF` escape: its low surrogate must follow it. */
  private afterHighSurrogate = false;
  /** Bytes of the current string kept so far. */
  private stringKept = 0;
  /** Dropping the rest of the current string. */
  private eliding = false;
  private elided = 0;
  private shortened = false;
  /** Dropping the rest of the line. */
  private hopeless = false;
  /** The string state above is up to date (the line has passed the cap). */
  private scanned = false;

  constructor(
    private readonly maxLineBytes: number,
    options: SplitterOptions = {},
  ) {
    this.slackBytes = options.slackBytes ?? DEFAULT_SLACK_BYTES;
    this.stringHeadBytes = options.stringHeadBytes ?? DEFAULT_STRING_HEAD_BYTES;
  }

  push(chunk: Buffer): SplitLine[] {
    const lines: SplitLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      this.scan(chunk, start, end);
      if (newline === -1) break;
      lines.push(this.takeLine());
      start = newline + 1;
    }
    return lines;
  }

  /** The last line when the stream ended without a newline. */
  end(): SplitLine[] {
    return this.lineBytes > 0 ? [this.takeLine()] : [];
  }

  /** Takes in `buf[start, end)`, a part of one line (no newline in it). */
  private scan(buf: Buffer, start: number, end: number): void {
    this.lineBytes += end - start;
    if (!this.scanned) {
      // A line within the cap needs no JSON tracking: its bytes are only kept. The first time it
      // would pass the cap, what was kept is scanned once to learn the string state.
      if (this.kept + (end - start) <= this.maxLineBytes) {
        if (end > start) this.pending.push(Buffer.from(buf.subarray(start, end)));
        this.kept += end - start;
        return;
      }
      this.catchUp();
    }
    let i = start;
    while (i < end && !this.hopeless) {
      i = this.eliding ? this.skipString(buf, i, end) : this.keepRun(buf, i, end);
    }
  }

  /** Runs the string tracking over the bytes kept so far (all within the cap: nothing is cut). */
  private catchUp(): void {
    const kept = this.pending;
    this.pending = [];
    this.kept = 0;
    this.scanned = true;
    for (const part of kept) this.keepRun(part, 0, part.length, false);
  }

  /** Drops string bytes up to the closing quote (left for `keepRun`), then adds the marker. */
  private skipString(buf: Buffer, start: number, end: number): number {
    let escaped = this.afterBackslash;
    let from = start;
    let quote = -1;
    while (from < end) {
      const q = buf.indexOf(QUOTE, from);
      const stop = q === -1 || q >= end ? end : q;
      // The backslashes just before `stop` (and a pending one) decide whether it is escaped.
      let k = stop;
      while (k > from && buf[k - 1] === BACKSLASH) k--;
      const run = stop - k + (k === from && escaped ? 1 : 0);
      if (stop === end) {
        escaped = run % 2 === 1;
        break;
      }
      if (run % 2 === 0) {
        quote = stop;
        escaped = false;
        break;
      }
      escaped = false;
      from = stop + 1;
    }
    const i = quote === -1 ? end : quote;
    this.afterBackslash = escaped;
    this.elided += i - start;
    if (quote !== -1) {
      const marker = Buffer.from(`[... ${this.elided} bytes cut]`, 'latin1');
      this.eliding = false;
      this.elided = 0;
      if (this.kept + marker.length > this.maxLineBytes + this.slackBytes) {
        this.hopeless = true;
      } else {
        this.pending.push(marker);
        this.kept += marker.length;
      }
    }
    return i;
  }

  /** Keeps bytes from `start` until the end, a string to shorten, or the hard limit. */
  private keepRun(buf: Buffer, start: number, end: number, copy = true): number {
    // Indexes at which the kept bytes would reach the cap and the hard limit.
    const capAt = start + (this.maxLineBytes - this.kept);
    const hardAt = capAt + this.slackBytes;
    const limit = Math.min(end, hardAt);
    const head = this.stringHeadBytes;
    let inString = this.inString;
    let escaped = this.afterBackslash;
    let hexLeft = this.hexLeft;
    let hexAcc = this.hexAcc;
    let high = this.afterHighSurrogate;
    let stringKept = this.stringKept;
    let i = start;
    while (i < limit) {
      if (!inString) {
        const q = buf.indexOf(QUOTE, i);
        if (q === -1 || q >= limit) {
          i = limit;
          break;
        }
        i = q + 1;
        inString = true;
        stringKept = 0;
        continue;
      }
      if (escaped) {
        escaped = false;
        high = false;
        if (buf[i] === LETTER_U) {
          hexLeft = 4;
          hexAcc = 0;
        }
        i++;
        stringKept++;
        continue;
      }
      if (hexLeft > 0) {
        hexAcc = hexAcc * 16 + hexValue(buf[i]);
        if (--hexLeft === 0) high = hexAcc >= 0xd800 && hexAcc <= 0xdbff;
        i++;
        stringKept++;
        continue;
      }
      // Plain string bytes: the tight loop, up to a quote, a \u escape or where a cut may start.
      const cutFrom = Math.max(capAt, i + head - stringKept);
      const stop = Math.min(limit, cutFrom);
      let j = i;
      while (j < stop) {
        const b = buf[j];
        if (b === QUOTE) break;
        if (b === BACKSLASH) {
          // A two-byte escape (\n, \", \\ ...) wholly before `stop` is skipped here; others below.
          if (j + 1 < stop && buf[j + 1] !== LETTER_U) j += 2;
          else break;
        } else j++;
      }
      if (j > i) {
        high = false;
        stringKept += j - i;
        i = j;
        if (i === limit) break;
      }
      const b = buf[i];
      if (b === QUOTE) {
        inString = false;
        i++;
        continue;
      }
      if (i >= cutFrom && !high && (b & 0xc0) !== 0x80) {
        this.eliding = true;
        this.shortened = true;
        break;
      }
      high = false;
      if (b === BACKSLASH) escaped = true;
      i++;
      stringKept++;
    }
    // One more byte to keep at the hard limit: the line is hopeless.
    if (i === hardAt && i < end) this.hopeless = true;
    if (i > start) {
      this.pending.push(copy ? Buffer.from(buf.subarray(start, i)) : buf.subarray(start, i));
      this.kept += i - start;
    }
    this.inString = inString;
    this.afterBackslash = escaped;
    this.hexLeft = hexLeft;
    this.hexAcc = hexAcc;
    this.afterHighSurrogate = high;
    this.stringKept = stringKept;
    return this.hopeless ? end : i;
  }

  private takeLine(): SplitLine {
    let text = Buffer.concat(this.pending).toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    // A line that ends inside a string being shortened was not valid JSON: not usable either.
    const truncated = this.hopeless || this.eliding;
    const line: SplitLine = { text, truncated, bytes: this.lineBytes };
    if (this.shortened && !truncated) line.shortened = true;
    this.pending = [];
    this.kept = 0;
    this.lineBytes = 0;
    this.inString = false;
    this.afterBackslash = false;
    this.hexLeft = 0;
    this.hexAcc = 0;
    this.afterHighSurrogate = false;
    this.stringKept = 0;
    this.eliding = false;
    this.elided = 0;
    this.shortened = false;
    this.hopeless = false;
    this.scanned = false;
    return line;
  }
}
