import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import {
  childTempDir,
  copyChildFile,
  filledChildTempDir,
  orphanedChildTempDirs,
  readChildFile,
  readChildFileAsync,
  removeChildTempDir,
  rewriteChildFile,
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

describe('copyChildFile with an owner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'child-copy-owner-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const me = statSync(dir).uid;

  it("copies the owner's file, and throws for another user's without writing the copy", async () => {
    writeFileSync(join(dir, 'index'), 'DIRC');
    expect(await copyChildFile(join(dir, 'index'), join(dir, 'mine'), 100, me)).toBe(true);
    expect(readFileSync(join(dir, 'mine'), 'utf8')).toBe('DIRC');
    await expect(
      copyChildFile(join(dir, 'index'), join(dir, 'theirs'), 100, me + 1),
    ).rejects.toThrow(/not the children's user's/);
    expect(existsSync(join(dir, 'theirs'))).toBe(false);
  });

  it('reads no FIFO put in the place of the file, and does not wait on it', async () => {
    spawnSync('mkfifo', [join(dir, 'fifo')]);
    expect(await copyChildFile(join(dir, 'fifo'), join(dir, 'out'), 100, me)).toBe(false);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe('rewriteChildFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'child-rewrite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const me = statSync(dir).uid;

  it("writes over the owner's file in place, shorter than it was", () => {
    writeFileSync(join(dir, 'index'), 'the index after git add -A, longer');
    rewriteChildFile(join(dir, 'index'), Buffer.from('DIRC before'), me);
    expect(readFileSync(join(dir, 'index'), 'utf8')).toBe('DIRC before');
  });

  it("refuses, writing nothing: a link, a file with a second name, another user's file, a FIFO, no file", () => {
    writeFileSync(join(dir, 'victim'), 'not the index');
    symlinkSync(join(dir, 'victim'), join(dir, 'linked'));
    expect(() => rewriteChildFile(join(dir, 'linked'), Buffer.from('DIRC'), me)).toThrow(/ELOOP/);
    linkSync(join(dir, 'victim'), join(dir, 'hard'));
    expect(() => rewriteChildFile(join(dir, 'hard'), Buffer.from('DIRC'), me)).toThrow(/one name/);
    writeFileSync(join(dir, 'theirs'), 'theirs');
    expect(() => rewriteChildFile(join(dir, 'theirs'), Buffer.from('DIRC'), me + 1)).toThrow(
      /one name/,
    );
    spawnSync('mkfifo', [join(dir, 'fifo')]);
    expect(() => rewriteChildFile(join(dir, 'fifo'), Buffer.from('DIRC'), me)).toThrow(/ENXIO/);
    expect(() => rewriteChildFile(join(dir, 'missing'), Buffer.from('DIRC'), me)).toThrow(/ENOENT/);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    expect(readFileSync(join(dir, 'victim'), 'utf8')).toBe('not the index');
    expect(readFileSync(join(dir, 'theirs'), 'utf8')).toBe('theirs');
  });
});

describe('filledChildTempDir', () => {
  it("writes the server's files first, then hands the directory and them to the children's user", async () => {
    const nobody = { user: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' };
    const isolation = { identity: process.getuid?.() === 0 ? nobody : null, sandbox: null };
    let ownerWhileFilled = -1;
    const dir = await filledChildTempDir(isolation, 'cta-fill-spec-', async (at) => {
      writeFileSync(join(at, 'order'), 'src/a.js\n');
      ownerWhileFilled = statSync(at).uid;
      return Promise.resolve([join(at, 'order')]);
    });
    try {
      expect(ownerWhileFilled).toBe(process.getuid?.());
      const owner = isolation.identity?.uid ?? process.getuid?.();
      expect(statSync(dir).uid).toBe(owner);
      expect(statSync(join(dir, 'order')).uid).toBe(owner);
      expect(readFileSync(join(dir, 'order'), 'utf8')).toBe('src/a.js\n');
    } finally {
      await removeChildTempDir(dir);
    }
  });

  it('removes the directory when filling it fails', async () => {
    let made = '';
    await expect(
      filledChildTempDir(NO_ISOLATION, 'cta-fill-spec-', (at) => {
        made = at;
        return Promise.reject(new Error('no room'));
      }),
    ).rejects.toThrow('no room');
    expect(made).not.toBe('');
    expect(existsSync(made)).toBe(false);
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
