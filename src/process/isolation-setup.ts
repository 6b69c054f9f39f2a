import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppConfig, settingFiles } from 'src/config';
import { parseDatabaseUrl } from 'src/database';
import {
  buildChildIsolation,
  changeableBy,
  ChildIsolation,
  readableBy,
} from 'src/process/child-isolation';

/** Injection token of the `ChildIsolation` every spawn applies. */
export const CHILD_ISOLATION = Symbol('CHILD_ISOLATION');

/**
 * The server's secrets on disk: `.env` in its working directory, every `<NAME>_FILE` it was given,
 * and the SQLite database (which holds every key's sessions and tasks).
 */
export function serverSecretFiles(
  config: AppConfig,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const files = settingFiles(env).map((file) => resolve(file));
  const dotEnv = resolve('.env');
  if (existsSync(dotEnv)) files.push(dotEnv);
  const target = parseDatabaseUrl(config.DATABASE_URL);
  if (target.type === 'sqlite') files.push(target.file);
  return [...new Set(files)].filter((f) => existsSync(f));
}

/** The isolation this configuration asks for (see `buildChildIsolation`). */
export function isolationFromConfig(config: AppConfig): ChildIsolation {
  const secrets = serverSecretFiles(config);
  const target = parseDatabaseUrl(config.DATABASE_URL);
  return buildChildIsolation({
    runAsUser: config.RUN_AS_USER,
    sandbox: config.SANDBOX,
    sandboxReadOnly: config.SANDBOX_READONLY_PATHS,
    serverPaths: [
      process.cwd(),
      ...secrets,
      ...(target.type === 'sqlite' ? [resolve(target.file, '..')] : []),
      // Other tasks' workspaces and other projects: a task's own are shown again over the mask.
      resolve(config.WORKSPACES_DIR),
      ...config.ALLOWED_PROJECT_ROOTS,
    ],
    uid: process.getuid?.() ?? -1,
    pathVariable: process.env.PATH,
  });
}

/** What the start-up check of child isolation decided. */
export interface IsolationVerdict {
  refusal: string | null;
  warnings: string[];
  /** How children run, for the start-up log line. */
  summary: string;
  /** Children run as another user or in a sandbox: they cannot read the server's secrets. */
  isolated: boolean;
}

/**
 * What the server runs and reads its settings and data from, which RUN_AS_USER must not be able
 * to change (`checkIsolation`): its installation, its working directory (where `.env` is looked
 * for), the SQLite database's directory, and its secret files.
 */
export function serverOwnPaths(
  config: AppConfig,
  installDir: string,
  secretFiles: readonly string[],
): string[] {
  const target = parseDatabaseUrl(config.DATABASE_URL);
  return [
    installDir,
    process.cwd(),
    ...(target.type === 'sqlite' ? [resolve(target.file, '..')] : []),
    ...secretFiles,
  ];
}

/**
 * THE START-UP CHECK OF CHILD ISOLATION. A server started as root runs its children as
 * RUN_AS_USER; without it, it refuses to start unless ALLOW_ROOT=true (then it warns). Children
 * running as that user must not be able to read the server's secret files (`.env`, `*_FILE`, the
 * SQLite database): the server refuses to start, naming the file to `chmod`, while they can. Nor
 * may they change `ownPaths` (`serverOwnPaths`): what they put there the server, as root, would
 * run or take for its settings and database at its next start.
 */
export function checkIsolation(
  isolation: ChildIsolation,
  uid: number,
  allowRoot: boolean,
  secretFiles: readonly string[],
  ownPaths: readonly string[] = [],
): IsolationVerdict {
  const { identity, sandbox } = isolation;
  const where = sandbox === null ? 'no sandbox' : 'inside bubblewrap';
  if (uid === 0 && identity === null) {
    if (!allowRoot) {
      return {
        refusal:
          'the server runs as root, so the agent and test commands would too: set RUN_AS_USER=<an unprivileged user> to run them as that user, or ALLOW_ROOT=true to run them as root (not recommended)',
        warnings: [],
        summary: '',
        isolated: false,
      };
    }
    return {
      refusal: null,
      warnings: [
        `ALLOW_ROOT=true: the agent, its shell and every test command RUN AS ROOT (${where}); set RUN_AS_USER to run them as an unprivileged user`,
      ],
      summary: `children run as root, ${where}`,
      isolated: sandbox !== null,
    };
  }
  if (identity !== null) {
    const changeable = [...new Set(ownPaths)].filter((path) => changeableBy(path, identity));
    if (changeable.length > 0) {
      return {
        refusal: `${changeable.join(', ')} can be changed by RUN_AS_USER=${identity.user}, which the agent runs as, and the server (as root) runs its code and reads its settings and database from there: make them root's and not writable by that user, nor the directories above them`,
        warnings: [],
        summary: '',
        isolated: false,
      };
    }
    const exposed = secretFiles.filter((file) => readableBy(file, identity));
    if (exposed.length > 0) {
      return {
        refusal: `${exposed.join(', ')} can be read by RUN_AS_USER=${identity.user}, which the agent runs as: chmod 600 the file(s) (or 700 their directory)`,
        warnings: [],
        summary: '',
        isolated: false,
      };
    }
    return {
      refusal: null,
      warnings: [],
      summary: `children run as ${identity.user} (uid ${identity.uid}), ${where}`,
      isolated: true,
    };
  }
  return {
    refusal: null,
    warnings: [],
    summary: `children run as this server's user, ${where}`,
    isolated: sandbox !== null,
  };
}
