import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { AppConfig, ConfigValidationError, loadConfig, settingFiles } from 'src/config';

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

  it("refuses a duration longer than Node's timers keep (about 24 days), at start", () => {
    expect(loadConfig({ CLI_TIMEOUT_SECONDS: '2147483' }).CLI_TIMEOUT_SECONDS).toBe(2147483);
    let problems: string[] = [];
    try {
      loadConfig({
        CLI_TIMEOUT_SECONDS: '3000000',
        TEST_TIMEOUT_SECONDS: '2200000',
        SSE_KEEPALIVE_SECONDS: '2200000',
        QUEUE_POLL_MS: '99999999999',
      });
    } catch (error) {
      problems = (error as ConfigValidationError).problems;
    }
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual([
      'CLI_TIMEOUT_SECONDS',
      'QUEUE_POLL_MS',
      'SSE_KEEPALIVE_SECONDS',
      'TEST_TIMEOUT_SECONDS',
    ]);
    expect(problems).toContain(
      "QUEUE_POLL_MS must not be more than 2147483647 (about 24 days: a longer wait is no wait for Node's timers)",
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

  it('refuses a HOST with spaces and a HOST_ID longer than a hostname (64)', () => {
    expect(loadConfig({ HOST_ID: 'h'.repeat(64) }).HOST_ID).toHaveLength(64);
    expect(() => loadConfig({ HOST_ID: 'h'.repeat(65) })).toThrow(/HOST_ID/);
    expect(() => loadConfig({ HOST: ' 127.0.0.1' })).toThrow(/HOST must be one address/);
  });

  it('refuses ALLOWED_HOSTS and CORS_ORIGINS entries that could never match (a port, a *)', () => {
    expect(loadConfig({ ALLOWED_HOSTS: '.example.com,API.example.org.,tasks_1' })).toMatchObject({
      ALLOWED_HOSTS: ['.example.com', 'API.example.org.', 'tasks_1'],
    });
    for (const bad of ['*.example.com', 'svc.example.net:8443', '*', 'a..b']) {
      expect(() => loadConfig({ ALLOWED_HOSTS: bad })).toThrow(/ALLOWED_HOSTS entries must be/);
    }
    expect(() => loadConfig({ CORS_ORIGINS: 'https://*.example.com' })).toThrow(/CORS_ORIGINS/);
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com:8443' }).CORS_ORIGINS).toEqual([
      'https://app.example.com:8443',
    ]);
  });

  it('keeps CORS_ORIGINS as browsers write Origin: scheme and host in lower case, no default port', () => {
    expect(
      loadConfig({ CORS_ORIGINS: 'HTTPS://App.Example.COM:443, http://Tools.example.net:8080' })
        .CORS_ORIGINS,
    ).toEqual(['https://app.example.com', 'http://tools.example.net:8080']);
  });

  it('takes TRUST_PROXY as Express does, and refuses what Express would not, or read otherwise', () => {
    for (const good of [
      '2',
      'loopback',
      '10.0.0.0/8,192.168.1.7',
      'fd00::/8, uniquelocal',
      '10.0.0.0/255.0.0.0',
    ]) {
      expect(() => loadConfig({ TRUST_PROXY: good })).not.toThrow();
    }
    for (const bad of ['true', '10.0.0.0/33', '1,2', '-1', 'fd00::/129', '10.0.0.1/8/8', 'proxy']) {
      expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(/TRUST_PROXY: .* is not an address/);
    }
  });
});

describe('settings from files (NAME_FILE)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cta-cfg-'));
    writeFileSync(path.join(dir, 'db'), 'mysql://cta:s3cret@127.0.0.1:3306/cta\n');
    chmodSync(path.join(dir, 'db'), 0o600);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a setting from its file, without the trailing newline', () => {
    const env = { DATABASE_URL_FILE: path.join(dir, 'db'), PORT: '9000' };
    expect(loadConfig(env)).toMatchObject({
      DATABASE_URL: 'mysql://cta:s3cret@127.0.0.1:3306/cta',
      PORT: 9000,
    });
    expect(settingFiles({ ...env, SSL_CERT_FILE: '/etc/ssl/x' })).toEqual([path.join(dir, 'db')]);
  });

  it('refuses a setting given twice, a missing file and a relative path, naming each once', () => {
    let problems: string[] = [];
    try {
      loadConfig({
        DATABASE_URL: 'sqlite:///./x.db',
        DATABASE_URL_FILE: path.join(dir, 'db'),
        METRICS_TOKEN_FILE: path.join(dir, 'missing'),
        PORT_FILE: 'relative/port',
      });
    } catch (error) {
      problems = (error as ConfigValidationError).problems;
    }
    expect(problems.sort()).toEqual([
      'DATABASE_URL and DATABASE_URL_FILE are both set; set one of them',
      `METRICS_TOKEN_FILE=${path.join(dir, 'missing')} cannot be read (ENOENT)`,
      'PORT_FILE must be an absolute path',
    ]);
  });

  it('refuses a file that is not a regular one, or too large, without waiting or filling memory', () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    writeFileSync(path.join(dir, 'large'), 'x'.repeat(64 * 1024 + 1));
    let problems: string[] = [];
    try {
      loadConfig({
        METRICS_TOKEN_FILE: fifo,
        DATABASE_URL_FILE: '/dev/zero',
        CORS_ORIGINS_FILE: dir,
        ALLOWED_HOSTS_FILE: path.join(dir, 'large'),
      });
    } catch (error) {
      problems = (error as ConfigValidationError).problems;
    }
    expect(problems.sort()).toEqual([
      `ALLOWED_HOSTS_FILE=${path.join(dir, 'large')} cannot be read (larger than 65536 bytes)`,
      `CORS_ORIGINS_FILE=${dir} cannot be read (not a regular file)`,
      'DATABASE_URL_FILE=/dev/zero cannot be read (not a regular file)',
      `METRICS_TOKEN_FILE=${fifo} cannot be read (not a regular file)`,
    ]);
  });

  it('never repeats a secret value in its error', () => {
    let message = '';
    try {
      loadConfig({ DATABASE_URL: 'postgres://u:topsecret@h/db', METRICS_TOKEN: 'short-secret' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/DATABASE_URL=\(hidden\)/);
    expect(message).toMatch(/METRICS_TOKEN=\(hidden\)/);
    expect(message).not.toMatch(/topsecret|short-secret/);
  });
});
