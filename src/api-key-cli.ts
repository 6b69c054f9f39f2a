import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { KEY_MATERIAL, Scope, SCOPES } from 'src/access';
import { AuditEvent, AuditService } from 'src/audit';
import { ApiKey, ApiKeysService, KeyRevocations } from 'src/auth';
import { Clock, dateTimeRule, isDateTime } from 'src/common';
import { ConfigValidationError, loadConfig, readEnvironment } from 'src/config';
import {
  AtomicWriter,
  buildDataSourceOptions,
  openDataSource,
  readDatabaseClock,
} from 'src/database';
import { secretScrubberFor } from 'src/logging';

/**
 * `npm run api-key -- <command>`: manages API keys on the server's own database (DATABASE_URL,
 * migrations applied), without a running server and without a key: how the first admin key is
 * made, and how a lost one is replaced.
 */
const USAGE = `Usage:
  npm run api-key -- create --name <name> (--admin | --scopes tasks:write[,tasks:read]) [--expires-at <date and time with its offset, e.g. 2027-01-01T00:00:00Z>]
  npm run api-key -- list
  npm run api-key -- revoke <id or prefix>`;

class UsageError extends Error {}

/** Keys read per query by `list` (the API's largest page). */
const LIST_PAGE = 100;

function scopesFrom(admin: boolean, list: string | undefined): Scope[] {
  // Both: which one was meant? Neither is taken over the other (an admin key made silently).
  if (admin && list !== undefined) throw new UsageError('give --admin or --scopes, not both');
  if (admin) return ['admin'];
  const scopes = (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new UsageError(`give --admin or --scopes from ${SCOPES.join(', ')}`);
  }
  return scopes as Scope[];
}

/**
 * What `revoke` looks a key up by: its id or its prefix. A whole key (or text holding one) is
 * refused without being repeated, naming the prefix to give instead: an error that echoed it would
 * put the secret in a terminal's scrollback, a CI log or a ticket.
 */
function revokeTarget(target: string | undefined): string {
  if (target === undefined) throw new UsageError('revoke needs the key id or prefix');
  const material = new RegExp(KEY_MATERIAL.source).exec(target);
  if (material !== null) {
    throw new UsageError(
      `revoke takes the key's id or its prefix (${material[1]}), not the key itself`,
    );
  }
  return target;
}

/**
 * `--expires-at` as the API takes `expires_at` (`isDateTime`): with its offset from UTC. A local
 * time (`2026-12-07T12:30`) or a US-style date (`12/08/2026`) would be read in this machine's
 * time zone, or as a month first, another instant than meant with no error to tell it.
 */
function expiryFrom(text: string | undefined): Date | null {
  if (text === undefined) return null;
  if (!isDateTime(text)) throw new UsageError(dateTimeRule('--expires-at'));
  const date = new Date(text);
  // Past the year 9999 MySQL's DATETIME (and the API's date-time) cannot hold it.
  if (
    Number.isNaN(date.getTime()) ||
    date.getTime() <= Date.now() ||
    date.getUTCFullYear() > 9999
  ) {
    throw new UsageError(
      '--expires-at must be a date in the future, before the year 10000 (e.g. 2027-01-01T00:00:00Z)',
    );
  }
  return date;
}

async function run(argv: string[], keys: ApiKeysService, audit: AuditService): Promise<string> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      admin: { type: 'boolean', default: false },
      scopes: { type: 'string' },
      'expires-at': { type: 'string' },
    },
  });
  const [command, target] = positionals;
  switch (command) {
    case 'create': {
      const name = values.name?.trim() ?? '';
      if (name === '' || name.length > 100)
        throw new UsageError('--name (1 to 100 characters) is required');
      const scopes = scopesFrom(values.admin ?? false, values.scopes);
      const { apiKey, key } = await keys.create({
        name,
        scopes,
        expiresAt: expiryFrom(values['expires-at']),
        createdByKeyId: null,
      });
      await audit.recordCli({
        action: 'api_key.create',
        target: { type: 'api_key', id: apiKey.id },
        details: { name, scopes },
      });
      return (
        `Created key "${name}" (${scopes.join(', ')}), id ${apiKey.id}, prefix ${apiKey.prefix}.\n` +
        `It is shown only now; send it as "Authorization: Bearer <key>":\n${key}`
      );
    }
    case 'list': {
      // Every key, a page at a time: a lost admin key is looked for here among all of them.
      const items: ApiKey[] = [];
      for (;;) {
        const [page, total] = await keys.list({ limit: LIST_PAGE, offset: items.length });
        items.push(...page);
        if (page.length === 0 || items.length >= total) break;
      }
      return items
        .map((k) => {
          const state = k.revokedAt
            ? `revoked ${k.revokedAt.toISOString()}`
            : k.expiresAt
              ? `expires ${k.expiresAt.toISOString()}`
              : 'active';
          return `${k.id}  ${k.prefix}  ${k.scopes}  ${state}  ${JSON.stringify(k.name)}`;
        })
        .join('\n');
    }
    case 'revoke': {
      const revoked = await keys.revoke(revokeTarget(target));
      await audit.recordCli({
        action: 'api_key.revoke',
        target: { type: 'api_key', id: revoked.id },
      });
      return `Revoked key ${revoked.id} (${revoked.prefix}).`;
    }
    default:
      throw new UsageError(
        command === undefined ? 'a command is required' : `unknown command ${command}`,
      );
  }
}

async function main(): Promise<void> {
  let dataSource: DataSource | undefined;
  try {
    const config = loadConfig(readEnvironment());
    dataSource = await openDataSource(
      buildDataSourceOptions({ databaseUrl: config.DATABASE_URL, entities: [ApiKey, AuditEvent] }),
    );
    const clock = new Clock();
    // What it stores is stamped in the database's time, like what the servers store.
    clock.follow((await readDatabaseClock(dataSource, () => clock.monotonicMs())).offsetMs);
    const output = await run(
      process.argv.slice(2),
      // No server here to stop the key's tasks: a server finds the key revoked when it would
      // start one of them, and before each step of one that runs.
      new ApiKeysService(dataSource.getRepository(ApiKey), dataSource, clock, new KeyRevocations()),
      new AuditService(
        dataSource.getRepository(AuditEvent),
        new AtomicWriter(dataSource),
        clock,
        secretScrubberFor(config),
      ),
    );
    if (output !== '') process.stdout.write(`${output}\n`);
  } catch (error) {
    const message = !(error instanceof Error)
      ? String(error)
      : error instanceof ConfigValidationError
        ? error.message
        : error.message.split('\n')[0];
    process.stderr.write(`api-key: ${message}\n`);
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) {
      process.stderr.write(`${USAGE}\n`);
    }
    process.exitCode = 1;
  } finally {
    if (dataSource?.isInitialized) await dataSource.destroy();
  }
}

void main();
