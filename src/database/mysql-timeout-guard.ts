import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { EventEmitter } from 'node:events';
import { DataSource } from 'typeorm';

type Callback = (error: { code?: unknown } | null, ...rest: unknown[]) => void;

interface PoolConnection {
  query: (...args: unknown[]) => unknown;
  destroy: () => void;
}

interface Pool extends EventEmitter {
  _allConnections?: { toArray?: () => PoolConnection[] } | PoolConnection[];
}

const guarded = new WeakSet<PoolConnection>();

/** Makes `connection` destroy itself when one of its queries times out. */
function guard(connection: PoolConnection): void {
  if (guarded.has(connection)) return;
  guarded.add(connection);
  const query = connection.query.bind(connection);
  connection.query = (...args: unknown[]): unknown => {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = ((error, ...rest) => {
        if (error?.code === 'PROTOCOL_SEQUENCE_TIMEOUT') connection.destroy();
        (callback as Callback)(error, ...rest);
      }) satisfies Callback;
    }
    return query(...args);
  };
}

/**
 * MySQL QUERY TIMEOUTS THAT END THE CONNECTION. mysql2 answers a query that timed out
 * (DATABASE_TIMEOUT_SECONDS) with an error but keeps the connection: its next command then
 * waits behind the dead one for as long as the database does not answer, so behind a network
 * partition the pool hands out connections that hang requests indefinitely. This destroys a
 * connection whose query timed out, so the pool opens a fresh one (which fails fast, by the
 * connect timeout, while the database is away). Nothing for SQLite.
 */
@Injectable()
export class MysqlTimeoutGuard implements OnModuleInit {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    if (this.dataSource.options.type !== 'mysql') return;
    const pool = (this.dataSource.driver as unknown as { pool?: Pool }).pool;
    if (!pool) return;
    pool.on('connection', (connection: PoolConnection) => guard(connection));
    const existing = pool._allConnections;
    const connections = Array.isArray(existing) ? existing : (existing?.toArray?.() ?? []);
    for (const connection of connections) guard(connection);
  }
}
