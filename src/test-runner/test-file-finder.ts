import { Injectable, Logger } from '@nestjs/common';
import { lstatSync, readdirSync, Stats } from 'fs';
import { isAbsolute, join, relative, sep } from 'path';
import { lastValueFrom } from 'rxjs';
import { CommandResult, TestCommandRunner } from 'src/test-runner/test-command-runner';
import {
  isInSkippedDirectory,
  isTestFile,
  SKIPPED_DIRECTORIES,
  TestEcosystem,
} from 'src/test-runner/test-file-patterns';

/** Size and modification time of one file. */
export interface FileStamp {
  mtimeMs: number;
  size: number;
}

/**
 * The state of a project before the write-tests turn, to compare against afterwards. Plain data
 * (JSON-serialisable), so it can be stored with the task.
 *
 * - `git`: the project is inside a git work tree: HEAD and the files `git status` reported as
 *   changed or untracked then (with their stamps, to notice a file changed again).
 * - `files`: no git: stamps of every file in the tree, skipping `SKIPPED_DIRECTORIES`, bounded by
 *   `MAX_SNAPSHOT_FILES` (`truncated` says the bound was hit).
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
    }
  | {
      mode: 'files';
      projectPath: string;
      takenAtMs: number;
      files: Record<string, FileStamp>;
      truncated: boolean;
    };

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

function stamp(projectPath: string, rel: string): FileStamp | null {
  try {
    const stats = lstatSync(join(projectPath, rel));
    return stats.isFile() ? stampOf(stats) : null;
  } catch {
    return null;
  }
}

function sameStamp(a: FileStamp | null | undefined, b: FileStamp | null): boolean {
  return (
    a !== undefined && a !== null && b !== null && a.mtimeMs === b.mtimeMs && a.size === b.size
  );
}

/** Stamps of the regular files under `projectPath` (symlinks not followed), bounded. */
export function walkProject(
  projectPath: string,
  maxFiles = MAX_SNAPSHOT_FILES,
): {
  files: Record<string, FileStamp>;
  truncated: boolean;
} {
  const files: Record<string, FileStamp> = {};
  let count = 0;
  let truncated = false;
  const visit = (dir: string, rel: string, depth: number): void => {
    if (truncated || depth > MAX_SNAPSHOT_DEPTH) return;
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of entries) {
      if (count >= maxFiles) {
        truncated = true;
        return;
      }
      const full = join(dir, name);
      const relPath = rel === '' ? name : `${rel}/${name}`;
      let stats: Stats;
      try {
        stats = lstatSync(full);
      } catch {
        continue;
      }
      if (stats.isDirectory()) {
        if (!SKIPPED_DIRECTORIES.has(name)) visit(full, relPath, depth + 1);
      } else if (stats.isFile()) {
        files[relPath] = stampOf(stats);
        count += 1;
      }
    }
  };
  visit(projectPath, '', 0);
  return { files, truncated };
}

/** Paths from `git status --porcelain=v1 -z` output (renames give the new path; deletions skipped). */
export function parsePorcelainZ(output: string): string[] {
  const fields = output.split('\0');
  const paths: string[] = [];
  for (let i = 0; i < fields.length; i += 1) {
    const entry = fields[i];
    if (entry.length < 4) continue;
    const x = entry[0];
    const y = entry[1];
    const path = entry.slice(3);
    if (x === 'R' || x === 'C') i += 1;
    if (x === 'D' || y === 'D') continue;
    paths.push(path);
  }
  return paths;
}

/**
 * Finds the test files a turn created or changed: from `git status` when the project is in a git
 * work tree (also counting files in commits made during the turn), otherwise by comparing file
 * snapshots. Only files that look like tests for the project's ecosystem are returned, as paths
 * relative to the project, sorted.
 */
@Injectable()
export class TestFileFinder {
  private readonly logger = new Logger(TestFileFinder.name);

  constructor(private readonly commands: TestCommandRunner) {}

  private async git(projectPath: string, args: string[]): Promise<CommandResult> {
    const events = this.commands.run({
      argv: ['git', '-c', 'core.fsmonitor=false', '-c', 'core.quotepath=false', ...args],
      cwd: projectPath,
      timeoutMs: GIT_TIMEOUT_MS,
      maxOutputBytes: GIT_OUTPUT_BYTES,
    });
    const last = await lastValueFrom(events);
    if (last.type !== 'finished') throw new Error('git produced no result');
    return last.result;
  }

  private async gitLines(projectPath: string, args: string[]): Promise<string | null> {
    const result = await this.git(projectPath, args);
    return result.exitCode === 0 && result.outputBytes <= GIT_OUTPUT_BYTES ? result.output : null;
  }

  /** Project-relative paths reported by git status (only those inside the project). */
  private async gitDirty(projectPath: string, prefix: string): Promise<string[] | null> {
    const out = await this.gitLines(projectPath, [
      'status',
      '--porcelain=v1',
      '-z',
      '--untracked-files=all',
      '--',
      '.',
    ]);
    if (out === null) return null;
    return parsePorcelainZ(out)
      .filter((p) => p.startsWith(prefix))
      .map((p) => p.slice(prefix.length));
  }

  async snapshot(projectPath: string): Promise<ProjectSnapshot> {
    const takenAtMs = Date.now();
    const prefixOut = await this.gitLines(projectPath, ['rev-parse', '--show-prefix']).catch(
      () => null,
    );
    if (prefixOut !== null) {
      const prefix = prefixOut.trim();
      const dirty = await this.gitDirty(projectPath, prefix);
      if (dirty !== null) {
        const headOut = await this.gitLines(projectPath, ['rev-parse', '--verify', '-q', 'HEAD']);
        const stamps: Record<string, FileStamp | null> = {};
        for (const rel of dirty) stamps[rel] = stamp(projectPath, rel);
        const head = headOut?.trim() || null;
        return { mode: 'git', projectPath, takenAtMs, prefix, head, dirty: stamps };
      }
      this.logger.warn(`git status failed in ${projectPath}; using a file snapshot`);
    }
    const { files, truncated } = walkProject(projectPath);
    if (truncated) {
      this.logger.warn(`file snapshot of ${projectPath} stopped at ${MAX_SNAPSHOT_FILES} files`);
    }
    return { mode: 'files', projectPath, takenAtMs, files, truncated };
  }

  async changedTestFiles(
    projectPath: string,
    before: ProjectSnapshot,
    ecosystem: TestEcosystem,
  ): Promise<string[]> {
    const changed = new Set<string>();
    if (before.mode === 'git') {
      const dirty = await this.gitDirty(projectPath, before.prefix);
      if (dirty !== null) {
        for (const rel of dirty) {
          if (!(rel in before.dirty) || !sameStamp(before.dirty[rel], stamp(projectPath, rel))) {
            changed.add(rel);
          }
        }
        const head = await this.gitLines(projectPath, ['rev-parse', '--verify', '-q', 'HEAD']);
        const newHead = head?.trim() || null;
        if (before.head !== null && newHead !== null && newHead !== before.head) {
          const committed = await this.gitLines(projectPath, [
            'diff',
            '--name-only',
            '-z',
            '--no-renames',
            '--diff-filter=d',
            `${before.head}..${newHead}`,
            '--',
            '.',
          ]);
          for (const p of (committed ?? '').split('\0')) {
            if (p.startsWith(before.prefix) && p.length > before.prefix.length) {
              changed.add(p.slice(before.prefix.length));
            }
          }
        }
        return this.onlyTests(projectPath, changed, ecosystem);
      }
      this.logger.warn(`git status failed in ${projectPath}; using modification times instead`);
    }
    const now = walkProject(projectPath).files;
    for (const [rel, st] of Object.entries(now)) {
      const isChanged =
        before.mode === 'files'
          ? !sameStamp(before.files[rel], st)
          : st.mtimeMs >= before.takenAtMs - MTIME_SLACK_MS;
      if (isChanged) changed.add(rel);
    }
    return this.onlyTests(projectPath, changed, ecosystem);
  }

  private onlyTests(projectPath: string, paths: Set<string>, ecosystem: TestEcosystem): string[] {
    return [...paths]
      .filter((rel) => rel !== '' && !isAbsolute(rel) && !rel.split('/').includes('..'))
      .filter((rel) => !isInSkippedDirectory(rel) && isTestFile(rel, ecosystem))
      .filter((rel) => stamp(projectPath, rel) !== null)
      .map((rel) => toPosix(relative(projectPath, join(projectPath, rel))))
      .sort();
  }
}
