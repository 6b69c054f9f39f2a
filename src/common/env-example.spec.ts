import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { AppConfig, ConfigValidationError, loadConfig } from 'src/config';

const ROOT = path.resolve(__dirname, '..', '..');

/** `KEY=value` lines of .env.example (comments and blanks skipped). */
function readEnvExample(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of readFileSync(path.join(ROOT, '.env.example'), 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) entries.set(m[1], m[2]);
  }
  return entries;
}

/** Every variable AppConfig validates, optional ones included. */
function configKeys(): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(AppConfig, '', true, false);
  return [...new Set(metadata.map((m) => m.propertyName))].sort();
}

/** How a default is written in an env file. */
function asEnvValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.join(',');
  return String(value as string | number | boolean);
}

describe('.env.example', () => {
  const example = readEnvExample();
  const defaults = new AppConfig() as unknown as Record<string, unknown>;

  it('lists every AppConfig variable with its default', () => {
    const listed = configKeys().map((key) => [key, example.get(key)]);
    const expected = configKeys().map((key) => [key, asEnvValue(defaults[key])]);
    expect(listed).toEqual(expected);
  });

  it('lists nothing AppConfig does not know', () => {
    expect([...example.keys()].filter((key) => !configKeys().includes(key))).toEqual([]);
  });

  it('loads as a valid configuration equal to the defaults', () => {
    expect(loadConfig(Object.fromEntries(example))).toEqual(loadConfig({}));
  });
});

describe('loadConfig', () => {
  it('converts strings to typed values', () => {
    const config = loadConfig({
      PORT: '9000',
      ORCHESTRATOR_ENABLED: 'false',
      ALLOWED_PROJECT_ROOTS: '/srv/a, /srv/b',
    });
    expect(config).toMatchObject({
      PORT: 9000,
      ORCHESTRATOR_ENABLED: false,
      ALLOWED_PROJECT_ROOTS: ['/srv/a', '/srv/b'],
    });
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'postgres://nope',
        MAX_PAUSES: '-1',
        ALLOWED_PROJECT_ROOTS: 'relative/dir',
        ORCHESTRATOR_ENABLED: 'maybe',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const message = (error as Error).message;
    for (const name of [
      'PORT',
      'DATABASE_URL',
      'MAX_PAUSES',
      'ALLOWED_PROJECT_ROOTS',
      'ORCHESTRATOR_ENABLED',
    ]) {
      expect(message).toContain(name);
    }
  });

  it('refuses ranges whose lower end is above the upper end', () => {
    expect(() =>
      loadConfig({ API_ERROR_RETRY_DELAY_SECONDS: '60', API_ERROR_RETRY_MAX_DELAY_SECONDS: '30' }),
    ).toThrow(/API_ERROR_RETRY_DELAY_SECONDS must not exceed API_ERROR_RETRY_MAX_DELAY_SECONDS/);
    expect(() => loadConfig({ ENCOURAGE_EVERY_MIN: '6', ENCOURAGE_EVERY_MAX: '5' })).toThrow(
      /ENCOURAGE_EVERY_MIN must not exceed ENCOURAGE_EVERY_MAX/,
    );
  });

  it('reads the workspace settings: decimal GB and hours, a branch prefix that makes valid branch names', () => {
    expect(
      loadConfig({ WORKSPACES_MAX_GB: '0.5', WORKSPACE_RETENTION_HOURS: '1.5' }),
    ).toMatchObject({ WORKSPACES_MAX_GB: 0.5, WORKSPACE_RETENTION_HOURS: 1.5 });
    for (const prefix of ['cta/', 'ai/tasks/', 'cta-', '']) {
      expect(loadConfig({ WORKSPACE_BRANCH_PREFIX: prefix }).WORKSPACE_BRANCH_PREFIX).toBe(
        prefix === '' ? 'cta/' : prefix,
      );
    }
    for (const prefix of ['../x/', 'a..b/', '-x/', 'x.lock/', 'a//', 'x y/', 'x.']) {
      expect(() => loadConfig({ WORKSPACE_BRANCH_PREFIX: prefix })).toThrow(
        /WORKSPACE_BRANCH_PREFIX/,
      );
    }
    expect(() => loadConfig({ COMMIT_AUTHOR_EMAIL: 'nobody' })).toThrow(/COMMIT_AUTHOR_EMAIL/);
    expect(() => loadConfig({ WORKSPACES_MAX_GB: '-1' })).toThrow(/WORKSPACES_MAX_GB/);
  });
});
