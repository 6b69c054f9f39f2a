import { isAbsolute } from 'node:path';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';
import { readSmallRegularFile, unreadableReason } from 'src/config/small-regular-file';
import { trustProxyProblems } from 'src/config/trust-proxy';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return value;
};

const toNumber = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value.trim()) : value;

const toList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0)
    : value;

const ORIGIN = /^https?:\/\/[^/\s*]+$/i;

/** A list of origins, each as browsers serialise it; what is not an origin is left to be refused. */
const toOrigins = (params: { value: unknown }): unknown => {
  const list = toList(params);
  if (!Array.isArray(list)) return list;
  return list.map((entry: unknown) => {
    if (typeof entry !== 'string' || !ORIGIN.test(entry) || !URL.canParse(entry)) return entry;
    return new URL(entry).origin;
  });
};

/**
 * Every setting the server reads, with its default. The names are the environment variable
 * names; `.env.example` repeats them. Code reads the validated instance (inject `AppConfig`),
 * never `process.env`.
 */
export class AppConfig {
  // --- server ---
  /**
   * Interface to listen on. Loopback by default: whoever can reach the port can make the server
   * run programs (the agent has a shell; test commands are programs), so listening on other
   * interfaces is a choice to make explicitly.
   */
  @IsString()
  @Matches(/^\S+$/, { message: 'HOST must be one address or host name, without spaces' })
  HOST = '127.0.0.1';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 8000;

  /** Largest accepted JSON request body, in bytes. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(16 * 1024 * 1024)
  MAX_REQUEST_BODY_BYTES = 256 * 1024;

  /**
   * Longest wait for a request's body once its headers are in, in milliseconds: past it the
   * request is a 408 and its connection is closed (a client that trickles its body holds a
   * connection no longer).
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(300_000)
  REQUEST_BODY_TIMEOUT_MS = 30_000;

  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  /**
   * `json` (one JSON object per line), `pretty` (readable, for a terminal) or `auto`: pretty when
   * standard output is a terminal (a developer's `npm start`), JSON otherwise.
   */
  @IsIn(['auto', 'json', 'pretty'])
  LOG_FORMAT: 'auto' | 'json' | 'pretty' = 'auto';

  // --- access ---
  /**
   * Whether requests need an API key. Unset: yes once any key exists (`npm run api-key -- create
   * --admin --name ...`), no before. `true`: always (required to listen on anything but
   * loopback). `false`: never; on an interface other than loopback only with a loud warning.
   */
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  AUTH_REQUIRED?: boolean;

  /** Requests per minute a key (or, without a valid key, a client address) may make; 0 = no limit. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_MINUTE = 600;

  /**
   * Proxies whose `X-Forwarded-For` is believed (Express `trust proxy`): comma-separated
   * addresses, CIDR ranges or `loopback`, `linklocal`, `uniquelocal`, or a number of hops. Empty:
   * none; the client address is the TCP peer.
   */
  @Transform(toList)
  @IsString({ each: true })
  TRUST_PROXY: string[] = [];

  /**
   * Origins allowed to call the API from a browser (CORS); empty: CORS off. Each is kept as a
   * browser writes its `Origin` header (scheme and host in lower case, no default port), which CORS
   * compares it with as a string: `https://App.example.com:443` would otherwise never match.
   */
  @Transform(toOrigins)
  @IsString({ each: true })
  @Matches(ORIGIN, {
    each: true,
    message:
      'CORS_ORIGINS entries must be origins like https://app.example.com (each named: no * in them)',
  })
  CORS_ORIGINS: string[] = [];

  /**
   * Host names requests may be addressed to besides IP addresses and `localhost` (a page elsewhere
   * must not reach this server through DNS rebinding). `.example.com` allows its subdomains.
   */
  @Transform(toList)
  @IsString({ each: true })
  @Matches(/^\.?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/, {
    each: true,
    message:
      'ALLOWED_HOSTS entries must be host names like api.example.com, or .example.com for it and its subdomains (no port, no *)',
  })
  ALLOWED_HOSTS: string[] = [];

  /** Bearer token that may read `/metrics` and `/health/ready` besides admin keys; at least 16 characters. */
  @IsOptional()
  @IsString()
  @MinLength(16)
  METRICS_TOKEN?: string;

  // --- what tasks may run ---
  /**
   * Programs a non-admin key may name as `test_command` or `regression_command` (the first word,
   * exactly). Shells, `env` and inline code (`node -e`, `python3 -c`, ...) are refused whatever
   * this says.
   */
  @Transform(toList)
  @IsString({ each: true })
  @Matches(/^[A-Za-z0-9._+/-]+$/, {
    each: true,
    message: 'ALLOWED_COMMANDS entries must be program names',
  })
  ALLOWED_COMMANDS: string[] = [
    'npm',
    'npx',
    'node',
    'jest',
    'vitest',
    'pytest',
    'python3',
    'go',
    'cargo',
  ];

  /**
   * Unprivileged user every child process (the agent, its tools, test commands, git) runs as: a
   * name from /etc/passwd or `uid:gid`. A server started as root refuses to start without it
   * (unless ALLOW_ROOT=true).
   */
  @IsOptional()
  @IsString()
  @Matches(/^([a-z_][a-z0-9_.-]*[$]?|\d+:\d+)$/i, {
    message: 'RUN_AS_USER must be a user name or uid:gid',
  })
  RUN_AS_USER?: string;

  /** Let a server started as root run its children as root (not recommended). */
  @Transform(toBool)
  @IsBoolean()
  ALLOW_ROOT = false;

  /**
   * `bwrap`: run the agent, tests and git inside bubblewrap with only the project (and the CLI's
   * own ~/.claude) writable, the server's files hidden and its processes invisible. `none`: no
   * sandbox.
   */
  @IsIn(['none', 'bwrap'])
  SANDBOX: 'none' | 'bwrap' = 'none';

  /**
   * How much lower than the server's the CPU priority of the process host and every child
   * process (the agent, its tools, test commands, git) is, 0–19, as a niceness: when agents and
   * test suites keep the cores busy, the server's own work (status reads, event streams, the
   * orchestrator) goes first. 0 runs them at the server's priority.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(19)
  CHILD_NICE = 10;

  /** System directories the sandbox shows read-only (missing ones are skipped). */
  @Transform(toList)
  @IsString({ each: true })
  @Matches(/^\//, { each: true, message: 'SANDBOX_READONLY_PATHS entries must be absolute paths' })
  SANDBOX_READONLY_PATHS: string[] = [
    '/usr',
    '/bin',
    '/sbin',
    '/lib',
    '/lib32',
    '/lib64',
    '/etc',
    '/opt',
  ];

  // --- database ---
  /** `sqlite:///./relative.db`, `sqlite:////absolute.db` or `mysql://user:pass@host:port/db`. */
  @IsString()
  @Matches(/^(sqlite:\/\/\/.+|mysql(\+pymysql)?:\/\/.+)$/, {
    message:
      'DATABASE_URL must look like sqlite:///./file.db, sqlite:////abs/file.db or mysql://user:pass@host:3306/db',
  })
  DATABASE_URL = 'sqlite:///./data/tasks.db';

  /**
   * MySQL: longest a connection attempt, or one query, may take before it fails; a database
   * behind a network partition then answers requests with 503 database_unavailable instead of
   * holding them for the whole outage.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(300)
  DATABASE_TIMEOUT_SECONDS = 5;

  // --- projects ---
  /** Comma-separated absolute directories that sessions may point into; empty allows any. */
  @Transform(toList)
  @IsString({ each: true })
  @Matches(/^\//, { each: true, message: 'ALLOWED_PROJECT_ROOTS entries must be absolute paths' })
  ALLOWED_PROJECT_ROOTS: string[] = [];

  // --- Claude Code CLI ---
  @IsString()
  @MinLength(1)
  CLAUDE_CLI_COMMAND = 'claude';

  @IsOptional()
  @IsString()
  CLAUDE_MODEL?: string;

  @IsIn(['default', 'acceptEdits', 'plan', 'bypassPermissions'])
  CLAUDE_PERMISSION_MODE: 'default' | 'acceptEdits' | 'plan' | 'bypassPermissions' = 'acceptEdits';

  /** Comma-separated tool rules passed as `--allowedTools=`. */
  @Transform(toList)
  @IsString({ each: true })
  CLAUDE_ALLOWED_TOOLS: string[] = [
    'Read',
    'Edit',
    'MultiEdit',
    'Write',
    'Glob',
    'Grep',
    'LS',
    'Bash',
  ];

  @Transform(toList)
  @IsString({ each: true })
  CLAUDE_DISALLOWED_TOOLS: string[] = [];

  /** Agentic turns inside one CLI run (`--max-turns`); 0 leaves the CLI's own default. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1000)
  CLAUDE_MAX_TURNS = 50;

  @IsOptional()
  @IsString()
  CLAUDE_APPEND_SYSTEM_PROMPT?: string;

  /** Overall limit for one agent turn (one `claude` run), seconds. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  CLI_TIMEOUT_SECONDS = 300;

  /** The CLI must print its init line within this many seconds. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  CLI_INIT_TIMEOUT_SECONDS = 60;

  /** Kill a turn that prints nothing for this many seconds; 0 disables the idle limit. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  CLI_IDLE_TIMEOUT_SECONDS = 0;

  /**
   * Longest stream-json line kept whole, bytes. Past it the rest of each long string value is
   * dropped (a marker says how much), so the line stays valid JSON; a line whose structure alone
   * is larger is skipped with a warning.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  CLI_MAX_LINE_BYTES = 4 * 1024 * 1024;

  /** Most stdout bytes read from one turn; the rest is dropped with a marker. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  CLI_MAX_OUTPUT_BYTES = 32 * 1024 * 1024;

  /** Seconds between SIGINT, SIGTERM and SIGKILL when a process group is stopped. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  KILL_GRACE_SECONDS = 3;

  /** Seconds the CLI may take to exit after its result line before its process group is killed. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  CLI_RESULT_GRACE_SECONDS = 5;

  /**
   * Extra server environment variables passed to the CLI beyond the built-in allowlist
   * (comma-separated names; `PREFIX*` matches a prefix). Secret-looking names never pass.
   */
  @Transform(toList)
  @IsString({ each: true })
  CLAUDE_CLI_ENV_PASSTHROUGH: string[] = [];

  /**
   * How the CLI reports `total_cost_usd` on a resumed turn: `per_process` (this run only, as
   * 2.1.197 does), `conversation` (whole conversation), or `auto` (by CLI version).
   */
  @IsIn(['auto', 'per_process', 'conversation'])
  CLAUDE_COST_REPORTING: 'auto' | 'per_process' | 'conversation' = 'auto';

  // --- execution limits ---
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  MAX_ITERATIONS = 20;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100)
  MAX_PAUSES = 5;

  /** Upper bound a task may ask for in `max_iterations`. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  MAX_ITERATIONS_LIMIT = 100;

  /** Upper bound a task may ask for in `max_pauses`. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1000)
  MAX_PAUSES_LIMIT = 50;

  /** Simulated human encourages the agent every N..M agent turns (the seed: 3 to 5). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  ENCOURAGE_EVERY_MIN = 3;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  ENCOURAGE_EVERY_MAX = 5;

  /**
   * Wait before the turn that follows an API error (rate limit, network, server error), seconds;
   * doubled for each further API error in a row, up to API_ERROR_RETRY_MAX_DELAY_SECONDS. The
   * CLI retries within a turn already; this keeps a task from using up its pauses in a second
   * while the API is down.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3600)
  API_ERROR_RETRY_DELAY_SECONDS = 10;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3600)
  API_ERROR_RETRY_MAX_DELAY_SECONDS = 120;

  /** Optional JSON file overriding the simulated human's prompt templates. */
  @IsOptional()
  @IsString()
  PROMPT_TEMPLATES_FILE?: string;

  /** Default cost budget of a task, USD (`max_cost_usd`); 0: no budget. */
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  MAX_COST_USD_PER_TASK = 10;

  /** Largest `max_cost_usd` a task may ask for, USD. */
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  MAX_COST_USD_LIMIT = 100;

  // --- tests ---
  /** Time for all the generated test files of one test phase together, seconds. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  TEST_TIMEOUT_SECONDS = 60;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  REGRESSION_TIMEOUT_SECONDS = 300;

  /**
   * Test runs (a test phase's generated tests, a regression run) at once, across all tasks of this
   * instance (its slots are in memory: each instance sharing a database has its own); more
   * wait for a slot, their time limit starting once they have one. Test suites are the CPU-heavy
   * part of a task: many at once on a few cores only slow each other and the server down.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  MAX_CONCURRENT_TEST_RUNS = 4;

  /** Output kept per test command or test case, bytes. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  TEST_OUTPUT_MAX_BYTES = 64 * 1024;

  // --- queue ---
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  MAX_CONCURRENT_TASKS = 2;

  /** Seconds a claim lasts without renewal; a dead server's tasks are recovered after this. */
  @Transform(toInt)
  @IsInt()
  @Min(2)
  LEASE_SECONDS = 30;

  /** How often to look for queued tasks and expired leases, milliseconds. */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  QUEUE_POLL_MS = 1000;

  /** Seconds between keep-alive comments on an open event stream (`/events`). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  SSE_KEEPALIVE_SECONDS = 15;

  /**
   * How often an open event stream reads the database for events without being woken, in
   * milliseconds: events written by another server instance sharing the database arrive this late
   * at most (this instance's own arrive at once).
   */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  SSE_POLL_MS = 1000;

  /**
   * Event streams one API key may hold open on this instance at once (without keys required, all
   * requests together); past it a new one is refused `429 too_many_streams`.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  MAX_EVENT_STREAMS_PER_KEY = 100;

  /**
   * Runs of a task that may end with its server dying before it fails with `server_restart`
   * (graceful shutdowns do not count). Leases that ran out while their server ran on another host
   * (not seen to die) count against twice this.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  MAX_TASK_ATTEMPTS = 3;

  /** Identifies this server instance as a lease owner (prefix of hostname:pid); at most 100 characters. */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  @Matches(/^[A-Za-z0-9._-]*$/, {
    message: 'INSTANCE_ID may contain only letters, digits, ".", "_" and "-"',
  })
  INSTANCE_ID?: string;

  /**
   * Names this machine in lease owner ids (default: its hostname). Servers on one machine must
   * share it (they recognise each other's dead processes); machines must not (set it when several
   * share a hostname, e.g. containers with host networking). At most 64 characters, a hostname's
   * longest: with INSTANCE_ID's 100 and the rest of the id, a lease owner fits its column (200).
   */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  @Matches(/^[A-Za-z0-9._-]+$/, {
    message: 'HOST_ID may contain only letters, digits, ".", "_" and "-"',
  })
  HOST_ID?: string;
  /** Most PENDING tasks one API key may have queued (429 queue_full beyond). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  MAX_QUEUED_TASKS_PER_KEY = 20;

  /** Most PENDING tasks in all (429 queue_full beyond). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  MAX_QUEUED_TASKS = 500;

  /**
   * Default of `require_failing_tests` for sessions that do not set it: a task completes only when
   * its generated tests fail or error at its base commit (they test the change).
   */
  @Transform(toBool)
  @IsBoolean()
  REQUIRE_FAILING_TESTS = true;

  /** Run the queue in this process (set false for an API-only instance). */
  @Transform(toBool)
  @IsBoolean()
  ORCHESTRATOR_ENABLED = true;

  // --- workspaces ---
  /**
   * Directory the task workspaces (git worktrees, one per task) are created in; relative paths
   * are resolved against the working directory. Created at start. Only workspaces (through git)
   * and the server's copies of their repositories' git configuration are ever deleted in it.
   */
  @IsString()
  @MinLength(1)
  WORKSPACES_DIR = './data/workspaces';

  /** Prefix of the task branches (`<prefix><short id>-<slug>`). */
  @IsString()
  @MaxLength(60)
  @Matches(/^[A-Za-z0-9_./-]*$/, {
    message: 'WORKSPACE_BRANCH_PREFIX may contain only letters, digits, "_", "-", "." and "/"',
  })
  WORKSPACE_BRANCH_PREFIX = 'cta/';

  /** Hours a finished task's workspace is kept (its branch stays); 0 removes it at the next sweep. */
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  WORKSPACE_RETENTION_HOURS = 72;

  /** How often workspaces past their retention (and leftovers without a task) are removed, seconds. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  WORKSPACE_SWEEP_SECONDS = 300;

  /**
   * Disk the workspaces may use together, GB (decimals allowed); at or above it tasks that need
   * a new workspace wait (PENDING, reason `workspace_quota`). 0: no limit.
   */
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  WORKSPACES_MAX_GB = 20;

  /** Delete a merged task's branch when its workspace is removed. */
  @Transform(toBool)
  @IsBoolean()
  DELETE_MERGED_BRANCHES = false;

  /** Author and committer of the commits the server makes (task branches, merges). */
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  @Matches(/^[^<>\n]+$/, { message: 'COMMIT_AUTHOR_NAME must not contain <, > or a newline' })
  COMMIT_AUTHOR_NAME = 'Claude Task Automation';

  @IsString()
  @MaxLength(200)
  @Matches(/^[^<>\s]+@[^<>\s]+$/, { message: 'COMMIT_AUTHOR_EMAIL must look like name@host' })
  COMMIT_AUTHOR_EMAIL = 'cta@localhost';

  /** Time limit of a session's setup command in a new workspace, seconds. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  SETUP_TIMEOUT_SECONDS = 900;

  /** Time limit of one git command (worktree add, commit, merge), seconds. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  GIT_TIMEOUT_SECONDS = 300;

  /** Largest diff returned by `GET /tasks/{id}/diff`, bytes; a longer one is cut with a note. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(64 * 1024 * 1024)
  DIFF_MAX_BYTES = 1024 * 1024;
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigValidationError';
  }
}

/** Settings whose values are secrets: never repeated in error messages. */
const SECRET_SETTINGS = new Set(['DATABASE_URL', 'METRICS_TOKEN']);

function flatten(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => {
    const constraints = Object.values(e.constraints ?? {});
    const shown = SECRET_SETTINGS.has(e.property) ? '(hidden)' : JSON.stringify(e.value);
    return constraints.map((c) => `${e.property}=${shown}: ${c}`);
  });
}

/** A prefix that makes valid git branch names when a name is appended (`git check-ref-format`). */
function isBranchPrefix(prefix: string): boolean {
  const parts = prefix.split('/');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.every(
    (part) =>
      /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(part) &&
      !/(\.|\.lock)$/.test(part) &&
      !part.includes('..'),
  );
}

/** Largest file a setting is read from: a token, a URL, a list. */
const SETTING_FILE_MAX_BYTES = 64 * 1024;

/** A setting's file, under the `_FILE` convention: the file's content is the value. */
function readSettingFile(key: string, file: string): string {
  if (!isAbsolute(file)) throw new Error(`${key}_FILE must be an absolute path`);
  try {
    return readSmallRegularFile(file, SETTING_FILE_MAX_BYTES).replace(/\r?\n$/, '');
  } catch (error) {
    throw new Error(`${key}_FILE=${file} cannot be read (${unreadableReason(error)})`);
  }
}

/** Longest delay a Node timer keeps: it ends a longer one at once (a `TimeoutOverflowWarning`). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The durations, by the unit their names end with (milliseconds per unit). */
const DURATION_UNITS: readonly [string, number][] = [
  ['_MS', 1],
  ['_SECONDS', 1000],
];

/** Durations longer than a timer keeps: a timeout of a month would end every turn at once. */
function overlongDurations(config: AppConfig): string[] {
  return knownSettings().flatMap((key) => {
    const unit = DURATION_UNITS.find(([suffix]) => key.endsWith(suffix));
    const value = (config as unknown as Record<string, unknown>)[key];
    if (unit === undefined || typeof value !== 'number' || value * unit[1] <= MAX_TIMER_MS) {
      return [];
    }
    return [
      `${key} must not be more than ${Math.floor(MAX_TIMER_MS / unit[1])} (about 24 days: a longer wait is no wait for Node's timers)`,
    ];
  });
}

/** Variables AppConfig reads: every field, optional ones included. */
export function knownSettings(): string[] {
  const declared = Object.keys(new AppConfig()).concat([
    'CLAUDE_MODEL',
    'CLAUDE_APPEND_SYSTEM_PROMPT',
    'PROMPT_TEMPLATES_FILE',
    'INSTANCE_ID',
    'HOST_ID',
    'AUTH_REQUIRED',
    'METRICS_TOKEN',
    'RUN_AS_USER',
  ]);
  return [...new Set(declared)];
}

/** The files settings are read from (`NAME_FILE` of a known setting), as given. */
export function settingFiles(env: NodeJS.ProcessEnv): string[] {
  return knownSettings()
    .map((key) => env[`${key}_FILE`])
    .filter((file): file is string => file !== undefined && file !== '');
}

/**
 * Builds the typed config from an environment; throws naming every bad variable. Any setting may
 * come from a file instead (`NAME_FILE=/run/secrets/name`, the usual convention for secrets such
 * as DATABASE_URL), so that it need not be in the server's environment at all.
 */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const raw: Record<string, string> = {};
  const problems: string[] = [];
  for (const key of knownSettings()) {
    const value = env[key];
    const file = env[`${key}_FILE`];
    if (file !== undefined && file !== '') {
      if (value !== undefined && value !== '') {
        problems.push(`${key} and ${key}_FILE are both set; set one of them`);
        continue;
      }
      try {
        raw[key] = readSettingFile(key, file);
      } catch (error) {
        problems.push((error as Error).message);
      }
    } else if (value !== undefined && value !== '') {
      raw[key] = value;
    }
  }
  const config = plainToInstance(AppConfig, raw, { exposeDefaultValues: true });
  problems.push(...flatten(validateSync(config, { forbidUnknownValues: true })));
  problems.push(...overlongDurations(config));
  problems.push(...trustProxyProblems(config.TRUST_PROXY));
  if (config.ENCOURAGE_EVERY_MIN > config.ENCOURAGE_EVERY_MAX) {
    problems.push('ENCOURAGE_EVERY_MIN must not exceed ENCOURAGE_EVERY_MAX');
  }
  if (config.API_ERROR_RETRY_DELAY_SECONDS > config.API_ERROR_RETRY_MAX_DELAY_SECONDS) {
    problems.push(
      'API_ERROR_RETRY_DELAY_SECONDS must not exceed API_ERROR_RETRY_MAX_DELAY_SECONDS',
    );
  }
  if (config.MAX_ITERATIONS > config.MAX_ITERATIONS_LIMIT) {
    problems.push('MAX_ITERATIONS must not exceed MAX_ITERATIONS_LIMIT');
  }
  if (config.MAX_PAUSES > config.MAX_PAUSES_LIMIT) {
    problems.push('MAX_PAUSES must not exceed MAX_PAUSES_LIMIT');
  }
  if (!isBranchPrefix(config.WORKSPACE_BRANCH_PREFIX)) {
    problems.push(
      'WORKSPACE_BRANCH_PREFIX must make valid branch names: names between "/" start with a letter, digit or "_", and none ends with "." or ".lock" (like "cta/")',
    );
  }
  if (config.MAX_COST_USD_PER_TASK > config.MAX_COST_USD_LIMIT) {
    problems.push('MAX_COST_USD_PER_TASK must not exceed MAX_COST_USD_LIMIT');
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return config;
}
