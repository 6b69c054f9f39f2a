import { statSync } from 'node:fs';

/** The size of the WAL file of the SQLite database at `dbFile` (0 when there is none). */
export function walFileBytes(dbFile: string): number {
  return statSync(`${dbFile}-wal`, { throwIfNoEntry: false })?.size ?? 0;
}
