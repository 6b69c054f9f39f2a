import * as path from 'node:path';

export interface SqliteDatabaseTarget {
  type: 'sqlite';
  /** Absolute path of the database file. */
  file: string;
}

export interface MysqlDatabaseTarget {
  type: 'mysql';
  host: string;
  port: number;
  username: string;
  password: string;
  database: string;
}

export type DatabaseTarget = SqliteDatabaseTarget | MysqlDatabaseTarget;

export class DatabaseUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUrlError';
  }
}

/**
 * Parses `DATABASE_URL`. Accepted forms (the seed's SQLAlchemy style):
 * - `sqlite:///./relative.db` or `sqlite:///relative.db`: relative to `cwd`;
 * - `sqlite:////absolute/path.db`: absolute;
 * - `mysql://user:pass@host:port/db` and `mysql+pymysql://...` (same meaning); port defaults to
 *   3306, user and password are URL-decoded.
 * The database name is required for MySQL.
 */
export function parseDatabaseUrl(url: string, cwd: string = process.cwd()): DatabaseTarget {
  const sqlite = /^sqlite:\/\/\/(.+)$/.exec(url);
  if (sqlite) {
    const rest = sqlite[1];
    if (rest.includes('\0')) throw new DatabaseUrlError('DATABASE_URL contains a NUL byte');
    const file = rest.startsWith('/') ? path.normalize(rest) : path.resolve(cwd, rest);
    if (rest.endsWith('/')) {
      throw new DatabaseUrlError(`DATABASE_URL names a directory, not a file: ${file}`);
    }
    return { type: 'sqlite', file };
  }
  if (/^mysql(\+pymysql)?:\/\//.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url.replace(/^mysql\+pymysql:/, 'mysql:'));
    } catch {
      throw new DatabaseUrlError('DATABASE_URL is not a valid mysql:// URL');
    }
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
    if (!parsed.hostname) throw new DatabaseUrlError('DATABASE_URL has no MySQL host');
    if (!database || database.includes('/')) {
      throw new DatabaseUrlError(
        'DATABASE_URL must name one MySQL database: mysql://user:pass@host:3306/db',
      );
    }
    const port = parsed.port ? Number(parsed.port) : 3306;
    return {
      type: 'mysql',
      host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
      port,
      username: decodeURIComponent(parsed.username) || 'root',
      password: decodeURIComponent(parsed.password),
      database,
    };
  }
  throw new DatabaseUrlError(
    'DATABASE_URL must look like sqlite:///./file.db, sqlite:////abs/file.db or mysql://user:pass@host:3306/db',
  );
}

/**
 * The URL with any password replaced by `***`, for logs and error messages: everything up to the
 * last `@` before the path, where the URL parser ends the password too (`p@ss` unencoded).
 */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/^(mysql(?:\+pymysql)?:\/\/[^:@/]*:)[^/?#]*@/, '$1***@');
}
