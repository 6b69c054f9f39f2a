import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { removeStrayBytecode } from 'src/workspaces/stray-bytecode';

describe('removeStrayBytecode', () => {
  let top: string;
  const write = (path: string) => {
    mkdirSync(dirname(join(top, path)), { recursive: true });
    writeFileSync(join(top, path), 'x');
  };
  const left = (path: string) => existsSync(join(top, path));

  beforeEach(() => {
    top = mkdtempSync(join(tmpdir(), 'cta-bytecode-'));
  });
  afterEach(() => rmSync(top, { recursive: true, force: true }));

  it('removes the __pycache__ directories and .pyc files git does not track, and nothing else', async () => {
    for (const path of [
      'calc.py',
      '__pycache__/calc.cpython-311.pyc',
      'pkg/__init__.py',
      'pkg/__pycache__/__init__.cpython-311.pyc',
      'pkg/sub/__pycache__/deep.cpython-311.opt-1.pyc',
      'legacy.pyc',
      'old.pyo',
      'tests/test_calc.py',
      'notes.pyc.txt',
    ]) {
      write(path);
    }
    const found = await removeStrayBytecode(top, () =>
      Promise.resolve(['calc.py', 'pkg/__init__.py']),
    );
    expect(found.removed.sort()).toEqual([
      '__pycache__',
      'legacy.pyc',
      'old.pyo',
      'pkg/__pycache__',
      'pkg/sub/__pycache__',
    ]);
    expect(found).toMatchObject({ failed: [], truncated: false });
    for (const path of ['calc.py', 'pkg/__init__.py', 'tests/test_calc.py', 'notes.pyc.txt']) {
      expect(left(path)).toBe(true);
    }
    for (const path of ['__pycache__', 'legacy.pyc', 'pkg/__pycache__', 'pkg/sub/__pycache__']) {
      expect(left(path)).toBe(false);
    }
  });

  it('leaves tracked bytecode, and removes what is not tracked beside it', async () => {
    write('vendored.pyc');
    write('lib/__pycache__/kept.cpython-311.pyc');
    write('lib/__pycache__/planted.cpython-311.pyc');
    const found = await removeStrayBytecode(top, () =>
      Promise.resolve(['vendored.pyc', 'lib/__pycache__/kept.cpython-311.pyc']),
    );
    expect(found.removed).toEqual(['lib/__pycache__/planted.cpython-311.pyc']);
    expect(left('vendored.pyc')).toBe(true);
    expect(left('lib/__pycache__/kept.cpython-311.pyc')).toBe(true);
  });

  it("leaves git's and the installed dependencies' directories alone", async () => {
    for (const dir of [
      '.git',
      'node_modules/x',
      '.venv/lib',
      'venv/lib',
      '.tox/py',
      'lib/site-packages/y',
    ]) {
      write(`${dir}/__pycache__/m.cpython-311.pyc`);
    }
    const found = await removeStrayBytecode(top, () => Promise.resolve([]));
    expect(found.removed).toEqual([]);
    expect(left('.venv/lib/__pycache__/m.cpython-311.pyc')).toBe(true);
  });

  it('removes a __pycache__ that is a link as the link, not what it leads to', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'cta-bytecode-elsewhere-'));
    try {
      writeFileSync(join(elsewhere, 'calc.cpython-311.pyc'), 'x');
      symlinkSync(elsewhere, join(top, '__pycache__'));
      const found = await removeStrayBytecode(top, () => Promise.resolve([]));
      expect(found.removed).toEqual(['__pycache__']);
      expect(left('__pycache__')).toBe(false);
      expect(existsSync(join(elsewhere, 'calc.cpython-311.pyc'))).toBe(true);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('asks for the index only when there is bytecode', async () => {
    write('src/app.js');
    const tracked = jest.fn(() => Promise.resolve(['src/app.js']));
    expect(await removeStrayBytecode(top, tracked)).toEqual({
      removed: [],
      failed: [],
      truncated: false,
    });
    expect(tracked).not.toHaveBeenCalled();
  });

  it('leaves a nested repository (a submodule) to its own index', async () => {
    write('vendor/lib/.git');
    write('vendor/lib/__pycache__/m.cpython-311.pyc');
    write('__pycache__/calc.cpython-311.pyc');
    const found = await removeStrayBytecode(top, () => Promise.resolve([]));
    expect(found.removed).toEqual(['__pycache__']);
    expect(left('vendor/lib/__pycache__/m.cpython-311.pyc')).toBe(true);
  });
});
