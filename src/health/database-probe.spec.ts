import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { Clock } from 'src/common';
import { DatabaseFreeSpace } from 'src/health/database-free-space';
import { DATABASE_MIN_FREE_BYTES, DatabaseProbe } from 'src/health/database-probe';

/** A database that answers every statement. */
function answering(type: string, database: string): DataSource {
  return {
    isInitialized: true,
    options: { type, database },
    query: () => Promise.resolve([]),
  } as unknown as DataSource;
}

class FixedSpace extends DatabaseFreeSpace {
  constructor(private readonly bytes: number | null) {
    super(answering('better-sqlite3', ':memory:'));
  }

  override freeBytes(): number | null {
    return this.bytes;
  }
}

describe('DatabaseProbe', () => {
  const probe = (space: DatabaseFreeSpace) =>
    new DatabaseProbe(answering('better-sqlite3', '/data/tasks.db'), new Clock(), space).probe();

  it('calls a SQLite database whose file system is nearly full not writable, though its write went through', async () => {
    await expect(probe(new FixedSpace(DATABASE_MIN_FREE_BYTES - 1))).resolves.toEqual({
      status: 'up',
      type: 'better-sqlite3',
      writable: false,
      error: `the file system holding the database has ${DATABASE_MIN_FREE_BYTES - 1} bytes left`,
    });
  });

  it('calls it writable with room left, or where the space is not known (MySQL)', async () => {
    for (const bytes of [DATABASE_MIN_FREE_BYTES, null]) {
      await expect(probe(new FixedSpace(bytes))).resolves.toMatchObject({
        status: 'up',
        writable: true,
        error: null,
      });
    }
  });
});

describe('DatabaseFreeSpace', () => {
  it("reads the space left beside a SQLite file, and none for MySQL's", () => {
    const dir = mkdtempSync(join(tmpdir(), 'cta-free-'));
    try {
      const free = new DatabaseFreeSpace(
        answering('better-sqlite3', join(dir, 'tasks.db')),
      ).freeBytes();
      expect(free).toBeGreaterThan(0);
      expect(new DatabaseFreeSpace(answering('mysql', 'tasks')).freeBytes()).toBeNull();
      expect(
        new DatabaseFreeSpace(answering('better-sqlite3', '/no/such/dir/tasks.db')).freeBytes(),
      ).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
