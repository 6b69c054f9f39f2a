import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** How to start the process host: the script `fork` runs, and Node's options for it. */
export interface HostEntry {
  script: string;
  execArgv: string[];
}

/**
 * The process host's entry, seen from `processDir` (`src/process` or `dist/src/process`). Built, it
 * is the compiled file there. Run from the sources (ts-jest, ts-node: `src/process`), it is the
 * checkout's own build of it (`dist/`) when that is at least as new as every source file, as it is
 * once `npm test` built before the tests: under ts-node the host compiles TypeScript as it
 * starts, about 1.4 s of CPU against 0.2 s. Else the TypeScript source under ts-node, so a change
 * not built yet is the one that runs.
 */
export function hostEntry(processDir: string = join(__dirname, '..')): HostEntry {
  const compiled = join(processDir, 'host', 'process-host.main.js');
  if (existsSync(compiled)) return { script: compiled, execArgv: [] };
  const root = join(processDir, '..', '..');
  const built = join(root, 'dist', 'src', 'process', 'host', 'process-host.main.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newestFileTime(join(root, 'src'))) {
    return { script: built, execArgv: [] };
  }
  return {
    script: join(processDir, 'host', 'process-host.main.ts'),
    execArgv: [
      '-r',
      require.resolve('ts-node/register/transpile-only'),
      '-r',
      require.resolve('tsconfig-paths/register'),
    ],
  };
}

/** The newest modification time of the files under `dir`, in ms (a build is held to it). */
export function newestFileTime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const time = entry.isDirectory() ? newestFileTime(path) : statSync(path).mtimeMs;
    newest = Math.max(newest, time);
  }
  return newest;
}
