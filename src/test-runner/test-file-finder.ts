import { Injectable, Logger, LoggerService } from '@nestjs/common';
import { existsSync, lstatSync, Stats } from 'fs';
import { lstat, readdir } from 'fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'path';
import { lastValueFrom } from 'rxjs';
import { CommandResult, TestCommandRunner } from 'src/test-runner/test-command-runner';
import { readChildFile } from 'src/process';
import { isPythonBytecode } from 'src/common';
import { gitReadPaths } from 'src/test-runner/git-read-paths';
import { changedIgnored, ignoredFingerprints } from 'src/test-runner/ignored-fingerprints';
import { DependencyMark, isDependencyManifest } from 'src/test-runner/installed-dependencies';
import { jsTestConfigFiles } from 'src/test-runner/js-test-config';
import { linksOutside } from 'src/test-runner/outside-links';
import { holdsTestProbe, probeLanguage } from 'src/test-runner/test-probes';
import {
  isInSkippedDirectory,
  isPythonTestModule,
  isTestConfigFile,
  isTestFile,
  PYTHON_TEST_CONFIG_CODE,
  SKIPPED_DIRECTORIES,
  TestEcosystem,
  testSupportRoot,
} from 'src/test-runner/test-file-patterns';

/** Size and modification time of one file. */
export interface FileStamp {
  mtimeMs: number;
  size: number;
}

/**
 * The state of a project before the agent's first turn, to compare against afterwards. Plain data
 * (JSON-serialisable), so it can be stored with the task.
 *
 * - `git`: the project is inside a git work tree: HEAD and the files `git status` reported as
 *   changed or untracked then (with their stamps, to notice a file changed again), and
 *   fingerprints of what git ignored then (`ignoredFingerprints`: dependencies and caches left
 *   out; absent in snapshots stored before they were taken).
 * - `files`: no git: stamps of every file in the tree, skipping `SKIPPED_DIRECTORIES`, bounded by
 *   `MAX_SNAPSHOT_FILES` (`truncated` says the bound was hit).
 *
 * Either holds the mark of the installed dependencies (`dependencies`, `DependencyMark`) where the
 * run took one with it (in a workspace), to look at what changed in them since.
 * Should git stop working between the two calls, files modified since `takenAtMs` count as changed.
 */
export type ProjectSnapshot =
  | {
      mode: 'git';
      projectPath: string;
      takenAtMs: number;
      /** Path of the project inside the repository ('' at the top), with a trailing '/'. */
      prefix: string;
      head: string | null;
      dirty: Record<string, FileStamp | null>;
      ignored?: Record<string, string>;
      dependencies?: DependencyMark;
    }
  | {
      mode: 'files';
      projectPath: string;
      takenAtMs: number;
      files: Record<string, FileStamp>;
      truncated: boolean;
      dependencies?: DependencyMark;
    };

/**
 * The settings of the finder's git: no filesystem monitor, paths unquoted, and only the
 * repository's own ignore rules (`core.excludesFile` off: in a sandbox this git sees no home
 * directory, and the server's commit, which must agree with it on what is part of the change,
 * reads none either: `GIT_SETTINGS`).
 */
export const FINDER_GIT_SETTINGS: readonly string[] = [
  '-c',
  'core.fsmonitor=false',
  '-c',
  'core.quotepath=false',
  '-c',
  'core.excludesFile=/dev/null',
];

export const MAX_SNAPSHOT_FILES = 50_000;
const MAX_SNAPSHOT_DEPTH = 24;
const GIT_TIMEOUT_MS = 30_000;
const GIT_OUTPUT_BYTES = 8 * 1024 * 1024;
/** Coarse file-system clocks: a file modified this close before the snapshot counts as changed. */
const MTIME_SLACK_MS = 2000;

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

function stampOf(stats: Stats): FileStamp {
  return { mtimeMs: stats.mtimeMs, size: stats.size };
}

/** The file's stamp; null unless a regular file. A synchronous `lstat`: see `gitTopOf`. */
function stamp(projectPath: string, rel: string): FileStamp | null {
  let stats: Stats | undefined;
  try {
    stats = lstatSync(join(projectPath, rel), { throwIfNoEntry: false });
  } catch {
    return null;
  }
  return stats !== undefined && stats.isFile() ? stampOf(stats) : null;
}

function sameStamp(a: FileStamp | null | undefined, b: FileStamp | null): boolean {
  return (
    a !== undefined && a !== null && b !== null && a.mtimeMs === b.mtimeMs && a.size === b.size
  );
}

/** Stamps of the regular files under `projectPath` (symlinks not followed), bounded. */
export async function walkProject(
  projectPath: string,
  maxFiles = MAX_SNAPSHOT_FILES,
): Promise<{
  files: Record<string, FileStamp>;
  truncated: boolean;
}> {
  const files: Record<string, FileStamp> = {};
  let count = 0;
  let truncated = false;
  const visit = async (dir: string, rel: string, depth: number): Promise<void> => {
    if (truncated || depth > MAX_SNAPSHOT_DEPTH) return;
    const entries = await readdir(dir).catch(() => null);
    if (entries === null) return;
    for (const name of entries.sort()) {
      if (count >= maxFiles) {
        truncated = true;
        return;
      }
      const full = join(dir, name);
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const stats = await lstat(full).catch(() => null);
      if (stats === null) continue;
      if (stats.isDirectory()) {
        if (!SKIPPED_DIRECTORIES.has(name)) await visit(full, relPath, depth + 1);
      } else if (stats.isFile()) {
        files[relPath] = stampOf(stats);
        count += 1;
      }
    }
  };
  await visit(projectPath, '', 0);
  return { files, truncated };
}

/** What one `git status --porcelain=v2 -z --branch` says: HEAD and the changed paths. */
export interface GitStatus {
  /** HEAD's commit, or null in a repository without commits yet. */
  head: string | null;
  /** Paths (from the repository's top) created, changed or untracked; deletions left out. */
  paths: string[];
  /**
   * Every path an entry names (from the repository's top): `paths`, the deleted ones, and the
   * old paths of renames and copies.
   */
  named: string[];
  /**
   * Untracked paths an ignore rule matches (`--ignored=matching`; a directory, ending in `/`,
   * stands for everything in it).
   */
  ignored: string[];
}

/** What changed in a project since its snapshot. */
export interface ProjectChanges {
  /** The test files created or changed (project-relative, sorted). */
  testFiles: string[];
  /**
   * What git ignores in the project now (project-relative; a directory ends in `/`), from the same
   * `git status`; null outside git or when git could not say.
   */
  ignored: string[] | null;
  /**
   * Files created or changed that configure which tests a test tool runs or how they end
   * (project-relative, sorted): test configuration files (`isTestConfigFile`: `conftest.py`,
   * `pytest.ini`, `pyproject.toml`, `package.json`, `jest.config.js`, ...; and jest's and vitest's
   * configuration and setup files the project names, `jsTestConfigFiles`), and the Python modules
   * of the test tree whose code may do so (`isPythonTestModule` holding
   * `PYTHON_TEST_CONFIG_CODE`: a hook, `load_tests`, `pytest_plugins`), and code under test that
   * asks whether it runs under test (`holdsTestProbe`: `process.env.JEST_WORKER_ID`, `cfg!(test)`).
   */
  configFiles: string[];
  /**
   * Files created or changed in test directories that are no test files (`testSupportRoot`:
   * fixtures, expected output, helpers), project-relative and sorted: what the generated tests
   * may read.
   */
  supportFiles: string[];
  /**
   * Files created or changed that say which dependencies the project installs (`package.json`,
   * lockfiles, `requirements*.txt`, `pyproject.toml`, ...: `isDependencyManifest`),
   * project-relative and sorted.
   */
  dependencyManifests: string[];
  /**
   * Symbolic links created or changed that lead outside the repository's work tree (`path ->
   * target`, project-relative, sorted: `linksOutside`); [] outside git (nothing is committed).
   */
  outsideLinks: string[];
  /**
   * What git ignores that was created or changed since the snapshot (project-relative, a
   * directory ending in `/`, sorted: `changedIgnored`), installed dependencies and caches left
   * out; [] outside git (nothing is committed).
   */
  ignoredChanged: string[];
  /**
   * Every path of the whole work tree (from its top, not only the project's) that `git status`
   * reported created, changed, deleted, renamed or untracked (`GitStatus.named`): what the
   * tested-tree record hashes; null outside git or when git could not say.
   */
  treePaths: string[] | null;
}

/** Largest file read to see whether it configures the tests (or probes for them). */
const MAX_CONFIG_MODULE_BYTES = 4 * 1024 * 1024;

/**
 * Whether `rel` in `projectPath` configures the tests (`ProjectChanges.configFiles`). Read from
 * the file system, not git: no process.
 */
function configuresTests(
  projectPath: string,
  rel: string,
  jsConfig: ReadonlySet<string> = new Set(),
): boolean {
  // Bytecode git does not track is removed before a round in a workspace; what the change adds
  // to the index is found against the base commit (`BaseCheckout.testChanges`).
  if (isPythonBytecode(rel)) return false;
  if (isTestConfigFile(rel) || jsConfig.has(rel)) return true;
  const python = isPythonTestModule(rel);
  if (!python && probeLanguage(rel) === null) return false;
  const text = readChildFile(join(projectPath, rel), MAX_CONFIG_MODULE_BYTES);
  if (text === null) return false;
  return python ? PYTHON_TEST_CONFIG_CODE.test(text) : holdsTestProbe(rel, text);
}

/** Of `files`, those `ignored` (as `ProjectChanges.ignored` lists it) names or holds. */
export function ignoredAmong(files: readonly string[], ignored: readonly string[]): string[] {
  return files.filter((file) =>
    ignored.some((path) => file === path || (path.endsWith('/') && file.startsWith(path))),
  );
}

/**
 * Parses `git status --porcelain=v2 -z --branch` output: the `# branch.oid` header gives HEAD,
 * entries give paths (`1` changed, `2` renamed or copied: the new path, then the old one, which
 * is skipped there; `u` unmerged; `?` untracked; `!` ignored). Deleted entries are left out of
 * `paths`; `named` has every path, the deleted and the renames' old ones too.
 */
export function parsePorcelainV2(output: string): GitStatus {
  const fields = output.split('\0');
  let head: string | null = null;
  const paths: string[] = [];
  const named: string[] = [];
  const ignored: string[] = [];
  for (let i = 0; i < fields.length; i += 1) {
    const entry = fields[i];
    if (entry.startsWith('# branch.oid ')) {
      const oid = entry.slice('# branch.oid '.length);
      head = /^[0-9a-f]{40,64}$/.test(oid) ? oid : null;
      continue;
    }
    const kind = entry[0];
    if (kind === '?') {
      paths.push(entry.slice(2));
      named.push(entry.slice(2));
      continue;
    }
    if (kind === '!') {
      ignored.push(entry.slice(2));
      continue;
    }
    if (kind !== '1' && kind !== '2' && kind !== 'u') continue;
    // Space-separated fields before the path: 8 for `1`, 9 for `2`, 10 for `u`.
    const before = kind === '1' ? 8 : kind === '2' ? 9 : 10;
    const parts = entry.split(' ');
    const xy = parts[1] ?? '';
    const path = parts.slice(before).join(' ');
    named.push(path);
    if (kind === '2') {
      i += 1;
      if (i < fields.length) named.push(fields[i]);
    }
    if (xy.includes('D')) continue;
    paths.push(path);
  }
  return { head, paths, named, ignored };
}

/**
 * The top of the git work tree holding `dir` (the nearest ancestor with a `.git` directory or
 * file), found by reading the file system: no process needed. Null outside git.
 *
 * This and `stamp` look synchronously: an `lstat` (which no FIFO can make wait) costs the process
 * 6 µs of CPU, one through `fs.promises` and the thread pool 38 (test/bench/RESULTS.md), and a
 * look at a turn's changes makes a few.
 */
export function gitTopOf(dir: string): string | null {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, '.git'))) return current;
    if (dirname(current) === current) return null;
  }
}

/** Where the finder's warnings go (a task's run binds its `task_id`). */
export type FinderLog = Pick<LoggerService, 'warn'>;

/**
 * Finds the test files a turn created or changed: from `git status` when the project is in a git
 * work tree (also counting files in commits made during the turn), otherwise by comparing file
 * snapshots. Only files that look like tests for the project's ecosystem are returned, as paths
 * relative to the project, sorted. A look costs one `git` process (two when HEAD moved); where
 * the project's repository starts is read from the file system.
 */
@Injectable()
export class TestFileFinder {
  private readonly logger = new Logger(TestFileFinder.name);

  constructor(private readonly commands: TestCommandRunner) {}

  /** One `git` command in the project; in a sandbox it reads the repository (`gitReadPaths`). */
  private async git(projectPath: string, args: string[]): Promise<CommandResult> {
    const top = gitTopOf(projectPath);
    const events = this.commands.run({
      argv: ['git', ...FINDER_GIT_SETTINGS, ...args],
      cwd: projectPath,
      timeoutMs: GIT_TIMEOUT_MS,
      maxOutputBytes: GIT_OUTPUT_BYTES,
      readable: top === null ? [] : gitReadPaths(top, projectPath),
    });
    const last = await lastValueFrom(events);
    if (last.type !== 'finished') throw new Error('git produced no result');
    return last.result;
  }

  private async gitLines(projectPath: string, args: string[]): Promise<string | null> {
    const result = await this.git(projectPath, args);
    return result.exitCode === 0 && result.outputBytes <= GIT_OUTPUT_BYTES ? result.output : null;
  }

  /**
   * HEAD and the project-relative paths git reports as changed or untracked under the project,
   * and every path it names in the whole work tree (`named`, from its top): one `git status`
   * call over the work tree. Null when git cannot say (then files are compared instead).
   */
  private async gitStatus(
    projectPath: string,
    prefix: string,
    ignored = false,
  ): Promise<GitStatus | null> {
    const out = await this.gitLines(projectPath, [
      'status',
      '--porcelain=v2',
      '-z',
      '--branch',
      '--untracked-files=all',
      ...(ignored ? ['--ignored=matching'] : []),
      '--',
      ':/',
    ]).catch(() => null);
    if (out === null) return null;
    const status = parsePorcelainV2(out);
    const inProject = (paths: string[]) =>
      paths.filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
    return {
      head: status.head,
      paths: inProject(status.paths),
      named: status.named,
      ignored: inProject(status.ignored),
    };
  }

  /** `log` takes the warnings (the finder's own logger if unset). */
  async snapshot(projectPath: string, log: FinderLog = this.logger): Promise<ProjectSnapshot> {
    const takenAtMs = Date.now();
    const top = gitTopOf(projectPath);
    if (top !== null) {
      const rel = toPosix(relative(top, projectPath));
      const prefix = rel === '' ? '' : `${rel}/`;
      const status = await this.gitStatus(projectPath, prefix, true);
      if (status !== null) {
        const stamps: Record<string, FileStamp | null> = {};
        for (const path of status.paths) stamps[path] = stamp(projectPath, path);
        return {
          mode: 'git',
          projectPath,
          takenAtMs,
          prefix,
          head: status.head,
          dirty: stamps,
          ignored: await ignoredFingerprints(projectPath, status.ignored),
        };
      }
      log.warn(`git status failed in ${projectPath}; using a file snapshot`);
    }
    const { files, truncated } = await walkProject(projectPath);
    if (truncated) {
      log.warn(`file snapshot of ${projectPath} stopped at ${MAX_SNAPSHOT_FILES} files`);
    }
    return { mode: 'files', projectPath, takenAtMs, files, truncated };
  }

  /**
   * Test files created or changed since `before`, and what git ignores now. In git: one `git
   * status` call, and one `git diff` more only when HEAD moved (the agent committed). `log` takes
   * the warnings (the finder's own logger if unset).
   */
  async changes(
    projectPath: string,
    before: ProjectSnapshot,
    ecosystem: TestEcosystem,
    log: FinderLog = this.logger,
  ): Promise<ProjectChanges> {
    const changed = new Set<string>();
    const jsConfig = jsTestConfigFiles(projectPath);
    if (before.mode === 'git') {
      const status = await this.gitStatus(projectPath, before.prefix, true);
      if (status !== null) {
        for (const rel of status.paths) {
          if (!(rel in before.dirty) || !sameStamp(before.dirty[rel], stamp(projectPath, rel))) {
            changed.add(rel);
          }
        }
        if (before.head !== null && status.head !== null && status.head !== before.head) {
          const committed = await this.gitLines(projectPath, [
            'diff',
            '--name-only',
            '-z',
            '--no-renames',
            '--diff-filter=d',
            `${before.head}..${status.head}`,
            '--',
            '.',
          ]);
          for (const p of (committed ?? '').split('\0')) {
            if (p.startsWith(before.prefix) && p.length > before.prefix.length) {
              changed.add(p.slice(before.prefix.length));
            }
          }
        }
        return {
          testFiles: this.onlyTests(projectPath, changed, ecosystem),
          ignored: status.ignored,
          configFiles: this.existing(projectPath, changed, (rel) =>
            configuresTests(projectPath, rel, jsConfig),
          ),
          supportFiles: this.existing(projectPath, changed, (rel) => testSupportRoot(rel) !== null),
          dependencyManifests: this.existing(projectPath, changed, isDependencyManifest),
          outsideLinks: linksOutside(gitTopOf(projectPath) ?? projectPath, projectPath, changed),
          ignoredChanged: changedIgnored(
            before.ignored ?? null,
            await ignoredFingerprints(projectPath, status.ignored),
          ),
          treePaths: status.named,
        };
      }
      log.warn(`git status failed in ${projectPath}; using modification times instead`);
    }
    const now = (await walkProject(projectPath)).files;
    for (const [rel, st] of Object.entries(now)) {
      const isChanged =
        before.mode === 'files'
          ? !sameStamp(before.files[rel], st)
          : st.mtimeMs >= before.takenAtMs - MTIME_SLACK_MS;
      if (isChanged) changed.add(rel);
    }
    return {
      testFiles: this.onlyTests(projectPath, changed, ecosystem),
      ignored: null,
      configFiles: this.existing(projectPath, changed, (rel) =>
        configuresTests(projectPath, rel, jsConfig),
      ),
      supportFiles: this.existing(projectPath, changed, (rel) => testSupportRoot(rel) !== null),
      dependencyManifests: this.existing(projectPath, changed, isDependencyManifest),
      outsideLinks: [],
      ignoredChanged: [],
      treePaths: null,
    };
  }

  private onlyTests(projectPath: string, paths: Set<string>, ecosystem: TestEcosystem): string[] {
    return this.existing(
      projectPath,
      paths,
      (rel) => !isInSkippedDirectory(rel) && isTestFile(rel, ecosystem),
    );
  }

  /** Of `paths`, the files inside the project that `wanted` takes and that exist (normalised, sorted). */
  private existing(
    projectPath: string,
    paths: Set<string>,
    wanted: (rel: string) => boolean,
  ): string[] {
    return [...paths]
      .filter((rel) => rel !== '' && !isAbsolute(rel) && !rel.split('/').includes('..'))
      .filter((rel) => wanted(rel) && stamp(projectPath, rel) !== null)
      .map((rel) => toPosix(relative(projectPath, join(projectPath, rel))))
      .sort();
  }
}
