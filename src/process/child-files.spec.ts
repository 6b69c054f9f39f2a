import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import {
  childTempDir,
  copyChildFile,
  orphanedChildTempDirs,
  readChildFile,
  readChildFileAsync,
  removeChildTempDir,
} from 'src/process/child-files';
import { NO_ISOLATION } from 'src/process/child-isolation';

describe('copyChildFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'child-copy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('copies a file byte for byte, past one chunk, bytes that are no UTF-8 included', async () => {
    const bytes = Buffer.alloc(2.5 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 1) bytes[i] = (i * 7) % 256;
    writeFileSync(join(dir, 'big.test.js'), bytes);
    writeFileSync(join(dir, 'old.test.js'), 'what the base commit had, longer than the copy');
    expect(
      await copyChildFile(join(dir, 'big.test.js'), join(dir, 'old.test.js'), bytes.length),
    ).toBe(true);
    expect(readFileSync(join(dir, 'old.test.js')).equals(bytes)).toBe(true);
  });

  it('copies no prefix of a file larger than maxBytes: it throws', async () => {
    writeFileSync(join(dir, 'large.test.js'), 'x'.repeat(100));
    await expect(
      copyChildFile(join(dir, 'large.test.js'), join(dir, 'cut.test.js'), 99),
    ).rejects.toThrow(/larger than 99 bytes/);
    expect(existsSync(join(dir, 'cut.test.js'))).toBe(false);
  });

  it('follows a symbolic link at neither end', async () => {
    writeFileSync(join(dir, 'secret'), 'secret');
    symlinkSync(join(dir, 'secret'), join(dir, 'link.test.js'));
    expect(await copyChildFile(join(dir, 'link.test.js'), join(dir, 'out.js'), 100)).toBe(false);
    expect(existsSync(join(dir, 'out.js'))).toBe(false);
    writeFileSync(join(dir, 'a.test.js'), 'a');
    symlinkSync(join(dir, 'elsewhere.js'), join(dir, 'target.test.js'));
    await expect(
      copyChildFile(join(dir, 'a.test.js'), join(dir, 'target.test.js'), 100),
    ).rejects.toThrow(/ELOOP/);
    expect(existsSync(join(dir, 'elsewhere.js'))).toBe(false);
  });
});

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

  it('reads a file past the size read at once (256 KiB) whole, or its first maxBytes', async () => {
    const file = join(dir, 'large.xml');
    const text = 'abcdefgh'.repeat(48 * 1024);
    writeFileSync(file, text);
    expect(await read(file, 1 << 20)).toBe(text);
    expect(await read(file, 300 * 1024)).toBe(text.slice(0, 300 * 1024));
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

describe('removeChildTempDir', () => {
  const base = mkdtempSync(join(tmpdir(), 'child-temp-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  let made = 0;
  const dirWith = (files: number, subdirectory = false): string => {
    const dir = join(base, `d${(made += 1)}`);
    mkdirSync(dir);
    for (let i = 0; i < files; i += 1) writeFileSync(join(dir, `report-${i}.xml`), '<x/>');
    if (subdirectory) {
      mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
      writeFileSync(join(dir, 'sub', 'deeper', 'f'), 'f');
    }
    return dir;
  };

  it.each([
    ['empty', 0, false],
    ['with a report', 1, false],
    ['with a symbolic link (removed, its target kept)', 0, false],
    ['with more entries than are removed at once', 100, false],
    ['with a directory tree in it', 2, true],
  ])('removes a directory %s', async (name, files, subdirectory) => {
    const dir = dirWith(files, subdirectory);
    const target = join(base, `target-${made}`);
    if (name.startsWith('with a symbolic link')) {
      writeFileSync(target, 'kept');
      symlinkSync(target, join(dir, 'link'));
    }
    await removeChildTempDir(dir);
    expect(existsSync(dir)).toBe(false);
    if (name.startsWith('with a symbolic link')) expect(existsSync(target)).toBe(true);
  });

  it("removes a link put in the directory's place, never what it leads to", async () => {
    const target = dirWith(2);
    const link = join(base, `link-${made}`);
    symlinkSync(target, link);
    await removeChildTempDir(link);
    expect(existsSync(link)).toBe(false);
    expect(readdirSync(target).sort()).toEqual(['report-0.xml', 'report-1.xml']);
  });

  it('is done when the directory is already gone', async () => {
    await expect(removeChildTempDir(join(base, 'never-made'))).resolves.toBeUndefined();
  });
});

describe('orphanedChildTempDirs', () => {
  const prefix = `cta-orphan-spec-${process.pid}-`;
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("names the directories of servers that are gone, not a live server's nor one in use", async () => {
    const mine = childTempDir(NO_ISOLATION, prefix);
    const deadPid = spawnSync('true').pid;
    const left = mkdtempSync(join(tmpdir(), `${prefix}${deadPid}-`));
    const inUse = mkdtempSync(join(tmpdir(), `${prefix}${deadPid}-`));
    const other = mkdtempSync(join(tmpdir(), `${prefix}x-`));
    made.push(mine, left, inUse, other);
    expect(mine.startsWith(join(tmpdir(), `${prefix}${process.pid}-`))).toBe(true);
    const worker = spawn('sleep', ['60'], { cwd: inUse, stdio: 'ignore' });
    try {
      await new Promise((resolve) => worker.once('spawn', resolve));
      expect(orphanedChildTempDirs(prefix)).toEqual([left]);
    } finally {
      worker.kill('SIGKILL');
    }
  });
});
