import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConnection } from 'mysql2/promise';

export type TestDatabaseKind = 'sqlite' | 'mysql';

/** A throw-away database: its DATABASE_URL and how to get rid of it. */
export interface TestDatabase {
  kind: TestDatabaseKind;
  /** Ready for DATABASE_URL (the schema is created by the app's migrations at start). */
  url: string;
  /** Removes the SQLite directory or drops the MySQL database. Safe to call twice. */
  drop(): Promise<void>;
}

/** Server-level MySQL URL (no database) the MySQL suites use; override with TEST_MYSQL_URL. */
export const TEST_MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

interface MysqlServer {
  host: string;
  port: number;
  user: string;
  password: string;
}

function mysqlServer(url: string = TEST_MYSQL_URL): MysqlServer {
  const u = new URL(url.replace(/^mysql\+pymysql:/, 'mysql:'));
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
  };
}

function mysqlDatabaseUrl(name: string, url: string = TEST_MYSQL_URL): string {
  const u = new URL(url.replace(/^mysql\+pymysql:/, 'mysql:'));
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh SQLite file in its own temporary directory (the file itself does not exist yet). */
export function createSqliteDatabase(): TestDatabase {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cta-db-'));
  return {
    kind: 'sqlite',
    url: `sqlite:///${path.join(dir, 'nested', 'tasks.db')}`,
    drop: () => {
      fs.rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

/** A fresh, empty MySQL database `cta_test_<random>` (utf8mb4) on TEST_MYSQL_URL's server. */
export async function createMysqlDatabase(): Promise<TestDatabase> {
  const name = `cta_test_${randomBytes(6).toString('hex')}`;
  const server = mysqlServer();
  const admin = await createConnection({ ...server, connectTimeout: 5000 });
  try {
    await admin.query(
      `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await admin.end();
  }
  let dropped = false;
  return {
    kind: 'mysql',
    url: mysqlDatabaseUrl(name),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      const conn = await createConnection({ ...server, connectTimeout: 5000 });
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end();
      }
    },
  };
}

export async function createTestDatabase(kind: TestDatabaseKind): Promise<TestDatabase> {
  return kind === 'mysql' ? createMysqlDatabase() : createSqliteDatabase();
}

export interface MysqlAvailability {
  available: boolean;
  reason: string | null;
}

let cachedAvailability: MysqlAvailability | undefined;

/**
 * Whether TEST_MYSQL_URL answers, checked once per test file. Synchronous (a short child `node`
 * process, no shell) so it can decide between `describe` and `describe.skip` at load time.
 */
export function mysqlAvailability(): MysqlAvailability {
  if (cachedAvailability) return cachedAvailability;
  const script = `
    const mysql = require('mysql2/promise');
    const cfg = JSON.parse(process.argv[1]);
    mysql.createConnection({ ...cfg, connectTimeout: 3000 })
      .then(async (c) => { await c.query('SELECT 1'); await c.end(); process.stdout.write('ok'); })
      .catch((e) => { process.stdout.write(String(e.code || e.message).split('\\n')[0]); });`;
  const result = spawnSync(process.execPath, ['-e', script, JSON.stringify(mysqlServer())], {
    cwd: path.resolve(__dirname, '..', '..', '..'),
    encoding: 'utf8',
    timeout: 10_000,
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = (result.stdout ?? '').trim();
  cachedAvailability =
    out === 'ok'
      ? { available: true, reason: null }
      : {
          available: false,
          reason: `${TEST_MYSQL_URL.replace(/:[^:@/]*@/, ':***@')} did not answer (${out || result.error?.message || 'no output'})`,
        };
  return cachedAvailability;
}

/**
 * `describe` for suites that need MySQL: runs them when TEST_MYSQL_URL answers; otherwise prints
 * one line `MySQL suite skipped: <reason>` and skips them, unless REQUIRE_MYSQL=1, when the suite
 * fails instead.
 */
export function describeMysql(name: string, body: () => void): void {
  const { available, reason } = mysqlAvailability();
  if (available) {
    describe(name, body);
    return;
  }
  if (process.env.REQUIRE_MYSQL === '1') {
    describe(name, () => {
      it('needs MySQL (REQUIRE_MYSQL=1)', () => {
        throw new Error(`MySQL required but unavailable: ${reason ?? ''}`);
      });
    });
    return;
  }
  console.log(`MySQL suite skipped: ${reason ?? ''}`);
  describe.skip(name, body);
}
