import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hostEntry } from 'src/process/host/host-entry';

describe('hostEntry', () => {
  let root: string;
  const at = (path: string, seconds: number): string => {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '');
    utimesSync(file, seconds, seconds);
    return file;
  };
  const sources = (): string => join(root, 'src', 'process');
  const TS_NODE = require.resolve('ts-node/register/transpile-only');

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'cta-host-entry-'));
    at('src/process/host/process-host.main.ts', 1000);
    at('src/tasks/deep/task.ts', 1000);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('built, runs the compiled host next to it', () => {
    const compiled = at('dist/src/process/host/process-host.main.js', 500);
    expect(hostEntry(join(root, 'dist', 'src', 'process'))).toEqual({
      script: compiled,
      execArgv: [],
    });
  });

  it("from the sources, runs the checkout's build when no source file is newer", () => {
    const built = at('dist/src/process/host/process-host.main.js', 2000);
    expect(hostEntry(sources())).toEqual({ script: built, execArgv: [] });
  });

  it('from the sources, runs the TypeScript under ts-node once any source file is newer than the build, however deep', () => {
    at('dist/src/process/host/process-host.main.js', 2000);
    at('src/tasks/deep/task.ts', 3000);
    const entry = hostEntry(sources());
    expect(entry.script).toBe(join(root, 'src', 'process', 'host', 'process-host.main.ts'));
    expect(entry.execArgv).toContain(TS_NODE);
  });

  it('from the sources, runs the TypeScript under ts-node when nothing was built', () => {
    const entry = hostEntry(sources());
    expect(entry.script).toBe(join(root, 'src', 'process', 'host', 'process-host.main.ts'));
    expect(entry.execArgv).toEqual([
      '-r',
      TS_NODE,
      '-r',
      require.resolve('tsconfig-paths/register'),
    ]);
  });
});
