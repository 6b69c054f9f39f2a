import { writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from 'src/common';
import { AppConfig } from 'src/config';
import {
  CHILD_ISOLATION,
  ChildIsolation,
  copyChildFile,
  filledChildTempDir,
  removeChildTempDir,
  removeOrphanedChildTempDirs,
} from 'src/process';
import { isTestFile } from 'src/test-runner';
import { failure, Git, GitOptions } from 'src/workspaces/git';
import { MAX_INDEX_BYTES, revealHiddenEntries } from 'src/workspaces/hidden-index-entries';
import { addAll } from 'src/workspaces/nested-repositories';
import { PatchBudget } from 'src/workspaces/patch-budget';
import { WorkspaceError } from 'src/workspaces/workspace-errors';
import { registeredEntry } from 'src/workspaces/worktree-files';

export const FILE_CHANGE_STATUSES = [
  'added',
  'modified',
  'deleted',
  'renamed',
  'copied',
  'type_changed',
  'unmerged',
  'unknown',
] as const;

export type FileChangeStatus = (typeof FILE_CHANGE_STATUSES)[number];

/** One changed file of a diff. */
export interface FileChange {
  path: string;
  /** The path before a rename or copy. */
  oldPath: string | null;
  status: FileChangeStatus;
  /** Lines added and removed; null for a binary file. */
  additions: number | null;
  deletions: number | null;
  binary: boolean;
}

/** A change against a task's base commit. */
export interface WorkspaceDiff {
  baseCommit: string;
  /** The commit compared; null when the workspace's files as they are now were compared. */
  headCommit: string | null;
  files: FileChange[];
  additions: number;
  deletions: number;
  /** The unified diff (what `git diff <base> <head>` prints), possibly cut. */
  patch: Buffer;
  truncated: boolean;
  /** The files whose diff the cut patch does not hold whole (none when it was not cut). */
  omittedFiles: string[];
  /** Says what was left out when the patch was cut. */
  note: string | null;
}

/** A patch cut to DIFF_MAX_BYTES in review order. */
interface CutPatch {
  kept: Buffer;
  /** Files held whole. */
  files: number;
  /** Paths of the files not held whole, in review order. */
  omitted: string[];
  /** The first file in review order (whose start is shown when no file fits whole). */
  first: string;
  /** How many files were put in review order when not all were (`printOrder`); else null. */
  ordered: number | null;
}

/** What to compare: `base` with a commit, or with a workspace's files as they are now. */
export type DiffTarget =
  | { kind: 'commit'; gitDir: string; base: string; head: string }
  | { kind: 'workspace'; gitDir: string; base: string; workspace: string };

const STATUS_LETTERS: Record<string, FileChangeStatus> = {
  A: 'added',
  M: 'modified',
  D: 'deleted',
  R: 'renamed',
  C: 'copied',
  T: 'type_changed',
  U: 'unmerged',
};

interface NamedStatus {
  status: FileChangeStatus;
  path: string;
  oldPath: string | null;
}

/** The entries of `git diff --name-status -z` (renames and copies carry the old path first). */
export function parseNameStatusZ(output: string): NamedStatus[] {
  const fields = output.split('\0');
  const entries: NamedStatus[] = [];
  let i = 0;
  while (i < fields.length && fields[i] !== '') {
    const letter = fields[i][0];
    const status = STATUS_LETTERS[letter] ?? 'unknown';
    if (letter === 'R' || letter === 'C') {
      entries.push({ status, oldPath: fields[i + 1], path: fields[i + 2] });
      i += 3;
    } else {
      entries.push({ status, oldPath: null, path: fields[i + 1] });
      i += 2;
    }
  }
  return entries;
}

interface LineCounts {
  path: string;
  additions: number | null;
  deletions: number | null;
}

/** The entries of `git diff --numstat -z` ('-' counts for a binary file; renames as two paths). */
export function parseNumstatZ(output: string): LineCounts[] {
  const fields = output.split('\0');
  const entries: LineCounts[] = [];
  let i = 0;
  while (i < fields.length && fields[i] !== '') {
    const [added, deleted] = fields[i].split('\t', 2);
    const path = fields[i].slice(added.length + deleted.length + 2);
    const count = (n: string): number | null => (n === '-' ? null : Number(n));
    if (path === '') {
      entries.push({ path: fields[i + 2], additions: count(added), deletions: count(deleted) });
      i += 3;
    } else {
      entries.push({ path, additions: count(added), deletions: count(deleted) });
      i += 1;
    }
  }
  return entries;
}

/**
 * The order a cut patch shows files in, so that it holds what a reviewer needs most: test files
 * first, then the files with the fewest changed lines (binary ones count none), so as many whole
 * files fit as can; a large generated file does not crowd out the rest. (Which fit is counted in
 * bytes, as the patch is printed: `PatchBudget`.)
 */
export function reviewOrder(files: readonly FileChange[]): FileChange[] {
  const lines = (f: FileChange) => (f.additions ?? 0) + (f.deletions ?? 0);
  const tests = (f: FileChange) => (isTestFile(f.path, 'unknown') ? 0 : 1);
  return [...files].sort((a, b) => tests(a) - tests(b) || lines(a) - lines(b));
}

/**
 * Most path-against-pattern checks a `git diff -O` may make: git tries every pattern of the order
 * file on every path (and its leading directories), about 50 ns a check on a 2-core AMD EPYC, so
 * the order of every file of a 60,000-file change took git over five minutes; this is about a
 * second.
 */
const ORDER_CHECKS_MAX = 20_000_000;

/**
 * The order git prints a cut patch in (`printed`), and the paths its order file names (`named`):
 * every file in review order (`reviewOrder`), or, in a change too large to order whole within
 * ORDER_CHECKS_MAX, the first files in review order (at least 100) and then the rest in git's
 * own order, as `files` lists them. A path with a line break cannot be named: git prints it
 * with the rest.
 */
export function printOrder(
  files: readonly FileChange[],
  checksMax = ORDER_CHECKS_MAX,
): { named: FileChange[]; printed: FileChange[]; whole: boolean } {
  const count = files.length;
  // What one pattern costs: a check of every path and each of its leading directories.
  const perPattern = files.reduce((sum, f) => sum + f.path.split('/').length, 0);
  const whole = count * perPattern <= checksMax;
  const named = reviewOrder(files)
    .slice(0, whole ? count : Math.max(100, Math.floor(checksMax / perPattern)))
    .filter((f) => !/[\r\n]/.test(f.path));
  const isNamed = new Set(named);
  return { named, printed: [...named, ...files.filter((f) => !isNamed.has(f))], whole };
}

/**
 * An order file for `git diff -O` naming each path literally (wildmatch's special characters
 * escaped, and a leading `#`, which would make a comment). A path with a line break cannot be
 * named: git puts it after the named ones.
 */
export function orderFile(paths: readonly string[]): string {
  return paths
    .filter((path) => !/[\r\n]/.test(path))
    .map((path) => `${path.replace(/[\\*?[]/g, '\\$&').replace(/^#/, '\\#')}\n`)
    .join('');
}

/**
 * Names of files that hold source or text: one git counts as binary (a NUL byte in it, which
 * Node, Python and shells still run past) shows in a patch as "Binary files differ", its content
 * hidden from the reviewer.
 */
const TEXT_NAME =
  /\.(c|cc|cjs|cpp|cs|css|cts|go|h|hpp|html?|ini|java|js|json|jsx|kt|md|mjs|mts|php|pl|py|rb|rs|scss|sh|sql|swift|toml|ts|tsx|txt|vue|xml|ya?ml)$/i;

/** What a diff's note says of files named as text that git shows as binary; null for none. */
export function binaryTextNote(files: readonly FileChange[]): string | null {
  const hidden = files.filter((f) => f.binary && TEXT_NAME.test(f.path)).map((f) => f.path);
  if (hidden.length === 0) return null;
  const shown = hidden.slice(0, 20).join(', ');
  const more = hidden.length > 20 ? ` and ${hidden.length - 20} more` : '';
  return `${hidden.length} file(s) named as source or text are binary to git (a NUL byte, say), so the patch does not show their content: ${shown}${more}. Read them in the task's branch before merging.`;
}

/** The names of a diff's scratch directories start so: a temporary index, an order file. */
const INDEX_PREFIX = 'cta-index-';
const ORDER_PREFIX = 'cta-order-';

function joinNotes(...notes: (string | null)[]): string | null {
  const said = notes.filter((note): note is string => note !== null);
  return said.length === 0 ? null : said.join(' ');
}

/** 409 `diff_too_large`: the change from `base` to `head` lists more files than a diff answers. */
function tooLarge(base: string, head: string): DomainError {
  return new DomainError(
    ErrorCode.DiffTooLarge,
    `The change lists more files than a diff answers (over ${MAX_FILE_LIST_BYTES} bytes of paths: installed dependencies or build output committed, say); read it with git: git diff --stat ${base} ${head}`,
    { base_commit: base, head },
  );
}

/** `git diff` options for output that matches a plain `git diff <base> <head>`. */
const DIFF_OPTIONS = ['-M', '--no-color', '--no-ext-diff', '--no-textconv'];

/**
 * Longest list of the changed files (`--name-status`, `--numstat`) a diff reads, bytes: some
 * 100,000 files. The answer lists every file, so a longer list is refused (`diff_too_large`), not
 * cut, and not answered as a repository that cannot be read.
 */
export const MAX_FILE_LIST_BYTES = 16 * 1024 * 1024;

/**
 * REVIEWING A TASK'S CHANGE: its diff against the base commit, per file (status, lines added and
 * removed) and as a unified diff bounded by DIFF_MAX_BYTES. While a task runs its workspace's
 * files are compared as they are (tracked and untracked files alike, ignored ones left out),
 * through a temporary index: the workspace's own index, which the agent may be using, is never
 * written. Read-only for the repository apart from new objects (as `git add` writes them).
 */
@Injectable()
export class WorkspaceDiffService {
  constructor(
    private readonly git: Git,
    private readonly config: AppConfig,
    @Inject(CHILD_ISOLATION) private readonly isolation: ChildIsolation,
  ) {}

  async diff(target: DiffTarget): Promise<WorkspaceDiff> {
    const head =
      target.kind === 'commit' ? target.head : await this.liveTree(target.workspace, target.gitDir);
    const options = { cwd: target.gitDir, gitDir: target.gitDir };
    const range = [target.base, head];
    const listing = { ...options, maxOutputBytes: MAX_FILE_LIST_BYTES };
    const [names, counts, patch] = await Promise.all([
      this.git.run(['diff', '--name-status', '-z', ...DIFF_OPTIONS, ...range], listing),
      this.git.run(['diff', '--numstat', '-z', ...DIFF_OPTIONS, ...range], listing),
      this.git.run(['diff', ...DIFF_OPTIONS, '--src-prefix=a/', '--dst-prefix=b/', ...range], {
        ...options,
        maxOutputBytes: this.config.DIFF_MAX_BYTES,
      }),
    ]);
    if (names.truncated || counts.truncated) throw tooLarge(target.base, head);
    for (const [args, result] of [
      [['diff', '--name-status'], names],
      [['diff', '--numstat'], counts],
    ] as const) {
      if (result.exitCode !== 0) throw failure(args, result);
    }
    if (!patch.truncated && patch.exitCode !== 0) throw failure(['diff'], patch);
    const lines = new Map(
      parseNumstatZ(counts.stdout.toString('utf8')).map((c) => [c.path, c] as const),
    );
    const files = parseNameStatusZ(names.stdout.toString('utf8')).map((entry): FileChange => {
      const count = lines.get(entry.path);
      const additions = count?.additions ?? null;
      const deletions = count?.deletions ?? null;
      return { ...entry, additions, deletions, binary: count !== undefined && additions === null };
    });
    const cut = patch.truncated ? await this.cutInReviewOrder(range, options, files) : null;
    return {
      baseCommit: target.base,
      headCommit: target.kind === 'commit' ? target.head : null,
      files,
      additions: files.reduce((sum, f) => sum + (f.additions ?? 0), 0),
      deletions: files.reduce((sum, f) => sum + (f.deletions ?? 0), 0),
      patch: cut?.kept ?? patch.stdout,
      truncated: cut !== null,
      omittedFiles: cut?.omitted ?? [],
      note: joinNotes(cut === null ? null : this.cutNote(cut, files.length), binaryTextNote(files)),
    };
  }

  /** What a cut patch holds and leaves out, in words. */
  private cutNote(cut: CutPatch, fileCount: number): string {
    const order =
      cut.ordered === null
        ? `test files first, then the smallest changes (not in git's order)`
        : `the first ${cut.ordered} in review order (test files first, then the smallest changes), the rest in git's order`;
    const held =
      cut.files > 0
        ? `holds ${cut.files} of ${fileCount} files whole, ${order}, and leaves out ${cut.omitted.length} that did not fit (omitted_files)`
        : `shows only the start of ${cut.first}, the first file in review order: no file's diff fits whole`;
    return `The diff is longer than DIFF_MAX_BYTES (${this.config.DIFF_MAX_BYTES} bytes): the patch ${held}; the file list and line counts are complete.`;
  }

  /**
   * A patch too long to show whole, printed again in review order (`printOrder`, through an
   * order file for `git diff -O`) and read as it is printed: each file's diff kept whole while it
   * fits in what is left of DIFF_MAX_BYTES, else left out, and the files after it still tried.
   */
  private async cutInReviewOrder(
    range: string[],
    options: GitOptions,
    files: readonly FileChange[],
  ): Promise<CutPatch> {
    const { named, printed, whole } = printOrder(files);
    const budget = new PatchBudget(this.config.DIFF_MAX_BYTES);
    const patch = await this.inScratchDir(
      ORDER_PREFIX,
      async (scratch) => {
        const order = join(scratch, 'order');
        await writeFile(order, orderFile(named.map((f) => f.path)), { flag: 'wx' });
        return [order];
      },
      (scratch) =>
        this.git.run(
          [
            'diff',
            ...DIFF_OPTIONS,
            `-O${join(scratch, 'order')}`,
            '--src-prefix=a/',
            '--dst-prefix=b/',
            ...range,
          ],
          { ...options, onStdout: (chunk) => budget.write(chunk) },
        ),
    );
    if (patch.exitCode !== 0) throw failure(['diff'], patch);
    const cut = budget.end();
    return {
      kept: cut.kept,
      files: cut.files,
      omitted: cut.left.map((index) => printed[index]?.path ?? '').filter((path) => path !== ''),
      first: printed[0]?.path ?? '',
      ordered: whole ? null : named.length,
    };
  }

  /**
   * The tree of a running task's workspace as it is now (`snapshotTree`), read through the
   * workspace's own entry in the repository at `commonDir`, never through its `.git` file: the
   * agent may be running and writing it, pointed at a git directory of its own whose
   * configuration (a clean filter, say) this git, outside any sandbox, would run. Refused
   * (`WorkspaceError`) when the repository lists no such worktree.
   */
  private liveTree(workspace: string, commonDir: string): Promise<string> {
    const entry = registeredEntry(workspace, commonDir);
    if (entry === null) {
      throw new WorkspaceError(`${workspace} is not a worktree of ${commonDir}`);
    }
    return this.snapshotTree(workspace, { gitDir: entry, workTree: workspace });
  }

  /**
   * The tree of the workspace's files as they are now: the workspace's index copied to a
   * temporary file (its stat cache keeps this fast), the copy's skip-worktree and
   * assume-unchanged marks cleared (`revealHiddenEntries`: files so marked are taken as the work
   * tree holds them), every change added to the copy, written as a tree. Started from HEAD when
   * the index cannot be copied: a split index, say, or a file that is no regular file of the user
   * git runs as (the path is the agent's to choose: `copyChildFile` with its owner). `pinned`:
   * the git directory and work tree to use instead of those git finds from `workspace`.
   */
  async snapshotTree(
    workspace: string,
    pinned: { gitDir: string; workTree: string } | null = null,
  ): Promise<string> {
    const at = { cwd: workspace, ...pinned };
    const [own, top] = (
      await this.git.text(['rev-parse', '--git-path', 'index', '--show-toplevel'], at)
    ).split('\n');
    const source = isAbsolute(own) ? own : join(workspace, own);
    let copied = false;
    return this.inScratchDir(
      INDEX_PREFIX,
      async (scratch) => {
        const index = join(scratch, 'index');
        copied = await copyChildFile(source, index, MAX_INDEX_BYTES, this.git.uid).catch(
          () => false,
        );
        return copied ? [index] : [];
      },
      async (scratch) => {
        const env = { GIT_INDEX_FILE: join(scratch, 'index') };
        if (copied) {
          await revealHiddenEntries(this.git, env.GIT_INDEX_FILE, { ...at, cwd: top, env });
        } else {
          await this.git.text(['read-tree', 'HEAD'], { ...at, env });
        }
        await addAll(this.git, { ...at, env }, top, env.GIT_INDEX_FILE);
        return this.git.text(['write-tree'], { ...at, env });
      },
    );
  }

  /**
   * Removes the scratch directories of diffs a server that is gone left behind (killed during a
   * diff: a copy of a workspace's index can be large).
   */
  async removeOrphans(): Promise<number> {
    return removeOrphanedChildTempDirs(INDEX_PREFIX, ORDER_PREFIX);
  }

  /**
   * Runs `use` with a temporary directory of its own, removed after: the children's user's, as
   * git runs as that user and writes there (an index's lock), once the server wrote there what
   * `fill` writes (`filledChildTempDir`).
   */
  private async inScratchDir<T>(
    prefix: string,
    fill: (dir: string) => Promise<readonly string[]>,
    use: (dir: string) => Promise<T>,
  ): Promise<T> {
    const dir = await filledChildTempDir(this.isolation, prefix, fill);
    try {
      return await use(dir);
    } finally {
      await removeChildTempDir(dir);
    }
  }
}
