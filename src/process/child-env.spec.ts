import { buildChildEnv, isAllowedChildEnvName } from 'src/process/child-env';

const parent: NodeJS.ProcessEnv = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/app',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  TZ: 'UTC',
  DATABASE_URL: 'mysql://root:hunter2@db/prod',
  MYSQL_PASSWORD: 'hunter2',
  DB_PASSWORD: 'hunter2',
  JWT_SECRET: 'shh',
  GITHUB_TOKEN: 'ghp_x',
  AWS_SECRET_ACCESS_KEY: 'aws',
  CLAUDECODE: '1',
  CLAUDE_CODE_ENTRYPOINT: 'cli',
  ANTHROPIC_API_KEY: 'sk-ant',
  ANTHROPIC_BASE_URL: 'http://127.0.0.1:1',
  CLAUDE_CODE_OAUTH_TOKEN: 'oauth',
  CLAUDE_CODE_USE_BEDROCK: '0',
  NODE_OPTIONS: '--inspect',
  FAKE_CLAUDE_LOG: '/tmp/log',
  RANDOM_VAR: 'x',
};

describe('buildChildEnv', () => {
  it('keeps the allowlisted basics and the CLI configuration', () => {
    const env = buildChildEnv(parent);
    expect(env).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/app',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TZ: 'UTC',
      ANTHROPIC_API_KEY: 'sk-ant',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:1',
      CLAUDE_CODE_OAUTH_TOKEN: 'oauth',
      CLAUDE_CODE_USE_BEDROCK: '0',
    });
  });

  it.each([
    'DATABASE_URL',
    'MYSQL_PASSWORD',
    'DB_PASSWORD',
    'JWT_SECRET',
    'GITHUB_TOKEN',
    'AWS_SECRET_ACCESS_KEY',
    'CLAUDECODE',
    'CLAUDE_CODE_ENTRYPOINT',
    'NODE_OPTIONS',
    'RANDOM_VAR',
  ])('drops %s', (name) => {
    expect(buildChildEnv(parent)).not.toHaveProperty(name);
  });

  it('lets extra values win', () => {
    const env = buildChildEnv(parent, { HOME: '/tmp/h', DISABLE_AUTOUPDATER: '1' });
    expect(env.HOME).toBe('/tmp/h');
    expect(env.DISABLE_AUTOUPDATER).toBe('1');
  });

  it('passes configured extra names and prefixes, but never secrets or the nesting guard', () => {
    const env = buildChildEnv(parent, {}, [
      'FAKE_CLAUDE_*',
      'DB_PASSWORD',
      'CLAUDECODE',
      'RANDOM_VAR',
    ]);
    expect(env.FAKE_CLAUDE_LOG).toBe('/tmp/log');
    expect(env.RANDOM_VAR).toBe('x');
    expect(env).not.toHaveProperty('DB_PASSWORD');
    expect(env).not.toHaveProperty('CLAUDECODE');
  });

  it('passes names that hold credentials by the usual conventions only when named exactly, never to a pattern', () => {
    const secrets = {
      STRIPE_API_KEY: 's',
      OPENAI_APIKEY: 's',
      AWS_ACCESS_KEY_ID: 's',
      GOOGLE_APPLICATION_CREDENTIALS: '/k.json',
      MYSQL_PWD: 's',
      DB_PASS: 's',
      NPM_CONFIG__AUTH: 's',
      GH_AUTH_TOKEN: 's',
    };
    const env = buildChildEnv({ ...secrets, PWD: '/srv', PASSAGE: 'x', AUTHOR: 'me' }, {}, ['*']);
    expect(Object.keys(env).sort()).toEqual(['AUTHOR', 'PASSAGE', 'PWD']);
    const named = ['SSH_AUTH_SOCK', 'GOOGLE_APPLICATION_CREDENTIALS', 'NPM_CONFIG_ALWAYS_AUTH'];
    const parent = { SSH_AUTH_SOCK: '/run/a.sock', GOOGLE_APPLICATION_CREDENTIALS: '/k.json' };
    expect(buildChildEnv({ ...parent, NPM_CONFIG_ALWAYS_AUTH: 'true' }, {}, named)).toEqual({
      SSH_AUTH_SOCK: '/run/a.sock',
      GOOGLE_APPLICATION_CREDENTIALS: '/k.json',
      NPM_CONFIG_ALWAYS_AUTH: 'true',
    });
    // Still never a name that is a secret whatever it says (PASSWORD, TOKEN, ...).
    expect(buildChildEnv({ GH_TOKEN: 's' }, {}, ['GH_TOKEN'])).toEqual({});
  });

  it("passes the CLI's own settings and credentials, though their names look like credentials", () => {
    const cli = {
      CLAUDE_CODE_SKIP_BEDROCK_AUTH: '1',
      CLAUDE_CODE_SKIP_VERTEX_AUTH: '1',
      CLAUDE_CODE_API_KEY_HELPER_TTL_MS: '60000',
      ANTHROPIC_FOUNDRY_API_KEY: 'k',
    };
    expect(buildChildEnv(cli)).toEqual(cli);
  });

  it('does not copy undefined values', () => {
    expect(buildChildEnv({ PATH: undefined })).toEqual({});
    expect(isAllowedChildEnvName('PATH')).toBe(true);
  });
});
