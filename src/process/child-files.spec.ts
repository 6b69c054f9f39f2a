import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readChildFile } from 'src/process/child-files';

describe('readChildFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'child-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a regular file whole, or its first maxBytes', () => {
    const file = join(dir, 'report.xml');
    writeFileSync(file, 'é'.repeat(1000));
    expect(readChildFile(file, 1 << 20)).toBe('é'.repeat(1000));
    expect(readChildFile(file, 10)).toBe('é'.repeat(5));
    writeFileSync(join(dir, 'empty'), '');
    expect(readChildFile(join(dir, 'empty'), 1 << 20)).toBe('');
  });

  it('reads nothing through a symbolic link, from a directory or a missing file', () => {
    writeFileSync(join(dir, 'secret'), 'secret');
    symlinkSync(join(dir, 'secret'), join(dir, 'link.xml'));
    mkdirSync(join(dir, 'a-directory'));
    expect(readChildFile(join(dir, 'link.xml'), 100)).toBeNull();
    expect(readChildFile(join(dir, 'a-directory'), 100)).toBeNull();
    expect(readChildFile(join(dir, 'missing'), 100)).toBeNull();
  });
});
