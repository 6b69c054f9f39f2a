import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The directory the server's code is installed in: the nearest directory above this file that
 * holds a package.json (the checkout or the package: `src` under ts-node, `dist/src` once built,
 * and `node_modules`), whatever the working directory the server was started in.
 */
export function serverInstallDir(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}
