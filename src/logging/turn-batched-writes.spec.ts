import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { turnBatchedWrites } from 'src/logging/turn-batched-writes';

/** A target that records each write it is given. */
function recorder(): { target: NodeJS.WritableStream; writes: string[] } {
  const writes: string[] = [];
  const target = { write: (chunk: string) => writes.push(chunk) > 0 };
  return { target: target as unknown as NodeJS.WritableStream, writes };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A process that logs two lines through the stream to its stdout, then ends as `how` says, right
 * away, in the same turn of its event loop.
 */
const EXIT_SCRIPT = `
const { turnBatchedWrites } = require('src/logging/turn-batched-writes');
const out = turnBatchedWrites(process.stdout, (text) => text.toUpperCase());
out.write('first\\n');
out.write('last\\n');
if (process.argv[1] === 'exit') process.exit(3);
if (process.argv[1] === 'throw') throw new Error('boom');
`;

describe('turnBatchedWrites', () => {
  it("writes a turn's lines once the turn is over, as one transformed write", async () => {
    const { target, writes } = recorder();
    const transformed: string[] = [];
    const out = turnBatchedWrites(target, (text) => {
      transformed.push(text);
      return `[${text}]`;
    });
    out.write('a\n');
    out.write(Buffer.from('b\n'));
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual(['[a\nb\n]']);
    expect(transformed).toEqual(['a\nb\n']);

    out.write('c\n');
    await nextTurn();
    expect(writes).toEqual(['[a\nb\n]', '[c\n]']);
  });

  it('writes at once when a turn holds more than 64 KiB, then gathers again', async () => {
    const { target, writes } = recorder();
    const out = turnBatchedWrites(target, (text) => text);
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 64; i += 1) out.write(line);
    expect(writes).toEqual([]);
    out.write(line);
    expect(writes).toEqual([line.repeat(65)]);
    out.write('tail\n');
    expect(writes).toHaveLength(1);
    await nextTurn();
    expect(writes).toEqual([line.repeat(65), 'tail\n']);
  });

  it.each([
    ['exit', 3],
    ['throw', 1],
  ])('writes what it holds when the process ends by %s in the same turn', async (how, code) => {
    const run = promisify(execFile)(process.execPath, [
      '-r',
      require.resolve('ts-node/register/transpile-only'),
      '-r',
      require.resolve('tsconfig-paths/register'),
      '-e',
      EXIT_SCRIPT,
      how,
    ]);
    await expect(run).rejects.toMatchObject({ code, stdout: 'FIRST\nLAST\n' });
  });
});
