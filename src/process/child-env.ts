/**
 * WHAT A CHILD PROCESS MAY SEE OF THE SERVER'S ENVIRONMENT. Children (the Claude CLI, test
 * commands) get an allowlist, never the server's whole environment: no database URL, no
 * passwords or secrets, and no `CLAUDECODE` nesting guard from a parent Claude Code session.
 */

/** Exact names passed through. */
const ALLOWED_NAMES = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TERM',
  'TMPDIR',
  'TZ',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
]);

/** Name prefixes passed through: locale settings and the Claude CLI's own configuration. */
const ALLOWED_PREFIXES = ['LC_', 'ANTHROPIC_', 'CLAUDE_CODE_', 'CLAUDE_CONFIG_DIR'];

/** The CLI's own credentials, allowed although their names look like secrets. */
const CLI_AUTH_NAMES = new Set([
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'ANTHROPIC_FOUNDRY_API_KEY',
  'CLAUDE_CODE_OAUTH_TOKEN',
]);

/** The values of the CLI's own credentials in `env` (a child's environment): never to be shown. */
export function cliCredentials(env: NodeJS.ProcessEnv): (string | undefined)[] {
  return [...CLI_AUTH_NAMES].map((name) => env[name]);
}

/** Never passed, whatever the allowlist says: nesting guards a parent Claude Code session sets. */
const ALWAYS_DROPPED = new Set(['CLAUDECODE', 'CLAUDE_CODE_ENTRYPOINT', 'CLAUDE_CODE_SSE_PORT']);

/** Names that are secrets whatever else says so: never passed. */
const SECRET_LOOKING = /PASSWORD|PASSWD|SECRET|TOKEN|DATABASE_URL|PRIVATE_KEY/i;

/**
 * Names that hold credentials by the usual conventions (`STRIPE_API_KEY`, `AWS_ACCESS_KEY_ID`,
 * `GOOGLE_APPLICATION_CREDENTIALS`, `MYSQL_PWD`, `DB_PASS`, npm's `NPM_CONFIG__AUTH`): not passed
 * by a `PREFIX*` pattern (`*` included), only when the operator names them exactly. The CLI's own
 * settings of such names (`CLAUDE_CODE_SKIP_BEDROCK_AUTH`) pass by its built-in prefixes.
 */
const CREDENTIAL_LOOKING = /API_?KEY|ACCESS_?KEY|CREDENTIAL|(^|_)(PASS|AUTH)(_|$)|_PWD$/i;

/** True for a name matched by one of `patterns` (exact names, or prefixes written `PREFIX*`). */
export function matchesEnvPattern(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
}

/** True when `name` from the server's environment may reach a child process. */
export function isAllowedChildEnvName(name: string, passthrough: readonly string[] = []): boolean {
  if (ALWAYS_DROPPED.has(name)) return false;
  if (CLI_AUTH_NAMES.has(name)) return true;
  if (SECRET_LOOKING.test(name)) return false;
  if (ALLOWED_NAMES.has(name)) return true;
  if (ALLOWED_PREFIXES.some((prefix) => name.startsWith(prefix))) return true;
  if (passthrough.includes(name)) return true;
  return !CREDENTIAL_LOOKING.test(name) && matchesEnvPattern(name, passthrough);
}

/**
 * The environment for a child process: the allowlisted part of `parent`, plus `extra` (which
 * wins and is not filtered: the caller states it explicitly). `passthrough` adds names (or
 * `PREFIX*` patterns) from `parent` beyond the built-in allowlist; secret-looking names and the
 * nesting guards stay out even then.
 */
export function buildChildEnv(
  parent: NodeJS.ProcessEnv,
  extra: Record<string, string> = {},
  passthrough: readonly string[] = [],
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Names first, values only of the names allowed: each value read from `process.env` is a call
  // into the C++ side. Every spawn builds an environment, and reading only the names costs a third
  // of reading every name and value (test/bench/fs-calls.ts).
  for (const name of Object.keys(parent)) {
    if (!isAllowedChildEnvName(name, passthrough)) continue;
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) env[name] = value;
  return env;
}

/**
 * Removes the Claude CLI's credentials and settings (`ANTHROPIC_*`, `CLAUDE_*`) from `env` (a
 * child's own copy) and returns it, for every child that is not the CLI: test and setup commands,
 * git and what it runs (filters, hooks).
 */
export function withoutCliSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  for (const name of Object.keys(env)) {
    if (name.startsWith('ANTHROPIC_') || name.startsWith('CLAUDE_')) delete env[name];
  }
  return env;
}
