import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readChildFile, readChildFileAsync } from 'src/process/child-files';

describe.each([
  ['readChildFile', (path: string, max: number) => Promise.resolve(readChildFile(path, max))],
  ['readChildFileAsync', readChildFileAsync],
])('%s', (_name, read) => {
  const dir = mkdtempSync(join(tmpdir(), 'child-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a regular file whole, or its first maxBytes', async () => {
    const file = join(dir, 'report.xml');
    writeFileSync(file, 'é'.repeat(1000));
    expect(await read(file, 1 << 20)).toBe('é'.repeat(1000));
    expect(await read(file, 10)).toBe('é'.repeat(5));
    writeFileSync(join(dir, 'empty'), '');
    expect(await read(join(dir, 'empty'), 1 << 20)).toBe('');
  });

  it('reads nothing through a symbolic link, from a directory or a missing file', async () => {
    writeFileSync(join(dir, 'secret'), 'secret');
    symlinkSync(join(dir, 'secret'), join(dir, 'link.xml'));
    mkdirSync(join(dir, 'a-directory'));
    expect(await read(join(dir, 'link.xml'), 100)).toBeNull();
    expect(await read(join(dir, 'a-directory'), 100)).toBeNull();
    expect(await read(join(dir, 'missing'), 100)).toBeNull();
  });
});
