import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMALL_DIRECTORY_BYTES, smallDirectoryEntries } from 'src/common/small-directory';

describe('smallDirectoryEntries', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'small-dir-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a small directory at once, each entry with its type', () => {
    writeFileSync(join(dir, 'a'), 'a');
    mkdirSync(join(dir, 'b'));
    const entries = smallDirectoryEntries(dir, statSync(dir).size)!;
    expect(entries.map((e) => [e.name, e.isDirectory()]).sort()).toEqual([
      ['a', false],
      ['b', true],
    ]);
  });

  it('leaves a directory larger than the bound, or of no known size, to be read entry by entry', () => {
    for (let i = 0; i < 2000; i += 1) writeFileSync(join(dir, `file-${i}`), '');
    const size = statSync(dir).size;
    expect(size).toBeGreaterThan(SMALL_DIRECTORY_BYTES);
    expect(smallDirectoryEntries(dir, size)).toBeNull();
    expect(smallDirectoryEntries(dir, 0)).toBeNull();
  });

  it('throws what readdir throws for a directory that is gone', () => {
    expect(() => smallDirectoryEntries(join(dir, 'gone'), 4096)).toThrow(/ENOENT/);
  });
});
