/** One line of the CLI's stdout, without its newline. */
export interface SplitLine {
  text: string;
  /** True when the line was longer than the cap and only its first `maxLineBytes` are kept. */
  truncated: boolean;
  /** Length of the whole line as the CLI printed it, in bytes. */
  bytes: number;
}

/**
 * Splits a byte stream into newline-delimited lines, keeping at most `maxLineBytes` of any line:
 * the rest of an over-long line is dropped as it arrives, so an endless line costs bounded memory.
 */
export class NdjsonLineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lineBytes = 0;

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): SplitLine[] {
    const lines: SplitLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline;
      this.keep(chunk.subarray(start, end));
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

  private keep(part: Buffer): void {
    this.lineBytes += part.length;
    const room = this.maxLineBytes - this.pendingBytes;
    if (room <= 0 || part.length === 0) return;
    const kept = part.length <= room ? part : part.subarray(0, room);
    this.pending.push(Buffer.from(kept));
    this.pendingBytes += kept.length;
  }

  private takeLine(): SplitLine {
    let text = Buffer.concat(this.pending).toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const line = { text, truncated: this.lineBytes > this.pendingBytes, bytes: this.lineBytes };
    this.pending = [];
    this.pendingBytes = 0;
    this.lineBytes = 0;
    return line;
  }
}
