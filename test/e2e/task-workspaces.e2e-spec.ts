import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DataSource, In } from 'typeorm';
import { SWEEP_BATCH } from 'src/orchestrator/workspace-sweeper.service';
import { Task, TaskStatus } from 'src/tasks';
import { WorkspacesService } from 'src/workspaces';
import { Git, GitOptions, GitResult } from 'src/workspaces/git';
import request from 'supertest';
import type { App } from 'supertest/types';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import { createTestDatabase, TestDatabase } from 'test/e2e/support/test-database';
import {
  copyFixtureProject,
  FAKE_CLAUDE,
  fakeInvocations,
  fakeScript,
  FIXTURE_PROJECTS,
  getDetails,
  quoted,
  statusChanges,
  TaskDetails,
  waitForTerminal,
  fakeClaudeWorkdir,
} from 'test/e2e/support/task-polling';
import { eventually } from 'test/e2e/support/eventually';
import { checkoutFingerprint, git, linkedWorktrees } from 'test/e2e/support/git-repos';
import type { TaskDiffResponseDto, TaskMergeResponseDto } from 'sdk/client';

/**
 * TASK WORKSPACES end to end: the real AppModule with the orchestrator on, the fake CLI as the
 * agent, in git-initialised copies of the fixture projects. Each task works in its own git
 * worktree and branch; the user's checkout is fingerprinted (every file, `.git/HEAD`,
 * `.git/index`, the checked-out branch) before and after; branches, commits and diffs are read
 * back with git itself.
 */

const workdir = fakeClaudeWorkdir('cta-ws-e2e-');
let root: string;
let logFile: string;
beforeAll(() => {
  root = workdir.root();
  logFile = workdir.logFile();
});

function orchestratorEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ORCHESTRATOR_ENABLED: 'true',
    QUEUE_POLL_MS: '100',
    MAX_CONCURRENT_TASKS: '8',
    CLAUDE_CLI_COMMAND: FAKE_CLAUDE,
    CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
    CLI_INIT_TIMEOUT_SECONDS: '120',
    KILL_GRACE_SECONDS: '1',
    TEST_TIMEOUT_SECONDS: '120',
    ...extra,
  };
}

/** The server's git, whose next call of a subcommand can be held (`holdNext`) until released. */
class HeldGit extends Git {
  private held: { subcommand: string; reached: () => void; released: Promise<void> } | null = null;

  /** Holds the next `git <subcommand>` before it runs; `reached` once it is held. */
  holdNext(subcommand: string): { reached: Promise<void>; release: () => void } {
    let release = (): void => undefined;
    let reached = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const isReached = new Promise<void>((resolve) => (reached = resolve));
    this.held = { subcommand, reached, released };
    return { reached: isReached, release };
  }

  override async run(args: readonly string[], options: GitOptions): Promise<GitResult> {
    const held = this.held;
    if (held !== null && args[0] === held.subcommand) {
      this.held = null;
      held.reached();
      await held.released;
    }
    return super.run(args, options);
  }
}

/** Starts an app with the orchestrator on, listening (concurrent polls need a real server). */
async function startApp(extra: Record<string, string> = {}): Promise<{ t: TestApp; server: App }> {
  const t = await createTestApp({
    env: orchestratorEnv(extra),
    override: (builder) => builder.overrideProvider(Git).useClass(HeldGit),
  });
  await t.app.listen(0, '127.0.0.1');
  const server = (await t.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
  return { t, server };
}

/** An app (see `startApp`) for the enclosing describe block: started before it, closed after. */
function appForBlock(extra: Record<string, string> = {}): { t(): TestApp; server(): App } {
  let started: { t: TestApp; server: App } | null = null;
  beforeAll(async () => {
    started = await startApp(extra);
  });
  afterAll(async () => {
    await started?.t.close();
  });
  return { t: () => started!.t, server: () => started!.server };
}

async function createSession(
  server: App,
  project: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await request(server)
    .post('/api/v1/sessions')
    .send({ project_path: project, ...extra })
    .expect(201);
  return res.body.id as string;
}

async function createTask(
  server: App,
  sessionId: string,
  description: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await request(server)
    .post('/api/v1/tasks')
    .send({ session_id: sessionId, description, ...extra })
    .expect(201);
  return res.body.id as string;
}

const featureJs = (k: number): string =>
  `'use strict';\n\nmodule.exports = { feature${k}: () => ${k} };\n`;

describe('Tasks of one repository in parallel, each on its own branch', () => {
  const app = appForBlock();
  let t: TestApp;
  let server: App;
  beforeAll(() => {
    t = app.t();
    server = app.server();
  });

  async function runParallel(name: string, count: number): Promise<void> {
    const repo = copyFixtureProject('node-basic', root, name);
    const before = checkoutFingerprint(repo);
    const master = git(repo, 'rev-parse', 'HEAD').trim();
    const barrier = join(root, `${name}-barrier`);
    const session = await createSession(server, repo);
    const ids: string[] = [];
    for (let k = 1; k <= count; k += 1) {
      ids.push(
        await createTask(
          server,
          session,
          `Add feature ${k}. ${fakeScript(
            `barrier dir=${barrier} count=${count} path=src/feature${k}.js content=${quoted(featureJs(k))}`,
            `write-tests lang=node result=pass path=test/feature${k}.test.js name=feature${k}`,
          )}`,
        ),
      );
    }
    const finals = await Promise.all(ids.map((id) => waitForTerminal(server, id)));
    expect(finals.map((f) => f.final.status)).toEqual(ids.map(() => 'COMPLETED'));
    // Every agent left its marker before any of them went on: they ran at the same time.
    expect(readdirSync(barrier).filter((n) => n.startsWith('agent-'))).toHaveLength(count);

    const details: TaskDetails[] = await Promise.all(ids.map((id) => getDetails(server, id)));
    const workspaces = new Set(details.map((d) => d.workspace_path));
    const branches = new Set(details.map((d) => d.branch));
    expect(workspaces.size).toBe(count);
    expect(branches.size).toBe(count);
    for (const [index, d] of details.entries()) {
      const k = index + 1;
      expect(d).toMatchObject({
        isolation: 'worktree',
        base_commit: master,
        target_branch: 'master',
      });
      expect(d.branch).toMatch(new RegExp(`^cta/${d.id.slice(0, 8)}-add-feature-${k}`));
      expect(d.workspace_path).toBe(join(t.config.WORKSPACES_DIR, d.id));
      // Every turn ran in the task's own workspace.
      const turns = fakeInvocations(logFile, d.workspace_path!);
      expect(turns).toHaveLength(2);
      expect(turns[0].prompt).toContain(`Add feature ${k}.`);
      // Its change is its branch's head commit, on top of the base, and nothing else.
      expect(git(repo, 'rev-parse', d.branch!).trim()).toBe(d.head_commit);
      expect(git(repo, 'rev-parse', `${d.head_commit}^`).trim()).toBe(master);
      expect(git(repo, 'diff', '--name-only', master, d.head_commit!).trim().split('\n')).toEqual([
        `src/feature${k}.js`,
        `test/feature${k}.test.js`,
      ]);
      expect(git(repo, 'show', `${d.head_commit}:src/feature${k}.js`)).toBe(featureJs(k));
    }
    // The user's checkout and its branch did not change at all.
    expect(checkoutFingerprint(repo)).toEqual(before);
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(linkedWorktrees(repo).sort()).toEqual([...workspaces].sort());
    expect(git(repo, 'fsck', '--no-progress').trim()).toBe('');
  }

  it('two tasks on one repository run at the same time, each change only on its own branch', async () => {
    await runParallel('two', 2);
  });

  it('eight tasks on one repository run at the same time, each change only on its own branch', async () => {
    await runParallel('eight', 8);
  });

  it('a project in a subdirectory of a repository works in that subdirectory of its workspace', async () => {
    const repo = join(root, 'mono');
    cpSync(join(FIXTURE_PROJECTS, 'node-basic'), join(repo, 'app'), { recursive: true });
    writeFileSync(join(repo, 'README.md'), 'monorepo\n');
    git(repo, 'init', '-q');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'monorepo');
    const before = checkoutFingerprint(repo);
    const session = await createSession(server, join(repo, 'app'));
    const id = await createTask(
      server,
      session,
      `Add x. ${fakeScript(`edit-files path=src/x.js content=${quoted(featureJs(9))}`, 'write-tests lang=node result=pass path=test/x.test.js')}`,
    );
    const { final } = await waitForTerminal(server, id);
    expect(final.status).toBe('COMPLETED');
    const d = await getDetails(server, id);
    const turns = fakeInvocations(logFile, join(d.workspace_path!, 'app'));
    expect(turns).toHaveLength(2);
    expect(
      git(repo, 'diff', '--name-only', d.base_commit!, d.head_commit!).trim().split('\n'),
    ).toEqual(['app/src/x.js', 'app/test/x.test.js']);
    expect(checkoutFingerprint(repo)).toEqual(before);
  });
});

const MATH_JS = readFileSync(join(FIXTURE_PROJECTS, 'node-basic', 'src', 'math.js'), 'utf8');
const withAdd = (body: string): string => MATH_JS.replace('return a + b;', body);
/** A passing write-tests turn (the test runs in the workspace with node --test). */
const TESTS = (name: string): string =>
  `write-tests lang=node result=pass path=test/${name}.test.js name=${name}`;

async function diffOf(server: App, id: string): Promise<TaskDiffResponseDto> {
  const res = await request(server).get(`/api/v1/tasks/${id}/diff`).expect(200);
  return res.body as TaskDiffResponseDto;
}

async function completed(server: App, id: string): Promise<TaskDetails> {
  const { final } = await waitForTerminal(server, id);
  expect(final.status).toBe('COMPLETED');
  return getDetails(server, id);
}

describe('Review and merge', () => {
  let t: TestApp;
  let server: App;
  let repo: string;
  let master: string;
  const ids: Record<string, string> = {};
  const A_JS = "'use strict';\n\nmodule.exports = { a: () => 'a' };\n";
  const BIG = `${'// filler line to make the diff long\n'.repeat(200)}`;
  /** Two lines, more bytes than DIFF_MAX_BYTES: fewer lines than A_JS, so before it in review order. */
  const WIDE = `${'/* a long line */ '.repeat(200)}\n`.repeat(2);

  beforeAll(async () => {
    ({ t, server } = await startApp({ DIFF_MAX_BYTES: '4096' }));
    repo = copyFixtureProject('node-basic', root, 'review');
    git(repo, 'branch', 'release');
    master = git(repo, 'rev-parse', 'HEAD').trim();
    const session = await createSession(server, repo);
    const task = (name: string, script: string[], extra: Record<string, unknown> = {}) =>
      createTask(server, session, `Task ${name}. ${fakeScript(...script)}`, extra).then(
        (id) => (ids[name] = id),
      );
    await task('a', [`edit-files path=src/a.js content=${quoted(A_JS)}`, TESTS('a')]);
    await task('b', [
      `edit-files path=src/math.js content=${quoted(withAdd('return b + a;'))}`,
      TESTS('b'),
    ]);
    await task('c', [
      `edit-files path=src/math.js content=${quoted(withAdd('return a + b + 0;'))}`,
      TESTS('c'),
    ]);
    await task('d', [`edit-files path=src/d.js content=${quoted(A_JS)}`, TESTS('d')]);
    await task('big', [
      `edit-files path=src/big.js content=${quoted(BIG)} path=src/small.js content=${quoted(A_JS)}`,
      TESTS('big'),
    ]);
    await task('wide', [
      `edit-files path=src/wide.js content=${quoted(WIDE)} path=src/small.js content=${quoted(A_JS)}`,
      TESTS('wide'),
    ]);
    await task('huge', [
      `edit-files path=src/huge.js content=${quoted(BIG)}`,
      `success text=${quoted('No tests.\nDONE')}`,
      `success text=${quoted('Still no tests.\nDONE')}`,
    ]);
    await task('live', [
      `edit-files path=src/math.js content=${quoted(withAdd('return a + b; // live'))} path=src/live.js content=${quoted(A_JS)}`,
      'hang signals=honor',
    ]);
    await task('failed', [
      `edit-files path=src/failed.js content=${quoted(A_JS)}`,
      `success text=${quoted('No tests.\nDONE')}`,
      `success text=${quoted('Still no tests.\nDONE')}`,
    ]);
    await task('e', [`edit-files path=src/e.js content=${quoted(A_JS)}`, TESTS('e')], {
      base_ref: 'release',
    });
    await task('f', [`edit-files path=src/f.js content=${quoted(A_JS)}`, TESTS('f')], {
      base_ref: 'release',
    });
    await task('ahead', [`edit-files path=src/ahead.js content=${quoted(A_JS)}`, TESTS('ahead')]);
    await task('squashed', [
      `edit-files path=src/squashed.js content=${quoted(A_JS)}`,
      TESTS('squashed'),
    ]);
    await task('byhand', [
      `edit-files path=src/byhand.js content=${quoted(A_JS)}`,
      TESTS('byhand'),
    ]);
    await task('twice', [`edit-files path=src/twice.js content=${quoted(A_JS)}`, TESTS('twice')]);
    await task('ignored', [
      `shell command=${quoted('echo SECRET=task > local.env && mkdir -p cache && echo task > cache/x && git add -f local.env cache/x')}`,
      TESTS('ignored'),
    ]);
    await task('sha', [`edit-files path=src/sha.js content=${quoted(A_JS)}`, TESTS('sha')], {
      base_ref: master,
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the diff of a finished task is git diff of its base and head commits, file by file', async () => {
    const a = await completed(server, ids.a);
    const diff = await diffOf(server, ids.a);
    expect(diff).toMatchObject({
      task_id: ids.a,
      base_commit: master,
      head_commit: a.head_commit,
      live: false,
      truncated: false,
      note: null,
    });
    expect(diff.patch).toBe(git(repo, 'diff', master, a.head_commit!));
    const numstat = git(repo, 'diff', '--numstat', master, a.head_commit!)
      .trim()
      .split('\n')
      .map((line) => line.split('\t'));
    expect(diff.files.map((f) => [String(f.additions), String(f.deletions), f.path])).toEqual(
      numstat,
    );
    expect(diff.files.map((f) => [f.path, f.status, f.binary])).toEqual([
      ['src/a.js', 'added', false],
      ['test/a.test.js', 'added', false],
    ]);
    expect(diff.additions).toBe(numstat.reduce((sum, [added]) => sum + Number(added), 0));
    const raw = await request(server).get(`/api/v1/tasks/${ids.a}/diff?format=patch`).expect(200);
    expect(raw.headers['content-type']).toMatch(/^text\/x-diff/);
    expect(raw.headers['x-diff-truncated']).toBe('false');
    expect(raw.text).toBe(diff.patch);

    const b = await completed(server, ids.b);
    const modified = await diffOf(server, ids.b);
    expect(modified.patch).toBe(git(repo, 'diff', master, b.head_commit!));
    expect(modified.files[0]).toMatchObject({
      path: 'src/math.js',
      status: 'modified',
      additions: 1,
      deletions: 1,
    });
  });

  it('the diff of a running task is its workspace as it is now; cancelled, the work is kept on its branch', async () => {
    const before = checkoutFingerprint(repo);
    let workspace = '';
    await eventually('the live task to hang in its second turn', async () => {
      workspace = (await getDetails(server, ids.live)).workspace_path ?? '';
      return workspace !== '' && fakeInvocations(logFile, workspace).length === 2;
    });
    const diff = await diffOf(server, ids.live);
    expect(diff).toMatchObject({ base_commit: master, head_commit: null, live: true });
    expect(diff.files.map((f) => [f.path, f.status, f.additions, f.deletions])).toEqual([
      ['src/live.js', 'added', 3, 0],
      ['src/math.js', 'modified', 1, 1],
    ]);
    // The tracked file's part is what git itself says about the workspace.
    const mathPart = diff.patch.slice(diff.patch.indexOf('diff --git a/src/math.js'));
    expect(mathPart).toBe(git(workspace, 'diff', master, '--', 'src/math.js'));
    expect(diff.patch).toContain('+++ b/src/live.js');
    // Reading the diff left the workspace's own index alone.
    expect(git(workspace, 'status', '--porcelain')).toBe(' M src/math.js\n?? src/live.js\n');
    // What the agent can put in the index's place, a FIFO or a link to a file elsewhere, is
    // neither waited on nor read through: the diff starts from HEAD instead, and is the same.
    const index = join(git(workspace, 'rev-parse', '--absolute-git-dir').trim(), 'index');
    const elsewhere = join(workdir.root(), 'not-the-index');
    writeFileSync(elsewhere, 'DIRC, but no index');
    renameSync(index, `${index}.kept`);
    try {
      spawnSync('mkfifo', [index]);
      expect((await diffOf(server, ids.live)).files).toEqual(diff.files);
      unlinkSync(index);
      symlinkSync(elsewhere, index);
      expect((await diffOf(server, ids.live)).files).toEqual(diff.files);
      unlinkSync(index);
    } finally {
      renameSync(`${index}.kept`, index);
    }

    await request(server).post(`/api/v1/tasks/${ids.live}/cancel`).expect(200);
    const { final } = await waitForTerminal(server, ids.live);
    expect(final.status).toBe('CANCELLED');
    const live = await getDetails(server, ids.live);
    expect(live.head_commit).not.toBeNull();
    expect(git(repo, 'rev-parse', live.branch!).trim()).toBe(live.head_commit);
    expect(git(repo, 'show', `${live.head_commit}:src/live.js`)).toBe(A_JS);
    expect(git(repo, 'log', '-1', '--format=%s%n%b', live.head_commit!)).toContain(
      'kept when it ended CANCELLED (cancelled)',
    );
    const after = await diffOf(server, ids.live);
    expect(after.live).toBe(false);
    expect(after.patch).toBe(git(repo, 'diff', master, live.head_commit!));
    expect(checkoutFingerprint(repo)).toEqual(before);
  });

  it('a FAILED task keeps its uncommitted work as a commit on its branch', async () => {
    const { final } = await waitForTerminal(server, ids.failed);
    expect(final).toMatchObject({ status: 'FAILED', status_reason: 'no_tests_written' });
    const failed = await getDetails(server, ids.failed);
    expect(git(repo, 'show', `${failed.head_commit}:src/failed.js`)).toBe(A_JS);
    expect(git(repo, 'rev-parse', `${failed.head_commit}^`).trim()).toBe(master);
    expect(git(failed.workspace_path!, 'status', '--porcelain')).toBe('');
    const res = await request(server)
      .post(`/api/v1/tasks/${ids.failed}/merge`)
      .send({})
      .expect(409);
    expect(res.body.code).toBe('task_not_mergeable');
  });

  it('a diff past DIFF_MAX_BYTES is cut to whole files, test files and small changes first, and says so', async () => {
    // A large file sorts first in git's order: the cut patch shows the test and the small file
    // whole all the same, and leaves the large one out.
    const big = await completed(server, ids.big);
    const diff = await diffOf(server, ids.big);
    expect(diff.truncated).toBe(true);
    expect(diff.note).toMatch(/DIFF_MAX_BYTES \(4096 bytes\)/);
    expect(diff.note).toMatch(/holds 2 of 3 files whole, test files first/);
    expect(Buffer.byteLength(diff.patch)).toBeLessThanOrEqual(4096);
    expect(diff.files.map((f) => f.path)).toEqual([
      'src/big.js',
      'src/small.js',
      'test/big.test.js',
    ]);
    expect(diff.files[0].additions).toBe(200);
    const only = (path: string) => git(repo, 'diff', master, big.head_commit!, '--', path);
    expect(diff.patch).toBe(only('test/big.test.js') + only('src/small.js'));
    expect(diff.omitted_files).toEqual(['src/big.js']);
    const raw = await request(server).get(`/api/v1/tasks/${ids.big}/diff?format=patch`).expect(200);
    expect(raw.headers['x-diff-truncated']).toBe('true');
    expect(raw.text).toBe(diff.patch);

    // Only a file longer than the limit (a task that failed, its work kept): its start is shown,
    // and the note names it.
    await waitForTerminal(server, ids.huge);
    const start = await diffOf(server, ids.huge);
    expect(start.truncated).toBe(true);
    expect(start.note).toMatch(
      /shows only the start of src\/huge\.js, the first file in review order/,
    );
    expect(start.omitted_files).toEqual(['src/huge.js']);
    expect(start.patch.startsWith('diff --git a/src/huge.js')).toBe(true);
    expect(start.patch.endsWith('\n')).toBe(true);
    expect(Buffer.byteLength(start.patch)).toBeLessThanOrEqual(4096);
  });

  it('a cut diff counts bytes and goes on past a file that does not fit to later ones that do', async () => {
    // src/wide.js has two lines (fewer than src/small.js: before it in review order) but more
    // bytes than DIFF_MAX_BYTES: it is left out, and the smaller file after it is shown whole.
    const wide = await completed(server, ids.wide);
    const diff = await diffOf(server, ids.wide);
    expect(diff.files.map((f) => [f.path, f.additions])).toEqual([
      ['src/small.js', 3],
      ['src/wide.js', 2],
      ['test/wide.test.js', expect.any(Number)],
    ]);
    expect(diff.truncated).toBe(true);
    const only = (path: string) => git(repo, 'diff', master, wide.head_commit!, '--', path);
    expect(diff.patch).toBe(only('test/wide.test.js') + only('src/small.js'));
    expect(diff.omitted_files).toEqual(['src/wide.js']);
    expect(diff.note).toMatch(
      /holds 2 of 3 files whole, .* and leaves out 1 that did not fit \(omitted_files\)/,
    );
    expect(Buffer.byteLength(diff.patch)).toBeLessThanOrEqual(4096);
  });

  it('merges into the checked-out branch of a clean checkout, updating that checkout', async () => {
    const a = await completed(server, ids.a);
    // The checkout's index locked: by a git process that still works there, or left by one that
    // was stopped (nothing works there). Refused as such, nothing changed.
    const lock = join(repo, '.git', 'index.lock');
    writeFileSync(lock, '');
    try {
      const stale = await request(server).post(`/api/v1/tasks/${ids.a}/merge`).send({}).expect(409);
      expect(stale.body).toMatchObject({
        code: 'merge_refused',
        details: { reason: 'worktree_lock_stale', worktree: repo },
      });
      expect(stale.body.message).toContain(`git -C ${repo} rev-parse --git-path index.lock`);
      const holder = spawn('sleep', ['60'], { cwd: repo, stdio: 'ignore' });
      try {
        const locked = await request(server)
          .post(`/api/v1/tasks/${ids.a}/merge`)
          .send({})
          .expect(409);
        expect(locked.body).toMatchObject({
          code: 'merge_refused',
          details: { reason: 'worktree_locked', worktree: repo },
        });
      } finally {
        holder.kill('SIGKILL');
      }
    } finally {
      rmSync(lock);
    }
    expect(git(repo, 'rev-parse', 'master').trim()).toBe(master);
    // The branch named by its ref is the same branch.
    const res = await request(server)
      .post(`/api/v1/tasks/${ids.a}/merge`)
      .send({ target_branch: 'refs/heads/master' })
      .expect(200);
    const body = res.body as TaskMergeResponseDto;
    expect(body).toMatchObject({
      target_branch: 'master',
      strategy: 'merge',
      previous_commit: master,
      updated_worktree: repo,
      branch_ahead: null,
      already_merged: false,
    });
    expect(git(repo, 'rev-parse', 'master').trim()).toBe(body.merge_commit);
    expect(git(repo, 'log', '-1', '--format=%P', 'master').trim()).toBe(
      `${master} ${a.head_commit}`,
    );
    expect(readFileSync(join(repo, 'src/a.js'), 'utf8')).toBe(A_JS);
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(readFileSync(join(repo, '.git/HEAD'), 'utf8')).toBe('ref: refs/heads/master\n');
    expect(body.task).toMatchObject({ merged_into: 'master', merge_commit: body.merge_commit });
    expect(body.task.merged_at).not.toBeNull();
    const details = await getDetails(server, ids.a);
    expect(details.interactions.find((i) => i.data?.type === 'merged')?.data).toMatchObject({
      strategy: 'merge',
      merge_commit: body.merge_commit,
    });
    const again = await request(server).post(`/api/v1/tasks/${ids.a}/merge`).send({}).expect(409);
    expect(again.body).toMatchObject({
      code: 'task_not_mergeable',
      details: {
        status: 'COMPLETED',
        merged_into: 'master',
        merge_commit: body.merge_commit,
        merged_at: body.task.merged_at,
      },
    });
    // The audit trail says what was merged where, which the task's record stops saying once the
    // task is deleted.
    const audit = await request(server)
      .get('/api/v1/audit')
      .query({ action: 'task.merge', target_id: ids.a })
      .expect(200);
    expect(audit.body.items).toEqual([
      expect.objectContaining({
        status: 200,
        details: {
          target_branch: 'master',
          strategy: 'merge',
          merge_commit: body.merge_commit,
          previous_commit: master,
          already_merged: false,
        },
      }),
    ]);
  });

  it('squashes: one commit on top of the target with the whole change', async () => {
    const b = await completed(server, ids.b);
    const previous = git(repo, 'rev-parse', 'master').trim();
    const res = await request(server)
      .post(`/api/v1/tasks/${ids.b}/merge`)
      .send({ strategy: 'squash', target_branch: 'master' })
      .expect(200);
    const commit = (res.body as TaskMergeResponseDto).merge_commit;
    expect(git(repo, 'log', '-1', '--format=%P', commit).trim()).toBe(previous);
    expect(git(repo, 'show', `${commit}:src/math.js`)).toBe(withAdd('return b + a;'));
    expect(git(repo, 'show', `${commit}:src/a.js`)).toBe(A_JS);
    expect(git(repo, 'diff', '--name-only', previous, commit).trim()).toBe(
      git(repo, 'diff', '--name-only', master, b.head_commit!).trim(),
    );
    expect(readFileSync(join(repo, 'src/math.js'), 'utf8')).toBe(withAdd('return b + a;'));
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });

  it('merges the reviewed head commit, and says so when the branch has commits after it', async () => {
    const ahead = await completed(server, ids.ahead);
    const ws = ahead.workspace_path!;
    writeFileSync(join(ws, 'src/fix.js'), 'module.exports = 2;\n');
    git(ws, 'add', 'src/fix.js');
    git(ws, 'commit', '-q', '-m', 'a fix after the review');
    const tip = git(ws, 'rev-parse', 'HEAD').trim();
    git(repo, 'branch', 'ahead-target', master);
    const res = await request(server)
      .post(`/api/v1/tasks/${ids.ahead}/merge`)
      .send({ target_branch: 'ahead-target' })
      .expect(200);
    const body = res.body as TaskMergeResponseDto;
    expect(body.branch_ahead).toBe(tip);
    expect(git(repo, 'log', '-1', '--format=%P', body.merge_commit).trim()).toBe(
      `${master} ${ahead.head_commit}`,
    );
    expect(git(repo, 'ls-tree', '-r', '--name-only', 'ahead-target')).not.toContain('src/fix.js');
    const merged = (await getDetails(server, ids.ahead)).interactions.find(
      (i) => i.data?.type === 'merged',
    );
    expect(merged?.content).toContain(`The task's branch is at ${tip}`);
    expect(merged?.data).toMatchObject({ branch_ahead: tip });
  });

  it('a change the target holds already (merged by hand, or a merge a restart cut off) is recorded as merged, changing nothing', async () => {
    const byHand = await completed(server, ids.byhand);
    const head = byHand.head_commit!;
    git(repo, 'branch', 'byhand-target', head);
    const merge = () =>
      request(server)
        .post(`/api/v1/tasks/${ids.byhand}/merge`)
        .send({ target_branch: 'byhand-target' });
    const res = await merge().expect(200);
    expect(res.body).toMatchObject({
      already_merged: true,
      merge_commit: head,
      previous_commit: head,
      updated_worktree: null,
      task: { merged_into: 'byhand-target', merge_commit: head },
    });
    expect(git(repo, 'rev-parse', 'byhand-target').trim()).toBe(head);
    const merged = (await getDetails(server, ids.byhand)).interactions.find(
      (i) => i.data?.type === 'merged',
    );
    expect(merged?.content).toContain('already held the head commit');
    expect((await merge().expect(409)).body.code).toBe('task_not_mergeable');

    // Squashed by hand: the target holds the change's tree, not its commit.
    const squashed = await completed(server, ids.squashed);
    const tree = git(repo, 'rev-parse', `${squashed.head_commit}^{tree}`).trim();
    const bySquash = git(repo, 'commit-tree', tree, '-p', master, '-m', 'squashed by hand').trim();
    git(repo, 'branch', 'squashed-target', bySquash);
    const again = await request(server)
      .post(`/api/v1/tasks/${ids.squashed}/merge`)
      .send({ target_branch: 'squashed-target', strategy: 'squash' })
      .expect(200);
    expect(again.body).toMatchObject({ already_merged: true, merge_commit: bySquash });
    expect(git(repo, 'rev-parse', 'squashed-target').trim()).toBe(bySquash);
  });

  it('two merges of one task at once: one lands, the other is a 409, the target moves once', async () => {
    await completed(server, ids.twice);
    git(repo, 'branch', 'twice-target', master);
    const merges = await Promise.all(
      [1, 2].map(() =>
        request(server)
          .post(`/api/v1/tasks/${ids.twice}/merge`)
          .send({ strategy: 'squash', target_branch: 'twice-target' }),
      ),
    );
    expect(merges.map((r) => r.status).sort()).toEqual([200, 409]);
    const landed = merges.find((r) => r.status === 200)!.body as TaskMergeResponseDto;
    // The one that lost learns where the other landed.
    expect(merges.find((r) => r.status === 409)!.body).toMatchObject({
      code: 'task_not_mergeable',
      details: { merged_into: 'twice-target', merge_commit: landed.merge_commit },
    });
    expect(git(repo, 'rev-parse', 'twice-target').trim()).toBe(landed.merge_commit);
    expect(git(repo, 'log', '-1', '--format=%P', landed.merge_commit).trim()).toBe(master);
    const details = await getDetails(server, ids.twice);
    expect(details).toMatchObject({
      merge_commit: landed.merge_commit,
      merged_into: 'twice-target',
    });
    expect(details.interactions.filter((i) => i.data?.type === 'merged')).toHaveLength(1);
  });

  it('a conflicting merge is a 409 naming the files, and changes nothing', async () => {
    // Every task has ended: no ref moves but by a merge from here on.
    await Promise.all(Object.values(ids).map((id) => waitForTerminal(server, id)));
    await completed(server, ids.c);
    const before = checkoutFingerprint(repo);
    const refs = git(repo, 'for-each-ref');
    const res = await request(server).post(`/api/v1/tasks/${ids.c}/merge`).send({}).expect(409);
    expect(res.body).toMatchObject({
      code: 'merge_conflict',
      details: { target_branch: 'master', files: ['src/math.js'] },
    });
    expect(checkoutFingerprint(repo)).toEqual(before);
    expect(git(repo, 'for-each-ref')).toBe(refs);
    expect((await getDetails(server, ids.c)).merged_at).toBeNull();
  });

  it('refuses to merge into a checked-out branch whose checkout has changes, changing nothing', async () => {
    await completed(server, ids.d);
    writeFileSync(join(repo, 'src/math.js'), `${MATH_JS}// local edit\n`);
    const before = checkoutFingerprint(repo);
    const refs = git(repo, 'for-each-ref');
    const res = await request(server).post(`/api/v1/tasks/${ids.d}/merge`).send({}).expect(409);
    expect(res.body).toMatchObject({
      code: 'working_tree_dirty',
      details: { worktree: repo, files: ['src/math.js'] },
    });
    expect(checkoutFingerprint(repo)).toEqual(before);
    expect(git(repo, 'for-each-ref')).toBe(refs);
    git(repo, 'checkout', '--', 'src/math.js');
    await request(server).post(`/api/v1/tasks/${ids.d}/merge`).send({}).expect(200);
    expect(readFileSync(join(repo, 'src/d.js'), 'utf8')).toBe(A_JS);
  });

  it("refuses to merge over files the checkout ignores (the user's .env), changing nothing", async () => {
    const ignored = await completed(server, ids.ignored);
    expect((await diffOf(server, ignored.id)).files.map((f) => f.path)).toEqual(
      expect.arrayContaining(['local.env', 'cache/x']),
    );
    // Ignored by an untracked .gitignore of the checkout's: the repository's info/exclude is part
    // of the git configuration the task's merge is checked against (`git_config_changed`).
    writeFileSync(join(repo, '.gitignore'), 'local.env\ncache\n');
    writeFileSync(join(repo, 'local.env'), "SECRET=the user's\n");
    writeFileSync(join(repo, 'cache'), "the user's cache file\n");
    const before = checkoutFingerprint(repo);
    const refs = git(repo, 'for-each-ref');
    const res = await request(server)
      .post(`/api/v1/tasks/${ignored.id}/merge`)
      .send({})
      .expect(409);
    expect(res.body).toMatchObject({
      code: 'working_tree_dirty',
      details: { worktree: repo, files: ['cache', 'local.env'] },
    });
    expect(checkoutFingerprint(repo)).toEqual(before);
    expect(git(repo, 'for-each-ref')).toBe(refs);
    rmSync(join(repo, 'local.env'));
    rmSync(join(repo, 'cache'));
    await request(server).post(`/api/v1/tasks/${ignored.id}/merge`).send({}).expect(200);
    expect(readFileSync(join(repo, 'local.env'), 'utf8')).toBe('SECRET=task\n');
    rmSync(join(repo, '.gitignore'));
  });

  it('fast-forwards a branch that has not moved, and refuses one that has', async () => {
    const e = await completed(server, ids.e);
    const f = await completed(server, ids.f);
    expect(e).toMatchObject({ base_ref: 'release', target_branch: 'release', base_commit: master });
    const before = checkoutFingerprint(repo);
    const ff = await request(server)
      .post(`/api/v1/tasks/${ids.e}/merge`)
      .send({ strategy: 'fast_forward' })
      .expect(200);
    expect(ff.body).toMatchObject({ merge_commit: e.head_commit, updated_worktree: null });
    expect(git(repo, 'rev-parse', 'release').trim()).toBe(e.head_commit);
    // release is not checked out: the user's checkout is not touched.
    expect(checkoutFingerprint(repo)).toEqual(before);
    const refused = await request(server)
      .post(`/api/v1/tasks/${ids.f}/merge`)
      .send({ strategy: 'fast_forward' })
      .expect(409);
    expect(refused.body.code).toBe('merge_not_fast_forward');
    expect(git(repo, 'rev-parse', 'release').trim()).toBe(e.head_commit);
    const merged = await request(server)
      .post(`/api/v1/tasks/${ids.f}/merge`)
      .send({ strategy: 'merge' })
      .expect(200);
    expect(git(repo, 'log', '-1', '--format=%P', 'release').trim()).toBe(
      `${e.head_commit} ${f.head_commit}`,
    );
    expect((merged.body as TaskMergeResponseDto).task.merged_into).toBe('release');
  });

  it('a task based on a commit has no default target; a target that is no branch is a 400', async () => {
    const sha = await completed(server, ids.sha);
    expect(sha).toMatchObject({ base_ref: master, target_branch: null });
    const none = await request(server).post(`/api/v1/tasks/${ids.sha}/merge`).send({}).expect(400);
    expect(none.body.code).toBe('merge_target_invalid');
    const missing = await request(server)
      .post(`/api/v1/tasks/${ids.sha}/merge`)
      .send({ target_branch: 'no-such-branch' })
      .expect(400);
    expect(missing.body.code).toBe('merge_target_invalid');
    const empty = await request(server)
      .post(`/api/v1/tasks/${ids.sha}/merge`)
      .send({ target_branch: 'refs/heads/' })
      .expect(400);
    expect(empty.body).toMatchObject({
      code: 'merge_target_invalid',
      message: 'target_branch refs/heads/ names no branch',
      details: { target_branch: 'refs/heads/' },
    });
    const own = await request(server)
      .post(`/api/v1/tasks/${ids.sha}/merge`)
      .send({ target_branch: sha.branch })
      .expect(400);
    expect(own.body.code).toBe('merge_target_invalid');
    const bad = await request(server)
      .post(`/api/v1/tasks/${ids.sha}/merge`)
      .send({ strategy: 'rebase' })
      .expect(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it('a merge whose repository was moved away is a 409 that records nothing; once back, it merges', async () => {
    const moved = copyFixtureProject('node-basic', root, 'moved');
    const id = await createTask(
      server,
      await createSession(server, moved),
      `Task g. ${fakeScript(`edit-files path=src/g.js content=${quoted(A_JS)}`, TESTS('g'))}`,
    );
    await completed(server, id);
    renameSync(join(moved, '.git'), join(moved, '.git-away'));
    try {
      const away = await request(server).post(`/api/v1/tasks/${id}/merge`).send({}).expect(409);
      expect(away.body).toMatchObject({
        code: 'workspace_unavailable',
        message: expect.stringContaining(`${join(moved, '.git')} is gone`),
      });
      // Its diff says what is missing: the repository, not git.
      const diff = await request(server).get(`/api/v1/tasks/${id}/diff`).expect(409);
      expect(diff.body.message).toContain(`the directory ${join(moved, '.git')} no longer exists`);
    } finally {
      renameSync(join(moved, '.git-away'), join(moved, '.git'));
    }
    expect((await getDetails(server, id)).merged_at).toBeNull();
    await request(server).post(`/api/v1/tasks/${id}/merge`).send({}).expect(200);
    expect(readFileSync(join(moved, 'src/g.js'), 'utf8')).toBe(A_JS);
  });
});

describe('A merge adds only the change that was reviewed', () => {
  const app = appForBlock();
  const HELPER = "module.exports = { helper: () => 'helper' };\n";

  /** A repository copy whose branch holds `file` in a commit after the fixture's. */
  function repoWithCommit(name: string, file: string): string {
    const copy = copyFixtureProject('node-basic', root, name);
    writeFileSync(join(copy, file), 'not in the diff\n');
    git(copy, 'add', file);
    git(copy, 'commit', '-q', '-m', `add ${file}`);
    return copy;
  }

  it('refuses a target that no longer holds the base commit (the user dropped it), as squash, merge or fast-forward', async () => {
    const dropped = repoWithCommit('dropped-base', 'oops.txt');
    const id = await createTask(
      app.server(),
      await createSession(app.server(), dropped),
      `Task h. ${fakeScript(`edit-files path=src/helper.js content=${quoted(HELPER)}`, TESTS('h'))}`,
    );
    const task = await completed(app.server(), id);
    expect((await diffOf(app.server(), id)).files.map((f) => f.path).sort()).toEqual([
      'src/helper.js',
      'test/h.test.js',
    ]);
    git(dropped, 'reset', '-q', '--hard', 'HEAD~1');
    const before = checkoutFingerprint(dropped);
    const refs = git(dropped, 'for-each-ref');
    for (const strategy of ['squash', 'merge', 'fast_forward']) {
      const res = await request(app.server())
        .post(`/api/v1/tasks/${id}/merge`)
        .send({ strategy })
        .expect(409);
      expect(res.body).toMatchObject({
        code: 'merge_refused',
        details: {
          reason: 'base_not_in_target',
          base_commit: task.base_commit,
          target_commit: git(dropped, 'rev-parse', 'HEAD').trim(),
        },
      });
    }
    expect(checkoutFingerprint(dropped)).toEqual(before);
    expect(git(dropped, 'for-each-ref')).toBe(refs);
    expect(existsSync(join(dropped, 'oops.txt'))).toBe(false);
    expect((await getDetails(app.server(), id)).merged_at).toBeNull();
  });

  it("refuses a target other than the task's base branch, which lacks that branch's commits; a stale expected_target_commit is refused, the right one merges", async () => {
    const other = copyFixtureProject('node-basic', root, 'other-base');
    const main = git(other, 'symbolic-ref', '--short', 'HEAD').trim();
    git(other, 'checkout', '-q', '-b', 'feature');
    writeFileSync(join(other, 'unreviewed.txt'), 'not in the diff\n');
    git(other, 'add', 'unreviewed.txt');
    git(other, 'commit', '-q', '-m', 'unreviewed');
    git(other, 'checkout', '-q', main);
    const id = await createTask(
      app.server(),
      await createSession(app.server(), other),
      `Task i. ${fakeScript(`edit-files path=src/helper.js content=${quoted(HELPER)}`, TESTS('i'))}`,
      { base_ref: 'feature' },
    );
    await completed(app.server(), id);
    const mainBefore = git(other, 'rev-parse', main).trim();
    const res = await request(app.server())
      .post(`/api/v1/tasks/${id}/merge`)
      .send({ target_branch: main })
      .expect(409);
    expect(res.body).toMatchObject({
      code: 'merge_refused',
      details: { reason: 'base_not_in_target' },
    });
    expect(git(other, 'rev-parse', main).trim()).toBe(mainBefore);
    expect(existsSync(join(other, 'unreviewed.txt'))).toBe(false);

    const feature = git(other, 'rev-parse', 'feature').trim();
    const stale = await request(app.server())
      .post(`/api/v1/tasks/${id}/merge`)
      .send({ target_branch: 'feature', expected_target_commit: mainBefore })
      .expect(409);
    expect(stale.body).toMatchObject({
      code: 'merge_refused',
      details: { reason: 'target_changed', target_commit: feature },
    });
    expect(git(other, 'rev-parse', 'feature').trim()).toBe(feature);
    const merged = await request(app.server())
      .post(`/api/v1/tasks/${id}/merge`)
      .send({ target_branch: 'feature', expected_target_commit: feature.toUpperCase() })
      .expect(200);
    expect(merged.body).toMatchObject({ target_branch: 'feature', previous_commit: feature });
  });

  it('refuses a head the agent rebuilt on a commit older than the base, which would undo a revert made on the target since', async () => {
    const reverted = repoWithCommit('rebuilt-head', 'flag.txt');
    const id = await createTask(
      app.server(),
      await createSession(app.server(), reverted),
      `Task j. ${fakeScript(
        `shell command=${quoted('git reset -q --soft HEAD~1')}`,
        `edit-files path=src/helper.js content=${quoted(HELPER)}`,
        TESTS('j'),
      )}`,
    );
    const task = await completed(app.server(), id);
    expect((await diffOf(app.server(), id)).files.map((f) => f.path).sort()).toEqual([
      'src/helper.js',
      'test/j.test.js',
    ]);
    git(reverted, 'revert', '--no-edit', 'HEAD');
    const revert = git(reverted, 'rev-parse', 'HEAD').trim();
    const res = await request(app.server()).post(`/api/v1/tasks/${id}/merge`).send({}).expect(409);
    expect(res.body).toMatchObject({
      code: 'merge_refused',
      details: { reason: 'head_not_from_base', head_commit: task.head_commit },
    });
    expect(git(reverted, 'rev-parse', 'HEAD').trim()).toBe(revert);
    expect(existsSync(join(reverted, 'flag.txt'))).toBe(false);
  });
});

/** Commits a .gitignore for `build/` in a fixture copy (the user's own commit). */
function ignoreBuildDir(repo: string): void {
  writeFileSync(join(repo, '.gitignore'), 'build/\n');
  git(repo, 'add', '.gitignore');
  git(repo, 'commit', '-q', '-m', 'ignore build/');
}

describe('The setup command of a new workspace', () => {
  const app = appForBlock();
  let server: App;
  beforeAll(() => {
    server = app.server();
  });

  it('runs before the first turn, its output stored; what it makes that the project ignores stays out of the commit', async () => {
    const repo = copyFixtureProject('node-basic', root, 'setup-ok');
    ignoreBuildDir(repo);
    const before = checkoutFingerprint(repo);
    const session = await createSession(server, repo, {
      setup_command:
        'node -e \'require("fs").mkdirSync("build",{recursive:true});require("fs").writeFileSync("build/setup.txt","ready");console.log("setup done")\'',
    });
    const id = await createTask(
      server,
      session,
      `Add a. ${fakeScript(`edit-files path=src/a.js content=${quoted('module.exports = 1;\n')}`, TESTS('a'))}`,
    );
    const d = await completed(server, id);
    const kinds = d.interactions.map((i) => i.kind);
    expect(kinds.indexOf('setup')).toBeGreaterThan(-1);
    expect(kinds.indexOf('setup')).toBeLessThan(kinds.indexOf('prompt'));
    const setup = d.interactions.find((i) => i.kind === 'setup')!;
    expect(setup.content).toContain('setup done');
    expect(setup.data).toMatchObject({ passed: true, exit_code: 0 });
    expect(readFileSync(join(d.workspace_path!, 'build/setup.txt'), 'utf8')).toBe('ready');
    expect(
      git(repo, 'diff', '--name-only', d.base_commit!, d.head_commit!).trim().split('\n'),
    ).toEqual(['src/a.js', 'test/a.test.js']);
    expect(checkoutFingerprint(repo)).toEqual(before);
  });

  it('a failing setup command fails the task setup_failed with its output, before any turn', async () => {
    const repo = copyFixtureProject('node-basic', root, 'setup-fails');
    const session = await createSession(server, repo, {
      setup_command: 'node -e \'console.log("installing dependencies"); process.exit(3)\'',
    });
    const id = await createTask(server, session, `Never starts. ${fakeScript('success')}`);
    const { final } = await waitForTerminal(server, id);
    expect(final).toMatchObject({ status: 'FAILED', status_reason: 'setup_failed', iteration: 0 });
    expect(final.error_message).toMatch(/exited with code 3/);
    expect(final.error_message).toContain('installing dependencies');
    const d = await getDetails(server, id);
    expect(fakeInvocations(logFile, d.workspace_path!)).toEqual([]);
    expect(d.interactions.filter((i) => i.kind === 'setup').map((i) => i.data?.exit_code)).toEqual([
      3,
    ]);
  });

  it('refuses a setup command or base_ref without a workspace, and a base_ref that names no commit', async () => {
    const repo = copyFixtureProject('node-basic', root, 'setup-refused');
    const inPlace = await request(server)
      .post('/api/v1/sessions')
      .send({ project_path: repo, isolation: 'none', setup_command: 'npm ci' })
      .expect(400);
    expect(inPlace.body.details.errors[0].field).toBe('setup_command');
    const unknown = await request(server)
      .post('/api/v1/sessions')
      .send({ project_path: repo, base_ref: 'no-such-branch' })
      .expect(400);
    expect(unknown.body.details.errors[0]).toMatchObject({ field: 'base_ref' });
    const session = await createSession(server, repo);
    const task = await request(server)
      .post('/api/v1/tasks')
      .send({ session_id: session, description: 'x', base_ref: 'v9.9' })
      .expect(400);
    expect(task.body.details.errors[0]).toMatchObject({ field: 'base_ref' });
    const shell = await request(server)
      .post('/api/v1/sessions')
      .send({ project_path: repo, setup_command: 'npm ci && npm run build' })
      .expect(400);
    expect(shell.body.details.errors[0].field).toBe('setup_command');
  });
});

describe('Workspaces are removed, and no work is lost', () => {
  it('WORKSPACE_RETENTION_HOURS after a task ended its workspace goes; its branch stays', async () => {
    const { t, server } = await startApp({
      WORKSPACE_RETENTION_HOURS: '0',
      WORKSPACE_SWEEP_SECONDS: '1',
    });
    try {
      const repo = copyFixtureProject('node-basic', root, 'retention');
      const before = checkoutFingerprint(repo);
      const session = await createSession(server, repo);
      const id = await createTask(
        server,
        session,
        `Add a. ${fakeScript(`edit-files path=src/a.js content=${quoted('module.exports = 1;\n')}`, TESTS('a'))}`,
      );
      const d = await completed(server, id);
      await eventually(
        'the workspace to be removed',
        async () => (await getDetails(server, id)).workspace_removed_at !== null,
      );
      expect(existsSync(d.workspace_path!)).toBe(false);
      // Nothing is left of it there: the server's private copies of the repository's git
      // configuration went with it.
      expect(readdirSync(t.config.WORKSPACES_DIR)).toEqual(['.git-config-copies']);
      expect(readdirSync(join(t.config.WORKSPACES_DIR, '.git-config-copies'))).toEqual([]);
      expect(linkedWorktrees(repo)).toEqual([]);
      expect(git(repo, 'rev-parse', d.branch!).trim()).toBe(d.head_commit);
      const after = await getDetails(server, id);
      expect(
        after.interactions.find((i) => i.data?.type === 'workspace_removed')?.data,
      ).toMatchObject({
        reason: 'retention',
        kept_commit: null,
        branch_deleted: false,
      });
      // The change is still there to review and merge.
      expect((await diffOf(server, id)).patch).toBe(
        git(repo, 'diff', d.base_commit!, d.head_commit!),
      );
      expect(checkoutFingerprint(repo)).toEqual(before);
      // /health shows the last measurement and starts a new one when a workspace came or went.
      let workspaces: { count?: number; dir?: string } = {};
      await eventually('/health to count no workspace', async () => {
        workspaces = (await request(server).get('/health').expect(200)).body.workspaces;
        return workspaces.count === 0;
      });
      expect(workspaces.dir).toBe(t.config.WORKSPACES_DIR);
    } finally {
      await t.close();
    }
  });

  it("removes its own expired workspaces past any number of older ones it cannot remove (another instance's, on another machine)", async () => {
    const database = await createTestDatabase('sqlite');
    const env = orchestratorEnv({
      WORKSPACES_DIR: join(root, 'sweep-past-workspaces'),
      WORKSPACE_RETENTION_HOURS: '0',
      WORKSPACE_SWEEP_SECONDS: '1',
    });
    // The tasks are made while no orchestrator runs, then ended by hand.
    let t: TestApp | null = await createTestApp({
      database,
      env: { ...env, ORCHESTRATOR_ENABLED: 'false' },
    });
    try {
      await t.app.listen(0, '127.0.0.1');
      const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
      const repo = copyFixtureProject('node-basic', root, 'sweep-past');
      const gitDir = realpathSync(join(repo, '.git'));
      const session = await createSession(url, repo);
      const elsewhere: string[] = [];
      for (let i = 0; i < SWEEP_BATCH; i += 1) {
        elsewhere.push(await createTask(url, session, `Elsewhere ${i}.`));
      }
      const own = await createTask(url, session, 'Here.');
      const ws = await t.app.get(WorkspacesService).prepare({
        taskId: own,
        description: 'Here.',
        projectPath: repo,
        gitDir,
        baseCommit: git(repo, 'rev-parse', 'HEAD').trim(),
        branch: null,
        workspacePath: null,
      });
      writeFileSync(join(ws.path, 'left.txt'), 'left\n');
      const tasks = t.app.get(DataSource).getRepository(Task);
      const ended = (ago: number) => ({
        status: TaskStatus.Failed,
        statusReason: 'internal_error' as const,
        completedAt: new Date(Date.now() - ago),
        gitDir,
      });
      // Older, and under the WORKSPACES_DIR of an instance on another machine: not here at all.
      for (const id of elsewhere) {
        await tasks.update(id, {
          ...ended(3_600_000),
          workspacePath: join('/srv/other-machine/workspaces', id),
          branch: `cta/${id.slice(0, 8)}-elsewhere`,
        });
      }
      await tasks.update(own, { ...ended(60_000), workspacePath: ws.path, branch: ws.branch });
      await t.close();

      t = await createTestApp({ database, env });
      const stored = t.app.get(DataSource).getRepository(Task);
      await eventually(
        'its own workspace to be removed',
        async () => (await stored.findOneByOrFail({ id: own })).workspaceRemovedAt !== null,
      );
      expect(existsSync(ws.path)).toBe(false);
      expect(git(repo, 'show', `${ws.branch}:left.txt`)).toBe('left\n');
      expect(linkedWorktrees(repo)).toEqual([]);
      const others = await stored.findBy({ id: In(elsewhere) });
      expect(others.map((o) => o.workspaceRemovedAt)).toEqual(elsewhere.map(() => null));
    } finally {
      await t?.close();
      await database.drop();
    }
  });

  describe('deleting', () => {
    let t: TestApp;
    let server: App;
    let repo: string;

    beforeAll(async () => {
      ({ t, server } = await startApp({
        DELETE_MERGED_BRANCHES: 'true',
        WORKSPACE_SWEEP_SECONDS: '1',
      }));
      repo = copyFixtureProject('node-basic', root, 'deleting');
    });
    afterAll(async () => {
      await t?.close();
    });

    const run = async (name: string): Promise<TaskDetails> => {
      const session = await createSession(server, repo);
      const id = await createTask(
        server,
        session,
        `Add ${name}. ${fakeScript(`edit-files path=src/${name}.js content=${quoted('module.exports = 1;\n')}`, TESTS(name))}`,
      );
      return completed(server, id);
    };

    it('a deleted task takes its workspace along, committing what was left in it on its branch', async () => {
      const d = await run('left');
      writeFileSync(join(d.workspace_path!, 'notes.txt'), 'written after the task ended\n');
      await request(server).delete(`/api/v1/tasks/${d.id}`).expect(204);
      expect(existsSync(d.workspace_path!)).toBe(false);
      expect(linkedWorktrees(repo)).not.toContain(d.workspace_path);
      const tip = git(repo, 'rev-parse', d.branch!).trim();
      expect(git(repo, 'rev-parse', `${tip}^`).trim()).toBe(d.head_commit);
      expect(git(repo, 'show', `${tip}:notes.txt`)).toBe('written after the task ended\n');
    });

    it('with DELETE_MERGED_BRANCHES a merged task loses its branch with its workspace; an unmerged one keeps it', async () => {
      const merged = await run('merged');
      const kept = await run('kept');
      await request(server).post(`/api/v1/tasks/${merged.id}/merge`).send({}).expect(200);
      await request(server).delete(`/api/v1/tasks/${merged.id}`).expect(204);
      await request(server).delete(`/api/v1/tasks/${kept.id}`).expect(204);
      expect(git(repo, 'branch', '--list', merged.branch!)).toBe('');
      expect(git(repo, 'rev-parse', kept.branch!).trim()).toBe(kept.head_commit);
      expect(git(repo, 'show', 'master:src/merged.js')).toBe('module.exports = 1;\n');
    });

    /**
     * Merges task `d` and, while its merge holds the repository (its `git merge-tree` held back),
     * sends `DELETE route`; returns both answers once the merge was let go on.
     */
    const deleteDuringMerge = async (d: TaskDetails, route: string) => {
      const held = t.app.get<Git, HeldGit>(Git).holdNext('merge-tree');
      const merged = request(server)
        .post(`/api/v1/tasks/${d.id}/merge`)
        .send({})
        .then((res) => res);
      await held.reached;
      const deleted = request(server)
        .delete(route)
        .then((res) => res);
      // The delete waits for the merge (it did not: it deleted the task under the merge, whose
      // record then found no task: 404, nothing audited, the target merged all the same).
      await Promise.race([deleted, new Promise((resolve) => setTimeout(resolve, 500))]);
      held.release();
      return { merge: await merged, deletion: await deleted };
    };

    it('a task deleted while its merge runs goes once the merge is recorded: the merge answers 200', async () => {
      const d = await run('racing');
      const { merge, deletion } = await deleteDuringMerge(d, `/api/v1/tasks/${d.id}`);
      expect([merge.status, deletion.status]).toEqual([200, 204]);
      expect(git(repo, 'show', 'master:src/racing.js')).toBe('module.exports = 1;\n');
      await request(server).get(`/api/v1/tasks/${d.id}`).expect(404);
    });

    it('so does a task whose session is deleted while its merge runs', async () => {
      const d = await run('session-racing');
      const { merge, deletion } = await deleteDuringMerge(d, `/api/v1/sessions/${d.session_id}`);
      expect([merge.status, deletion.status]).toEqual([200, 204]);
      expect(git(repo, 'show', 'master:src/session-racing.js')).toBe('module.exports = 1;\n');
      await request(server).get(`/api/v1/tasks/${d.id}`).expect(404);
    });

    it('deleting a session removes the workspaces of its tasks', async () => {
      const d = await run('session');
      await request(server).delete(`/api/v1/sessions/${d.session_id}`).expect(204);
      expect(existsSync(d.workspace_path!)).toBe(false);
      expect(git(repo, 'rev-parse', d.branch!).trim()).toBe(d.head_commit);
    });

    it('a workspace left without its task (a crash between the two) is removed by the sweep, its work kept', async () => {
      const d = await run('orphan');
      writeFileSync(join(d.workspace_path!, 'orphan.txt'), 'left behind\n');
      await t.dataSource.query('DELETE FROM tasks WHERE id = ?', [d.id]);
      // The removal renames the directory away first and has git forget it after: it is over
      // when both are gone.
      await eventually(
        'the leftover workspace to be removed',
        () => !existsSync(d.workspace_path!) && !linkedWorktrees(repo).includes(d.workspace_path!),
      );
      expect(git(repo, 'show', `${d.branch}:orphan.txt`)).toBe('left behind\n');
      expect(git(repo, 'worktree', 'list', '--porcelain')).not.toContain('prunable');
    });
  });
});

describe('The workspaces disk quota', () => {
  it('tasks that need a new workspace wait (workspace_quota) while the workspaces are over WORKSPACES_MAX_GB', async () => {
    const { t, server } = await startApp({ WORKSPACES_MAX_GB: '0.000000001' });
    try {
      const repo = copyFixtureProject('node-basic', root, 'quota');
      const session = await createSession(server, repo);
      const script = (name: string): string =>
        `Add ${name}. ${fakeScript(`edit-files path=src/${name}.js content=${quoted('module.exports = 1;\n')}`, TESTS(name))}`;
      const first = await createTask(server, session, script('first'));
      await completed(server, first);
      // /health shows the latest measurement, refreshed in the background as workspaces come.
      let workspaces: { count?: number; disk_bytes?: number } = {};
      await eventually('/health to show the workspace', async () => {
        workspaces = (await request(server).get('/health').expect(200)).body.workspaces;
        return workspaces.count === 1;
      });
      expect(workspaces).toMatchObject({ count: 1, over_quota: true, max_bytes: 1 });
      expect(workspaces.disk_bytes).toBeGreaterThan(0);

      const second = await createTask(server, session, script('second'));
      await eventually('the second task to wait for the quota', async () => {
        const d = await getDetails(server, second);
        return d.status === 'PENDING' && d.status_reason === 'workspace_quota';
      });
      // It is not claimed while the quota is used up.
      await new Promise((r) => setTimeout(r, 1000));
      const waiting = await getDetails(server, second);
      expect(waiting).toMatchObject({
        status: 'PENDING',
        status_reason: 'workspace_quota',
        started_at: null,
      });

      await request(server).delete(`/api/v1/tasks/${first}`).expect(204);
      const d = await completed(server, second);
      expect(statusChanges(d.interactions)[0]).toMatchObject({ from: 'PENDING', to: 'RUNNING' });
    } finally {
      await t.close();
    }
  });
});

describe('A project outside git', () => {
  const app = appForBlock();
  let server: App;
  beforeAll(() => {
    server = app.server();
  });

  it('works in place (isolation none): the agent edits the project directory itself', async () => {
    const project = join(root, 'plain');
    cpSync(join(FIXTURE_PROJECTS, 'node-basic'), project, { recursive: true });
    const session = await request(server)
      .post('/api/v1/sessions')
      .send({ project_path: project })
      .expect(201);
    expect(session.body).toMatchObject({ isolation: 'none', base_ref: null, setup_command: null });
    const id = await createTask(
      server,
      session.body.id as string,
      `Add a. ${fakeScript(`edit-files path=src/a.js content=${quoted('module.exports = 1;\n')}`, TESTS('a'))}`,
    );
    const d = await completed(server, id);
    expect(d).toMatchObject({
      isolation: 'none',
      workspace_path: null,
      branch: null,
      base_commit: null,
    });
    expect(readFileSync(join(project, 'src/a.js'), 'utf8')).toBe('module.exports = 1;\n');
    expect(fakeInvocations(logFile, project)).toHaveLength(2);
    const diff = await request(server).get(`/api/v1/tasks/${id}/diff`).expect(409);
    expect(diff.body.code).toBe('workspace_unavailable');
    const merge = await request(server).post(`/api/v1/tasks/${id}/merge`).send({}).expect(409);
    expect(merge.body.code).toBe('task_not_mergeable');
    const worktree = await request(server)
      .post('/api/v1/sessions')
      .send({ project_path: project, isolation: 'worktree' })
      .expect(400);
    expect(worktree.body.details.errors[0].field).toBe('isolation');
  });
});

describe('Two server instances on one repository', () => {
  it('run its tasks side by side, their git operations serialized by the lock in the repository', async () => {
    const database = await createTestDatabase('sqlite');
    const apps: TestApp[] = [];
    try {
      for (const instance of ['a', 'b']) {
        const t = await createTestApp({
          database,
          env: orchestratorEnv({ INSTANCE_ID: instance, MAX_CONCURRENT_TASKS: '3' }),
        });
        await t.app.listen(0, '127.0.0.1');
        apps.push(t);
      }
      const server = (await apps[0].app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
      const repo = copyFixtureProject('node-basic', root, 'two-instances');
      const before = checkoutFingerprint(repo);
      const session = await createSession(server, repo);
      const barrier = join(root, 'two-instances-barrier');
      const ids: string[] = [];
      for (let k = 1; k <= 6; k += 1) {
        ids.push(
          await createTask(
            server,
            session,
            `Add feature ${k}. ${fakeScript(
              `barrier dir=${barrier} count=6 path=src/feature${k}.js content=${quoted(featureJs(k))}`,
              TESTS(`feature${k}`),
            )}`,
          ),
        );
      }
      const details = await Promise.all(ids.map((id) => completed(server, id)));
      // The claim records name the instance that took each task: both took some.
      const claimedBy = details.map((d) => {
        const claim = d.interactions.find(
          (i) => i.kind === 'status' && i.data?.reason === 'claimed',
        );
        return String(claim?.data?.owner as string).split('@')[0];
      });
      expect(new Set(claimedBy)).toEqual(new Set(['a', 'b']));
      for (const [index, d] of details.entries()) {
        expect(git(repo, 'show', `${d.head_commit}:src/feature${index + 1}.js`)).toBe(
          featureJs(index + 1),
        );
      }
      expect(linkedWorktrees(repo)).toHaveLength(6);
      expect(checkoutFingerprint(repo)).toEqual(before);
      expect(git(repo, 'fsck', '--no-progress').trim()).toBe('');
      expect(existsSync(join(repo, '.git', 'cta-workspaces.lock'))).toBe(false);
    } finally {
      for (const t of apps) await t.close();
      await database.drop();
    }
  });
});

describe('A task stopped by a shutdown', () => {
  it('resumes in its workspace (no second setup), or, cancelled while queued, keeps its work on its branch', async () => {
    const database = await createTestDatabase('sqlite');
    const workspaces = join(root, 'shutdown-workspaces');
    const env = orchestratorEnv({ WORKSPACES_DIR: workspaces });
    let first: TestApp | null = await createTestApp({ database, env });
    let second: TestApp | null = null;
    try {
      await first.app.listen(0, '127.0.0.1');
      const url = (await first.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
      const repo = copyFixtureProject('node-basic', root, 'shutdown');
      ignoreBuildDir(repo);
      const before = checkoutFingerprint(repo);
      const session = await createSession(url, repo, {
        setup_command:
          'node -e \'require("fs").mkdirSync("build",{recursive:true});require("fs").appendFileSync("build/setups","x")\'',
      });
      const resumed = await createTask(
        url,
        session,
        `Resume me. ${fakeScript(`edit-files path=src/r.js content=${quoted('module.exports = 1;\n')}`, 'hang signals=honor', TESTS('r'))}`,
      );
      const cancelled = await createTask(
        url,
        session,
        `Cancel me. ${fakeScript(`edit-files path=src/c.js content=${quoted('module.exports = 2;\n')}`, 'hang signals=honor')}`,
      );
      const hung = async (id: string): Promise<string> => {
        let workspace = '';
        await eventually('the task to hang in its second turn', async () => {
          workspace = (await getDetails(url, id)).workspace_path ?? '';
          return workspace !== '' && fakeInvocations(logFile, workspace).length === 2;
        });
        return workspace;
      };
      const [resumedWorkspace, cancelledWorkspace] = [await hung(resumed), await hung(cancelled)];
      await first.close();
      first = null;

      second = await createTestApp({ database, env: { ...env, ORCHESTRATOR_ENABLED: 'false' } });
      await second.app.listen(0, '127.0.0.1');
      const api = (await second.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
      for (const id of [resumed, cancelled]) {
        expect(await getDetails(api, id)).toMatchObject({
          status: 'PENDING',
          status_reason: 'shutdown',
        });
      }
      // Left as it was for the task to resume in: uncommitted, its diff the workspace itself.
      expect(git(resumedWorkspace, 'status', '--porcelain')).toBe('?? src/r.js\n');
      expect((await diffOf(api, resumed)).files.map((f) => f.path)).toEqual(['src/r.js']);

      const res = await request(api).post(`/api/v1/tasks/${cancelled}/cancel`).expect(200);
      expect(res.body.status).toBe('CANCELLED');
      const c = await getDetails(api, cancelled);
      expect(git(repo, 'show', `${c.head_commit}:src/c.js`)).toBe('module.exports = 2;\n');
      expect(git(repo, 'rev-parse', c.branch!).trim()).toBe(c.head_commit);
      expect(git(cancelledWorkspace, 'status', '--porcelain')).toBe('');
      await second.close();
      second = await createTestApp({ database, env });
      await second.app.listen(0, '127.0.0.1');
      const again = (await second.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
      const d = await completed(again, resumed);
      expect(d.workspace_path).toBe(resumedWorkspace);
      expect(fakeInvocations(logFile, resumedWorkspace)).toHaveLength(3);
      expect(readFileSync(join(resumedWorkspace, 'build/setups'), 'utf8')).toBe('x');
      expect(
        d.interactions
          .filter((i) => i.data?.type === 'workspace_attached')
          .map((i) => i.data?.path),
      ).toEqual([resumedWorkspace]);
      expect(git(repo, 'show', `${d.head_commit}:src/r.js`)).toBe('module.exports = 1;\n');
      expect(linkedWorktrees(repo).sort()).toEqual([cancelledWorkspace, resumedWorkspace].sort());
      expect(checkoutFingerprint(repo)).toEqual(before);
    } finally {
      await first?.close();
      await second?.close();
      await database.drop();
    }
  });
});

describe('A task resumed by an instance with another WORKSPACES_DIR', () => {
  /**
   * Runs a task on an instance with WORKSPACES_DIR `<name>-a` until it hangs in its second turn,
   * its first turn's edit uncommitted, and shuts that instance down (PENDING, `shutdown`): the
   * task, its repository, its workspace and the database the next instance is started on.
   */
  async function stoppedOnFirstInstance(name: string, database: TestDatabase) {
    const first = await createTestApp({
      database,
      env: orchestratorEnv({ WORKSPACES_DIR: join(root, `${name}-a`) }),
    });
    try {
      await first.app.listen(0, '127.0.0.1');
      const url = (await first.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
      const repo = copyFixtureProject('node-basic', root, name);
      const session = await createSession(url, repo);
      const id = await createTask(
        url,
        session,
        `Move me. ${fakeScript(`edit-files path=src/moved.js content=${quoted('module.exports = 1;\n')}`, 'hang signals=honor', TESTS('moved'))}`,
      );
      let workspace = '';
      await eventually('the task to hang in its second turn', async () => {
        workspace = (await getDetails(url, id)).workspace_path ?? '';
        return workspace !== '' && fakeInvocations(logFile, workspace).length === 2;
      });
      return { id, repo, workspace, branch: (await getDetails(url, id)).branch! };
    } finally {
      await first.close();
    }
  }

  const startSecond = async (
    name: string,
    database: TestDatabase,
  ): Promise<{ second: TestApp; api: App }> => {
    const second = await createTestApp({
      database,
      env: orchestratorEnv({ WORKSPACES_DIR: join(root, `${name}-b`) }),
    });
    await second.app.listen(0, '127.0.0.1');
    const api = (await second.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
    return { second, api };
  };

  it('re-attaches to the workspace it recorded under the other one, its uncommitted work as it was, and removes it when the task is deleted', async () => {
    const database = await createTestDatabase('sqlite');
    let second: TestApp | null = null;
    try {
      const moved = await stoppedOnFirstInstance('handed-over', database);
      expect(moved.workspace).toBe(join(realpathSync(join(root, 'handed-over-a')), moved.id));
      const started = await startSecond('handed-over', database);
      second = started.second;
      const d = await completed(started.api, moved.id);
      expect(d.attempt).toBe(2);
      expect(d.workspace_path).toBe(moved.workspace);
      expect(d.branch).toBe(moved.branch);
      expect(
        d.interactions
          .filter(
            (i) => i.data?.type === 'workspace_attached' || i.data?.type === 'workspace_created',
          )
          .map((i) => [i.data?.type, i.data?.path]),
      ).toEqual([
        ['workspace_created', moved.workspace],
        ['workspace_attached', moved.workspace],
      ]);
      // The agent's conversation went on where it was: its third turn in the same directory.
      expect(fakeInvocations(logFile, moved.workspace)).toHaveLength(3);
      expect(git(moved.repo, 'show', `${d.head_commit}:src/moved.js`)).toBe(
        'module.exports = 1;\n',
      );
      expect(readdirSync(join(root, 'handed-over-b')).filter((n) => n.includes(moved.id))).toEqual(
        [],
      );
      expect(linkedWorktrees(moved.repo)).toEqual([moved.workspace]);

      await request(started.api).delete(`/api/v1/tasks/${moved.id}`).expect(204);
      expect(existsSync(moved.workspace)).toBe(false);
      expect(linkedWorktrees(moved.repo)).toEqual([]);
      expect(git(moved.repo, 'rev-parse', moved.branch).trim()).toBe(d.head_commit);
    } finally {
      await second?.close();
      await database.drop();
    }
  });

  it('fails workspace_missing, naming what is missing and this server, when neither its workspace nor its branch is here; nothing is checked out', async () => {
    const database = await createTestDatabase('sqlite');
    let second: TestApp | null = null;
    try {
      const moved = await stoppedOnFirstInstance('elsewhere', database);
      // As on another machine with its own clone: neither the workspace nor its branch there.
      git(moved.repo, 'worktree', 'remove', '--force', moved.workspace);
      git(moved.repo, 'branch', '-D', moved.branch);
      const started = await startSecond('elsewhere', database);
      second = started.second;
      const { final } = await waitForTerminal(started.api, moved.id);
      expect(final).toMatchObject({ status: 'FAILED', status_reason: 'workspace_missing' });
      const d = await getDetails(started.api, moved.id);
      expect(d.error_message).toContain(moved.workspace);
      expect(d.error_message).toContain(moved.branch);
      expect(d.error_message).toContain(`this server (${hostname()})`);
      expect(d.interactions.filter((i) => i.data?.type === 'workspace_created')).toHaveLength(1);
      expect(fakeInvocations(logFile, moved.workspace)).toHaveLength(2);
      expect(git(moved.repo, 'branch', '--list', 'cta/*')).toBe('');
      expect(linkedWorktrees(moved.repo)).toEqual([]);
      expect(readdirSync(join(root, 'elsewhere-b')).filter((n) => n.includes(moved.id))).toEqual(
        [],
      );
    } finally {
      await second?.close();
      await database.drop();
    }
  });
});
