import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/**
 * The text of the regular file `path` when it holds at most `maxBytes` bytes: a file the operator
 * names in the configuration. It is opened without waiting (a FIFO there would hold the start for
 * good) and refused when it is not a regular file (`/dev/zero` would fill the memory) or is
 * larger. Throws what `open` throws (with its `code`), or an Error saying which of the two it is.
 */
export function readSmallRegularFile(path: string, maxBytes: number): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    if (!fstatSync(fd).isFile()) throw new Error('not a regular file');
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Why `readSmallRegularFile` could not read a file, in a word or two (`ENOENT`, `not a regular file`). */
export function unreadableReason(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code ?? message;
}
