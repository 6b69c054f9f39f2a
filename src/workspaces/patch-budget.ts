/** Where the next file's diff starts in a unified diff: a line `diff --git ...`. */
const FILE_HEADER = Buffer.from('\ndiff --git ');

/** What a patch cut to a budget holds. */
export interface BudgetedPatch {
  /** Whole files' diffs, in the order printed; or the start of the first when none fits. */
  kept: Buffer;
  /** How many files' diffs `kept` holds whole. */
  files: number;
  /** The positions (0 = first printed) of the files whose diff is not held whole. */
  left: number[];
}

/**
 * A unified diff, read as it is printed, cut to at most `maxBytes`: each file's diff is kept
 * whole if it still fits in what the files before it left of the budget, else left out, and the
 * files after it are still looked at (a smaller one may fit). When not even one fits, the start
 * of the first file is kept, cut at a line end. Holds at most `maxBytes` and one file's diff up to
 * the point where it no longer fits: a huge diff passes through, it is not collected.
 */
export class PatchBudget {
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private files = 0;
  private readonly left: number[] = [];
  /** The diff of the file being read, while it still fits. */
  private file: Buffer[] = [];
  private fileBytes = 0;
  private fileIndex = -1;
  private fileTooLong = false;
  /** Not yet assigned to a file: a header may begin in its last bytes. */
  private pending = Buffer.alloc(0);
  /** The first `maxBytes + 1` bytes printed: the start of the first file, if none fits. */
  private head: Buffer[] = [];
  private headBytes = 0;

  constructor(private readonly maxBytes: number) {}

  write(chunk: Buffer): void {
    if (this.headBytes <= this.maxBytes) {
      const part = chunk.subarray(0, this.maxBytes + 1 - this.headBytes);
      this.head.push(part);
      this.headBytes += part.length;
    }
    let rest = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    for (let at = rest.indexOf(FILE_HEADER); at !== -1; at = rest.indexOf(FILE_HEADER)) {
      this.append(rest.subarray(0, at + 1));
      this.closeFile();
      rest = rest.subarray(at + 1);
    }
    const safe = rest.length - (FILE_HEADER.length - 1);
    if (safe > 0) this.append(rest.subarray(0, safe));
    this.pending = Buffer.from(rest.subarray(Math.max(safe, 0)));
  }

  /** The patch as cut, once everything was written. */
  end(): BudgetedPatch {
    this.append(this.pending);
    this.pending = Buffer.alloc(0);
    this.closeFile();
    if (this.files > 0 || this.left.length === 0) {
      return { kept: Buffer.concat(this.kept), files: this.files, left: this.left };
    }
    const head = Buffer.concat(this.head);
    const lineEnd = head.lastIndexOf('\n', this.maxBytes - 1);
    return {
      kept: head.subarray(0, lineEnd >= 0 ? lineEnd + 1 : this.maxBytes),
      files: 0,
      left: this.left,
    };
  }

  private append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.fileIndex === -1) this.fileIndex = this.files + this.left.length;
    this.fileBytes += bytes.length;
    if (this.fileTooLong) return;
    if (this.keptBytes + this.fileBytes > this.maxBytes) {
      this.fileTooLong = true;
      this.file = [];
      return;
    }
    this.file.push(Buffer.from(bytes));
  }

  private closeFile(): void {
    if (this.fileIndex === -1) return;
    if (this.fileTooLong) {
      this.left.push(this.fileIndex);
    } else {
      this.kept.push(...this.file);
      this.keptBytes += this.fileBytes;
      this.files += 1;
    }
    this.file = [];
    this.fileBytes = 0;
    this.fileIndex = -1;
    this.fileTooLong = false;
  }
}
