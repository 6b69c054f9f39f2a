import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  symlinkSync,
} from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, relative, resolve } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { gitdirPointer, isPythonBytecode } from 'src/common';
import {
  CHILD_ISOLATION,
  ChildIsolation,
  childTempDir,
  copyChildFile,
  isAtOrUnder,
  orphanedChildTempDirs,
  readChildFile,
  readChildFileAsync,
} from 'src/process';
import {
  DEPENDENCY_DIRS,
  holdsRustTests,
  isRustSource,
  isTestConfigFile,
  isTestFile,
  testSupportRoot,
} from 'src/test-runner';
import { Git } from 'src/workspaces/git';
import { GitPlace, pinOf } from 'src/workspaces/pinned-work-tree';
import { RepositoryLocks } from 'src/workspaces/repository-locks';
import { WorkspaceDiffService } from 'src/workspaces/workspace-diff';

/** The name of a scratch checkout's temporary directory starts so (`childTempDir`). */
const SCRATCH_PREFIX = 'cta-base-';

/** Largest test file read from a workspace or from the base commit. */
const MAX_TEST_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Largest file copied into a scratch checkout whole (a larger one fails the verification: a
 * prefix of a test file could fail there for being cut, which is no proof).
 */
const MAX_COPIED_FILE_BYTES = 64 * 1024 * 1024;

/** Files that mark a package's directory, where its dependency directories are kept. */
const PACKAGE_MANIFESTS = ['package.json', 'pyproject.toml', 'setup.py', 'setup.cfg'];
/** Most package manifests whose directories a checkout links dependencies into. */
const MAX_PACKAGE_MANIFESTS = 500;

/** An existing test file a change deleted, renamed or modified, relative to the project. */
export type BaseTestChange =
  | { status: 'deleted'; path: string }
  | { status: 'renamed'; path: string; newPath: string }
  | { status: 'modified'; path: string; before: string; after: string };

/** What a change did to the tests of its base commit. */
export interface BaseTestChanges {
  /** Test files deleted, renamed or modified, and the test configuration files given. */
  files: BaseTestChange[];
  /**
   * Files of test directories that are no test files (helpers, fixtures, expected output,
   * snapshots) the change modified, and the base commit's test files they may serve (those under
   * the same test directory: `testSupportRoot`).
   */
  support: { files: string[]; tests: string[] };
}

/** A clean checkout of a base commit for a while: where the project is in it. */
export interface ScratchCheckout {
  /** The project's place in the checkout (where the tests run). */
  directory: string;
  /**
   * Links the workspace's dependency directories into the checkout where it has none of its own
   * (once, before its tests run: after a setup command run there, where that made none); returns
   * the workspace's directories linked (for a sandbox to show).
   */
  linkDependencies(): readonly string[];
  /** Removes the checkout (git's worktree entry and its files). */
  remove(): Promise<void>;
}

/** A Python package's `__init__.py` in a test directory (`tests/__init__.py`). */
function isTestPackageMarker(path: string): boolean {
  return path.split('/').at(-1) === '__init__.py' && testSupportRoot(path) !== null;
}

/**
 * THE BASE COMMIT NEXT TO A CHANGE, for its verification: what the change did to the test files
 * that existed at the base commit (`testChanges`, from `git diff` of the workspace against it),
 * and scratch checkouts (detached, in a temporary directory, removed after use) that link the
 * workspace's dependency directories when asked: of the base commit with some of the workspace's
 * files copied in (`checkout`), and of the change with some files as they were at the base
 * commit (`changeWithBaseFiles`).
 */
@Injectable()
export class BaseCheckout {
  private readonly logger = new Logger('BaseCheckout');

  constructor(
    private readonly git: Git,
    private readonly locks: RepositoryLocks,
    private readonly diffs: WorkspaceDiffService,
    @Inject(CHILD_ISOLATION) private readonly isolation: ChildIsolation,
  ) {}

  /**
   * The package manifests git tracks in the project at `directory` (`package.json`,
   * `pyproject.toml`, `setup.py`, `setup.cfg`; project-relative, at most MAX_PACKAGE_MANIFESTS):
   * where a monorepo's packages keep their own dependency directories. Given to a checkout with
   * the test files, they have those linked too, for a command that runs every package's tests
   * (the regression suite).
   */
  async packageManifests(at: GitPlace): Promise<string[]> {
    const out = await this.git.text(
      ['ls-files', '-z', '--', ...PACKAGE_MANIFESTS.map((name) => `:(glob)**/${name}`)],
      { ...at, maxOutputBytes: 1024 * 1024 },
    );
    return out
      .split('\0')
      .filter((path) => path !== '')
      .slice(0, MAX_PACKAGE_MANIFESTS);
  }

  /**
   * Test files of the base commit that the work tree at `directory` deleted, renamed or modified,
   * and `configFiles` (relative to `directory`) as modified: as they were at the base commit
   * (empty where they did not exist) and are now; and the test support files it modified,
   * deleted or renamed away. A test configuration file of the base commit deleted or renamed away
   * (`isTestConfigFile`) is modified, empty now; a file listed both ways is listed once. A test
   * directory's `__init__.py` deleted or renamed away is as a test file deleted or renamed: without
   * it unittest's discovery leaves the directory out, and its tests with it.
   */
  async testChanges(
    at: GitPlace,
    baseCommit: string,
    configFiles: readonly string[] = [],
  ): Promise<BaseTestChanges> {
    const out = await this.git.text(
      ['diff', '--relative', '--name-status', '-z', '-M', baseCommit, '--'],
      at,
    );
    const fields = out.split('\0').filter((f) => f !== '');
    const changes: BaseTestChange[] = [];
    const support: string[] = [];
    const roots = new Set<string>();
    // A support file modified, deleted or renamed away: the base commit's tests beside it run
    // against the change with it as it was.
    const awaySupport = (path: string): void => {
      const root = testSupportRoot(path);
      if (root === null) return;
      support.push(path);
      roots.add(root);
    };
    for (let i = 0; i < fields.length; ) {
      const status = fields[i];
      if (status.startsWith('R') || status.startsWith('C')) {
        const [from, to] = [fields[i + 1], fields[i + 2]];
        i += 3;
        if (status.startsWith('R')) awaySupport(from);
        if (status.startsWith('R') && (isTestFile(from, 'unknown') || isTestPackageMarker(from))) {
          changes.push({ status: 'renamed', path: from, newPath: to });
        } else if (status.startsWith('R') && isTestConfigFile(from)) {
          changes.push(await this.modified(at, baseCommit, from));
        }
        continue;
      }
      const path = fields[i + 1];
      i += 2;
      if (status !== 'D' && isPythonBytecode(path)) {
        // Bytecode the change holds (`git add -f`): Python runs it instead of its source.
        changes.push(await this.modified(at, baseCommit, path));
        continue;
      }
      if (/^[MTD]$/.test(status)) awaySupport(path);
      if (status === 'D' && isTestPackageMarker(path)) {
        changes.push({ status: 'deleted', path });
        continue;
      }
      if (!isTestFile(path, 'unknown')) {
        if (status === 'D' && isTestConfigFile(path)) {
          changes.push(await this.modified(at, baseCommit, path));
        } else if (/^[MTD]$/.test(status) && isRustSource(path)) {
          // A Rust source file holding unit tests: what the change did to them.
          const change = await this.modified(at, baseCommit, path);
          if (change.status === 'modified' && holdsRustTests(change.before)) changes.push(change);
        }
        continue;
      }
      if (status === 'D') changes.push({ status: 'deleted', path });
      else if (status === 'M' || status === 'T') {
        changes.push(await this.modified(at, baseCommit, path));
      }
    }
    const listed = new Set(changes.map((change) => change.path));
    for (const path of configFiles) {
      if (!listed.has(path)) changes.push(await this.modified(at, baseCommit, path));
    }
    return {
      files: changes,
      support: {
        files: support,
        tests: roots.size === 0 ? [] : await this.testFilesAt(at, baseCommit, [...roots]),
      },
    };
  }

  /** The test files `commit` has under `dirs` (relative to `directory`, as the result is). */
  private async testFilesAt(
    at: GitPlace,
    commit: string,
    dirs: readonly string[],
  ): Promise<string[]> {
    const out = await this.git.text(
      ['ls-tree', '-r', '-z', '--name-only', commit, '--', ...dirs],
      at,
    );
    return out.split('\0').filter((path) => path !== '' && isTestFile(path, 'unknown'));
  }

  /**
   * Of `files` (relative to `directory`), those that exist, untracked, and git ignores: `git
   * ls-files --others --ignored`, each file a literal pathspec (stdin is closed, so not
   * `check-ignore`). Null when git cannot say.
   */
  async ignoredFiles(at: GitPlace, files: readonly string[]): Promise<string[] | null> {
    if (files.length === 0) return [];
    const result = await this.git.run(
      [
        'ls-files',
        '-z',
        '--others',
        '--ignored',
        '--exclude-standard',
        '--',
        ...files.map((file) => `:(literal)${file}`),
      ],
      at,
    );
    if (result.exitCode !== 0) return null;
    return result.stdout
      .toString('utf8')
      .split('\0')
      .filter((file) => file !== '');
  }

  /**
   * `path` as it was at `baseCommit` (empty where it did not exist) and is now in `directory`
   * (empty where it is gone).
   */
  private async modified(at: GitPlace, baseCommit: string, path: string): Promise<BaseTestChange> {
    const before = await this.fileAt(at, baseCommit, path);
    const after = (await readChildFileAsync(join(at.cwd, path), MAX_TEST_FILE_BYTES)) ?? '';
    return { status: 'modified', path, before, after };
  }

  private async fileAt(at: GitPlace, commit: string, path: string): Promise<string> {
    const result = await this.git.run(['show', `${commit}:./${path}`], {
      ...at,
      maxOutputBytes: MAX_TEST_FILE_BYTES,
    });
    return result.exitCode === 0 ? result.stdout.toString('utf8') : '';
  }

  /**
   * A detached checkout of `baseCommit` of the repository the work tree at `directory` belongs
   * to, with `files` (relative to `directory`, regular files only) copied from there into the
   * same place in it; its `linkDependencies` links the dependency directories (DEPENDENCY_DIRS)
   * the work tree has where `testFiles` would look for them (their directory and each above it)
   * in where the checkout has none.
   */
  async checkout(
    at: GitPlace,
    baseCommit: string,
    files: readonly string[],
    testFiles: readonly string[] = files,
  ): Promise<ScratchCheckout> {
    return this.scratch(at, baseCommit, testFiles, async (projectDir) => {
      for (const file of files) {
        await mkdir(dirname(join(projectDir, file)), { recursive: true });
        await copyChildFile(join(at.cwd, file), join(projectDir, file), MAX_COPIED_FILE_BYTES);
      }
    });
  }

  /**
   * A detached checkout of the work tree at `directory` as it is now (its tracked and untracked
   * files, ignored ones left out: a commit of them on top of `baseCommit` that no branch holds),
   * with `restore` (relative to `directory`, files the base commit has) as they were at
   * `baseCommit`, and the dependency directories for `testFiles` linked when asked, as
   * `checkout` does: the change, with the base commit's versions of the tests it changed.
   */
  async changeWithBaseFiles(
    at: GitPlace,
    baseCommit: string,
    restore: readonly string[],
    testFiles: readonly string[],
  ): Promise<ScratchCheckout> {
    const tree = await this.diffs.snapshotTree(at.cwd, pinOf(at));
    const commit = await this.git.text(
      ['commit-tree', tree, '-p', baseCommit, '-m', 'The change, for its verification'],
      at,
    );
    return this.scratch(at, commit, testFiles, async (projectDir) => {
      if (restore.length === 0) return;
      await this.git.text(
        ['checkout', baseCommit, '--', ...restore.map((file) => `:(literal)${file}`)],
        { cwd: projectDir },
      );
    });
  }

  /**
   * `git worktree add --detach` of `commit` in a temporary directory, for the repository of the
   * work tree at `directory`; `prepare` is given the project's place in it, and the dependency
   * directories are linked for `testFiles` when the caller asks (`linkDependencies`). Anything
   * that fails here removes the checkout; after, removing it is the caller's.
   */
  private async scratch(
    at: GitPlace,
    commit: string,
    testFiles: readonly string[],
    prepare: (projectDir: string) => Promise<void>,
  ): Promise<ScratchCheckout> {
    const [gitDir, prefix] = (
      await this.git.text(
        ['rev-parse', '--path-format=absolute', '--git-common-dir', '--show-prefix'],
        at,
      )
    ).split('\n');
    const temp = childTempDir(this.isolation, SCRATCH_PREFIX);
    const path = join(temp, 'checkout');
    const repo = { cwd: gitDir, gitDir };
    try {
      await this.locks.withLock(gitDir, () =>
        this.git.text(['worktree', 'add', '--quiet', '--detach', path, commit], repo),
      );
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
    const remove = (): Promise<void> => this.remove(gitDir, path, temp);
    const projectDir = join(path, prefix);
    try {
      await prepare(projectDir);
      return {
        directory: projectDir,
        linkDependencies: () => linkDependencies(at.cwd, prefix, path, testFiles),
        remove,
      };
    } catch (error) {
      await remove();
      throw error;
    }
  }

  /**
   * Removes the scratch checkouts a server that is gone left behind (killed while it verified a
   * task), and their entries in their repository's worktree list (`git worktree prune`, once the
   * directory is gone). Returns how many.
   */
  async removeOrphans(): Promise<number> {
    const orphans = orphanedChildTempDirs(SCRATCH_PREFIX);
    for (const temp of orphans) {
      const pointer = gitdirPointer(readChildFile(join(temp, 'checkout', '.git'), 4096) ?? '');
      await rm(temp, { recursive: true, force: true });
      if (pointer === null) continue;
      // `<common git dir>/worktrees/<name>`: prune there.
      const gitDir = resolve(pointer, '..', '..');
      await this.locks
        .withLock(gitDir, () => this.git.run(['worktree', 'prune'], { cwd: gitDir, gitDir }))
        .catch((error: unknown) =>
          this.logger.warn(`git worktree prune in ${gitDir}: ${String(error)}`),
        );
    }
    if (orphans.length > 0) {
      this.logger.warn(
        `Removed ${orphans.length} scratch checkout(s) left by a server that was killed`,
      );
    }
    return orphans.length;
  }

  private async remove(gitDir: string, path: string, temp: string): Promise<void> {
    const repo = { cwd: gitDir, gitDir };
    await this.locks.withLock(gitDir, async () => {
      const removed = await this.git.run(['worktree', 'remove', '--force', '--force', path], repo);
      if (removed.exitCode !== 0) {
        this.logger.warn(`git worktree remove ${path} failed (${removed.stderr.trim()}); pruning`);
        await rm(temp, { recursive: true, force: true });
        await this.git.run(['worktree', 'prune'], repo);
      }
    });
    await rm(temp, { recursive: true, force: true });
  }
}

/**
 * `path`, when it is a directory reached through no symbolic link below `top` (whose real path is
 * `realTop`): the agent writes the workspace, and a link of its making must not lead the server
 * (or the sandbox, which shows what is linked) anywhere else.
 */
function realDirectory(path: string, top: string, realTop: string): boolean {
  if (!lstatSync(path, { throwIfNoEntry: false })?.isDirectory()) return false;
  return realpathSync(path) === join(realTop, relative(top, path));
}

/**
 * Links into `checkout` (a checkout's top) the DEPENDENCY_DIRS of the work tree whose project
 * is at `directory` (`prefix` below its top) in every directory from each of `files` up to the
 * top, where the checkout has no such entry of its own; returns the work tree's directories
 * linked. Only real directories are linked, reached through no link. Git removes a link with the
 * checkout, not what it points to. Without them a generated test fails at the base commit for
 * want of its test tool or a library, which is no proof that it tests the change; with them, the
 * checkout runs whatever the agent did to them (the verification names what it changed:
 * `changed_dependencies`).
 */
function linkDependencies(
  directory: string,
  prefix: string,
  checkout: string,
  files: readonly string[],
): string[] {
  const top = join(
    directory,
    ...prefix
      .split('/')
      .filter((part) => part !== '')
      .map(() => '..'),
  );
  const realTop = realpathSync(top);
  const realCheckout = realpathSync(checkout);
  const places = new Set<string>();
  for (const file of files) {
    let place = posix.dirname(posix.join(prefix, file));
    while (!places.has(place)) {
      places.add(place);
      if (place === '.') break;
      place = posix.dirname(place);
    }
  }
  const linked: string[] = [];
  for (const place of places) {
    if (!realDirectory(join(checkout, place), checkout, realCheckout)) continue;
    for (const name of DEPENDENCY_DIRS) {
      const source = join(top, place, name);
      const target = join(checkout, place, name);
      if (!realDirectory(source, top, realTop)) continue;
      if (lstatSync(target, { throwIfNoEntry: false }) !== undefined) continue;
      if (name === 'node_modules') linkPackages(source, target, top);
      else symlinkSync(source, target, 'dir');
      linked.push(source);
    }
  }
  return linked;
}

/**
 * A `node_modules` for the checkout at `target`: each package of the work tree's (`source`)
 * linked, a scope's (`@scope/`) one by one. A package that is a relative link into the
 * repository (a workspace package of a monorepo: `pkg -> ../packages/pkg`) gets the same link,
 * which leads to the checkout's own copy, as it was at the base commit; other links are left out.
 */
function linkPackages(source: string, target: string, top: string, scoped = false): void {
  mkdirSync(target);
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isSymbolicLink()) {
      const link = readlinkSync(from);
      if (!isAbsolute(link) && isAtOrUnder(resolve(source, link), top)) symlinkSync(link, to);
    } else if (entry.isDirectory() && entry.name.startsWith('@') && !scoped) {
      linkPackages(from, to, top, true);
    } else {
      symlinkSync(from, to);
    }
  }
}
