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

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

const toNumber = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value.trim()) : value;

const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return value;
};

const toList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0)
    : value;

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
  @MinLength(1)
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

  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

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

  /**
   * Runs of a task that may end with its server dying before it fails with `server_restart`
   * (graceful shutdowns do not count).
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
   * share a hostname, e.g. containers with host networking).
   */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  @Matches(/^[A-Za-z0-9._-]+$/, {
    message: 'HOST_ID may contain only letters, digits, ".", "_" and "-"',
  })
  HOST_ID?: string;

  /** Run the queue in this process (set false for an API-only instance). */
  @Transform(toBool)
  @IsBoolean()
  ORCHESTRATOR_ENABLED = true;

  // --- workspaces ---
  /**
   * Directory the task workspaces (git worktrees, one per task) are created in; relative paths
   * are resolved against the working directory. Created at start. Only workspaces are ever
   * deleted in it, and only through git.
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

function flatten(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => {
    const constraints = Object.values(e.constraints ?? {});
    const shown = JSON.stringify(e.value);
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

/** Builds the typed config from an environment; throws naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const defaults = new AppConfig();
  const known = Object.keys(defaults).concat([
    'CLAUDE_MODEL',
    'CLAUDE_APPEND_SYSTEM_PROMPT',
    'PROMPT_TEMPLATES_FILE',
    'INSTANCE_ID',
    'HOST_ID',
  ]);
  const raw: Record<string, string> = {};
  for (const key of known) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const config = plainToInstance(AppConfig, raw, { exposeDefaultValues: true });
  const problems = flatten(validateSync(config, { forbidUnknownValues: true }));
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
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return config;
}
