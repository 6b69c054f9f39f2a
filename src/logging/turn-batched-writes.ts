import { Writable } from 'node:stream';

/** Destinations holding lines not yet written, for the last write when the process exits. */
const holding = new Set<() => void>();
let exitHookInstalled = false;

/** Held text past which a turn's lines are written at once rather than at the end of the turn. */
const MAX_HELD_CHARS = 64 * 1024;

function writeAllHeld(): void {
  for (const write of [...holding]) write();
}

/**
 * A stream that gathers what is written to it during one turn of the event loop and hands it to
 * `target` as one write (after `transform`) when the turn's I/O callbacks are done
 * (`setImmediate`): under load many request lines share one write call rather than one each, and
 * no line waits longer than the turn it was logged in. What is held when the process exits (an
 * explicit `process.exit`, an uncaught exception, the end of the loop) is written then, so a line
 * logged right before exiting is not lost; only a kill that ends the process unannounced loses
 * the lines of the turn it interrupts. A turn that logs more than `MAX_HELD_CHARS` writes as it
 * goes, so what is held stays bounded.
 */
export function turnBatchedWrites(
  target: NodeJS.WritableStream,
  transform: (text: string) => string,
): Writable {
  let held: string[] = [];
  let heldChars = 0;
  const writeHeld = (): void => {
    holding.delete(writeHeld);
    if (held.length === 0) return;
    const text = held.join('');
    held = [];
    heldChars = 0;
    target.write(transform(text));
  };
  if (!exitHookInstalled) {
    process.on('exit', writeAllHeld);
    exitHookInstalled = true;
  }
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done): void {
      if (held.length === 0) {
        holding.add(writeHeld);
        setImmediate(writeHeld);
      }
      const text = chunk.toString();
      held.push(text);
      heldChars += text.length;
      if (heldChars > MAX_HELD_CHARS) writeHeld();
      done();
    },
  });
}
