import { sep } from 'node:path';

/**
 * The `node_modules` directory the server's dependencies are loaded from, as Node resolves them
 * (symlinks resolved): it may lie outside the installation (a linked `node_modules`).
 */
export function serverDependenciesDir(): string {
  const entry = require.resolve('@nestjs/core');
  const marker = `${sep}node_modules${sep}`;
  return entry.slice(0, entry.lastIndexOf(marker) + marker.length - 1);
}
