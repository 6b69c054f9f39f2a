/**
 * Keeps at most `maxBytes` of a stream: the first half and the most recent half, with a
 * `[... N bytes cut ...]` marker between them once anything was dropped. Memory stays bounded
 * however much is pushed.
 */
export class BoundedBuffer {
  private readonly headMax: number;
  private readonly tailMax: number;
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;

  constructor(private readonly maxBytes: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 2)
      throw new RangeError('maxBytes must be an integer >= 2');
    this.headMax = Math.floor(maxBytes / 2);
    this.tailMax = maxBytes - this.headMax;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headBytes < this.headMax) {
      const take = Math.min(this.headMax - this.headBytes, rest.length);
      this.head.push(Buffer.from(rest.subarray(0, take)));
      this.headBytes += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0) return;
    if (rest.length >= this.tailMax) {
      this.tail = [Buffer.from(rest.subarray(rest.length - this.tailMax))];
      this.tailBytes = this.tailMax;
      return;
    }
    this.tail.push(Buffer.from(rest));
    this.tailBytes += rest.length;
    while (this.tailBytes > this.tailMax) {
      const first = this.tail[0];
      const excess = this.tailBytes - this.tailMax;
      if (first.length <= excess) {
        this.tail.shift();
        this.tailBytes -= first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailBytes -= excess;
      }
    }
  }

  /** Bytes pushed so far, kept or not. */
  get totalBytes(): number {
    return this.total;
  }

  /** True once anything was dropped. */
  get truncated(): boolean {
    return this.total > this.maxBytes;
  }

  /** Bytes dropped so far. */
  get cutBytes(): number {
    return Math.max(0, this.total - this.headBytes - this.tailBytes);
  }

  toString(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    if (!this.truncated) return head + tail;
    return `${head}\n[... ${this.cutBytes} bytes cut ...]\n${tail}`;
  }

  /** The most recent bytes kept, at most `maxBytes` of them, as text. */
  tailString(maxBytes: number): string {
    const all = Buffer.concat(this.truncated ? this.tail : [...this.head, ...this.tail]);
    return all.subarray(Math.max(0, all.length - maxBytes)).toString('utf8');
  }
}
