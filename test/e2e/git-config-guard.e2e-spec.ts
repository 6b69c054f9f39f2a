import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import {
  copyFixtureProject,
  createSessionTask,
  editFiles,
  FAKE_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeScript,
  getDetails,
  shellCommands,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { Task, TaskWorkspaceCleanup } from 'src/tasks';
import { GitConfigChangedError } from 'src/workspaces';
import { eventually } from 'test/e2e/support/eventually';
import { git } from 'test/e2e/support/git-repos';

/**
 * THE REPOSITORY'S SHARED GIT CONFIGURATION, end to end: the real AppModule with the orchestrator
 * on, the fake CLI as an agent that is not sandboxed writing the common git directory of the
 * repository its workspace belongs to (a clean or smudge filter, a hook, `core.hooksPath`). The
 * server's git runs nothing through what it wrote: the task does not complete on a commit made
 * through it, and a merge through it is refused; both name the files. What the user's own git
 * writes there beside a running task (an upstream, a remote), and what the session's setup
 * command writes before the agent's first turn, is no such change.
 */

const workdir = fakeClaudeWorkdir('cta-git-config-e2e-');
let t: TestApp;

/** The app with the orchestrator on, running `tasksAtOnce` tasks at most. */
const appRunning = (tasksAtOnce: number): Promise<TestApp> =>
  createTestApp({
    env: {
      ...FAKE_RUNNER_ENV,
      CLI_INIT_TIMEOUT_SECONDS: '120',
      MAX_CONCURRENT_TASKS: String(tasksAtOnce),
    },
  });

beforeAll(async () => {
  // One task at a time: a task created while another runs starts once that one ended.
  t = await appRunning(1);
});

afterAll(async () => {
  await t?.close();
});

/**
 * Shell commands setting a clean filter that makes `marker` when it runs, for `agent.txt`, which
 * they write.
 */
const cleanFilter = (marker: string): string[] => [
  `git config filter.cta.clean 'touch ${marker}; cat'`,
  "printf 'agent.txt filter=cta\\n' > .gitattributes",
  'echo agent > agent.txt',
];

/** The agent's shell: the repository's common git directory, seen from its workspace. */
const COMMON = '"$(git rev-parse --git-common-dir)"';

/**
 * Shell commands setting a `kind` filter for every file of the repository (in `info/attributes`)
 * that makes `marker` when it runs.
 */
const filterEveryFile = (kind: 'clean' | 'smudge', marker: string): string[] => [
  `git config filter.cta.${kind} 'touch ${marker}; cat'`,
  `printf '* filter=cta\\n' > ${COMMON}/info/attributes`,
];

/** Creates a session on `repo` (with `setupCommand`, if any) and a task in it; the task's id. */
const startTask = (repo: string, description: string, setupCommand: string | null = null) =>
  createSessionTask(
    t.app.getHttpServer(),
    { project_path: repo, setup_command: setupCommand },
    description,
  );

/** Waits for task `id` to end: its final status and its details. */
async function finished(id: string) {
  const server = t.app.getHttpServer();
  const { final } = await waitForTerminal(server, id);
  return { id, final, details: await getDetails(server, id) };
}

/** Creates a task as `startTask` does and waits for its end. */
const runTask = async (repo: string, description: string, setupCommand: string | null = null) =>
  finished(await startTask(repo, description, setupCommand));

/** POSTs a task in session `sessionId` that adds a file and tests it; supertest's request. */
const postTask = (sessionId: string) =>
  request(t.app.getHttpServer())
    .post('/api/v1/tasks')
    .send({
      session_id: sessionId,
      description: `Add a file. ${fakeScript(shellCommands('echo later > later.txt'), 'write-tests lang=node result=pass')}`,
    });

/** The 409 that refuses a new task on the repository that failed task `failed` on `files`. */
function expectQuarantined(res: request.Response, failed: string, files: string[]): void {
  expect(res.body).toMatchObject({
    code: 'git_config_changed',
    details: { files, failed_task: failed },
  });
  expect(res.body.message).toContain(`delete task ${failed} to accept`);
}

/**
 * POSTs an empty body to `path` on `server`, expecting 409 `git_config_changed` whose details
 * hold `details`; the answer's body.
 */
async function refusedPost(server: App, path: string, details: Record<string, unknown>) {
  const res = await request(server).post(path).send({}).expect(409);
  expect(res.body).toMatchObject({ code: 'git_config_changed', details });
  return res.body as { message: string };
}

/** Merges task `id` into the branch it started from; the answer's body. */
async function merge(id: string) {
  const res = await request(t.app.getHttpServer())
    .post(`/api/v1/tasks/${id}/merge`)
    .send({})
    .expect(200);
  return res.body as { merge_commit: string; target_branch: string };
}

/** The `error` record that ended a task `git_config_changed`. */
function refusal(details: Awaited<ReturnType<typeof runTask>>['details']) {
  return details.interactions.find(
    (i) => i.kind === 'error' && i.data?.reason === 'git_config_changed',
  );
}

/**
 * The task of `run` ended FAILED `git_config_changed` naming `files`, the `marker` its filter or
 * hook would have made was never made, and nothing was committed through it (its branch is where
 * it started).
 */
function expectRefusedUnrun(
  run: Awaited<ReturnType<typeof runTask>>,
  repo: string,
  files: string[],
  marker: string,
): void {
  expect(run.final.status).toBe('FAILED');
  expect(run.final.status_reason).toBe('git_config_changed');
  expect(refusal(run.details)?.data?.files).toEqual(files);
  expect(existsSync(marker)).toBe(false);
  expect(git(repo, 'rev-parse', run.details.branch!).trim()).toBe(run.details.base_commit);
}

/**
 * A task in a copy of the node fixture named `name` whose agent runs `commands(marker)` (which set
 * up something that makes `marker` when it runs), then writes passing tests; run to its end and
 * checked to be refused naming `files`, with `marker` never made: the repository and the run.
 */
async function refusedAttack(
  name: string,
  commands: (marker: string) => string[],
  files: string[],
) {
  const repo = copyFixtureProject('node-basic', workdir.root(), name);
  const marker = join(workdir.root(), `${name}-ran`);
  const run = await runTask(
    repo,
    `Add a file. ${fakeScript(shellCommands(...commands(marker)), 'write-tests lang=node result=pass')}`,
  );
  expectRefusedUnrun(run, repo, files, marker);
  return { repo, run };
}

/**
 * In a copy of the node fixture named `name`, a task that completes, then one whose agent sets a
 * `kind` filter for every file (`filterEveryFile`) and fails `git_config_changed`: the
 * repository, the completed task's run and the filter's marker.
 */
async function completedThenFiltered(name: string, kind: 'clean' | 'smudge') {
  const repo = copyFixtureProject('node-basic', workdir.root(), name);
  const completed = await runTask(
    repo,
    `Add a file. ${fakeScript(
      shellCommands('echo reviewed > reviewed.txt'),
      'write-tests lang=node result=pass',
    )}`,
  );
  expect(completed.final.status).toBe('COMPLETED');
  const marker = join(workdir.root(), `${name}-ran`);
  const filtering = await runTask(
    repo,
    `Configure git. ${fakeScript(
      shellCommands(...filterEveryFile(kind, marker)),
      'write-tests lang=node result=pass',
    )}`,
  );
  expect(filtering.final.status_reason).toBe('git_config_changed');
  return { repo, completed, marker };
}

describe("An agent that writes the repository's shared git configuration", () => {
  it("sets a clean filter: the task does not complete, and the server's git add never runs it", async () => {
    const { run } = await refusedAttack('clean-filter', cleanFilter, ['config']);
    expect(run.final.error_message).toContain('config');
  });

  it('sets a clean filter: its retry is refused 409 git_config_changed until the filter is gone from the configuration', async () => {
    const server = t.app.getHttpServer();
    const { repo, run } = await refusedAttack('retry-after-filter', cleanFilter, ['config']);
    const refused = await refusedPost(server, `/api/v1/tasks/${run.id}/retry`, {
      files: ['config'],
    });
    expect(refused.message).toContain('a retry would start from it');
    git(repo, 'config', '--remove-section', 'filter.cta');
    const retried = await request(server)
      .post(`/api/v1/tasks/${run.id}/retry`)
      .send({})
      .expect(201);
    expect(retried.body.retry_of).toBe(run.id);
  });

  it('sets a clean filter: a new task on the repository is refused 409 git_config_changed, naming the failed task, until the filter is gone', async () => {
    const { repo, run } = await refusedAttack('new-task-after-filter', cleanFilter, ['config']);
    const refused = await postTask(run.details.session_id).expect(409);
    expectQuarantined(refused, run.id, ['config']);
    git(repo, 'config', '--remove-section', 'filter.cta');
    const created = await postTask(run.details.session_id).expect(201);
    expect((await finished(created.body.id)).final.status).toBe('COMPLETED');
  });

  it("sets a clean filter: once it is undone and the failed task's workspace is removed, the user's own later settings refuse no new task", async () => {
    const { repo, run } = await refusedAttack('undone-then-removed', cleanFilter, ['config']);
    git(repo, 'config', '--remove-section', 'filter.cta');
    const failed = await t.dataSource.getRepository(Task).findOneByOrFail({ id: run.id });
    await t.app.get(TaskWorkspaceCleanup).retire(failed, 'retention');
    expect(existsSync(run.details.workspace_path!)).toBe(false);
    // What `git remote add` and `git push -u` write, now that its copies of the file are gone.
    git(repo, 'remote', 'add', 'origin2', 'https://example.com/repo.git');
    git(repo, 'config', 'branch.feature.remote', 'origin2');
    const created = await postTask(run.details.session_id).expect(201);
    expect((await finished(created.body.id)).final.status).toBe('COMPLETED');
  });

  it('sets a clean filter: deleting the failed task accepts the configuration, and a new task is taken', async () => {
    const { run } = await refusedAttack('accepted-filter', cleanFilter, ['config']);
    expectQuarantined(await postTask(run.details.session_id).expect(409), run.id, ['config']);
    await request(t.app.getHttpServer()).delete(`/api/v1/tasks/${run.id}`).expect(204);
    const created = await postTask(run.details.session_id).expect(201);
    expect((await finished(created.body.id)).final.status).toBe('COMPLETED');
  });

  it('sets a smudge filter: a task created while it ran fails git_config_changed before its workspace is checked out through it', async () => {
    const repo = copyFixtureProject('node-basic', workdir.root(), 'queued-behind-filter');
    const marker = join(workdir.root(), 'queued-behind-filter-ran');
    const go = join(workdir.root(), 'queued-behind-filter-go');
    const first = await startTask(
      repo,
      `Configure git. ${fakeScript(
        shellCommands(
          `for i in $(seq 1200); do [ -f ${go} ] && break; sleep 0.1; done`,
          ...filterEveryFile('smudge', marker),
          'echo agent > agent.txt',
        ),
        'write-tests lang=node result=pass',
      )}`,
    );
    const queued = await postTask((await getDetails(t.app.getHttpServer(), first)).session_id)
      .expect(201)
      .then((res) => res.body.id as string);
    writeFileSync(go, '');
    expect((await finished(first)).final.status_reason).toBe('git_config_changed');
    const second = await finished(queued);
    expect(second.final.status).toBe('FAILED');
    expect(second.final.status_reason).toBe('git_config_changed');
    expect(refusal(second.details)?.data).toEqual({
      reason: 'git_config_changed',
      files: ['config', 'info/attributes'],
      failed_task: first,
    });
    expect(second.details.workspace_path).toBeNull();
    expect(existsSync(marker)).toBe(false);
  });

  it('sets a clean filter from the tests it wrote, during the test round: the commit is refused, and its git add never runs it', async () => {
    const repo = copyFixtureProject('node-basic', workdir.root(), 'filter-in-tests');
    const marker = join(workdir.root(), 'filter-in-tests-ran');
    const testFile = [
      "const { execSync } = require('node:child_process');",
      `execSync(${JSON.stringify(`git config filter.cta.clean 'touch ${marker}; cat'`)});`,
      `execSync(${JSON.stringify(`printf 'agent.txt filter=cta\\n' > ${COMMON}/info/attributes`)});`,
      "require('node:test')('configures git', () => {});",
      '',
    ].join('\n');
    const run = await runTask(
      repo,
      `Add a file. ${fakeScript(editFiles(['agent.txt', 'agent\n'], ['test/config.test.js', testFile]))}`,
    );
    expect(run.details.interactions.some((i) => i.kind === 'test')).toBe(true);
    expectRefusedUnrun(run, repo, ['config', 'info/attributes'], marker);
  });

  it('sets an upstream and a remote, and a clean filter in the same change: the task does not complete, and the filter never runs', async () => {
    await refusedAttack(
      'filter-with-upstream',
      (marker) => [
        'git config branch.feature.remote origin',
        'git config remote.origin.url https://example.com/repo.git',
        ...cleanFilter(marker),
      ],
      ['config'],
    );
  });

  it('drops a hook and sets core.hooksPath: the task does not complete, naming both', async () => {
    const { run } = await refusedAttack(
      'hooks',
      (marker) => [
        `printf '#!/bin/sh\\ntouch ${marker}\\n' > ${COMMON}/hooks/post-merge && chmod +x ${COMMON}/hooks/post-merge`,
        `git config core.hooksPath ${workdir.root()}`,
        'echo agent > agent.txt',
      ],
      ['config', 'hooks/post-merge'],
    );
    expect(refusal(run.details)?.content).toContain('hooks/post-merge');
  });

  it("sets a smudge filter after another task completed: that task's merge is refused, and nothing runs it", async () => {
    const server = t.app.getHttpServer();
    const { repo, completed, marker } = await completedThenFiltered('smudge-filter', 'smudge');
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const refused = await refusedPost(server, `/api/v1/tasks/${completed.id}/merge`, {
      files: ['config', 'info/attributes'],
    });
    expect(refused.message).toContain('info/attributes');
    // Neither the user's branch nor their checkout moved, and the filter never ran.
    expect(git(repo, 'rev-parse', 'HEAD').trim()).toBe(head);
    expect(existsSync(join(repo, 'reviewed.txt'))).toBe(false);
    expect(existsSync(marker)).toBe(false);
    const task = await getDetails(server, completed.id);
    expect(task.merged_at).toBeNull();
  });

  it("sets a clean filter for every file: another task's workspace, left behind when that task is deleted, is not committed through it", async () => {
    const { repo, completed, marker } = await completedThenFiltered('leftover', 'clean');
    // The second task's own look for test files ran the filter in its workspace: a `git status`
    // run as its agent's child is (same user, same sandbox), not the server's git.
    rmSync(marker, { force: true });
    const workspace = completed.details.workspace_path!;
    writeFileSync(join(workspace, 'notes.txt'), 'written after the task ended\n');
    await request(t.app.getHttpServer()).delete(`/api/v1/tasks/${completed.id}`).expect(204);
    // Its removal was refused; the sweep finds the workspace without a task and removes it so.
    expect(existsSync(workspace)).toBe(true);
    await expect(t.app.get(TaskWorkspaceCleanup).retireLeftover(completed.id)).rejects.toThrow(
      GitConfigChangedError,
    );
    expect(existsSync(workspace)).toBe(true);
    expect(existsSync(marker)).toBe(false);
    expect(git(repo, 'rev-parse', completed.details.branch!).trim()).toBe(
      completed.details.head_commit,
    );
  });
});

describe('Two tasks of one repository at once', () => {
  let both: TestApp;

  beforeAll(async () => {
    both = await appRunning(2);
  });

  afterAll(async () => {
    await both?.close();
  });

  /** Shell commands that make `file`, then wait until `until` exists. */
  const signalThenWait = (file: string, until: string): string[] => [
    `touch ${file}`,
    `for i in $(seq 1200); do [ -f ${until} ] && break; sleep 0.1; done`,
  ];

  /**
   * In a copy of the node fixture named `name`, a task whose agent sets a `kind` filter for every
   * file and then waits for the file `go` (`file('go')`), and, once the filter is set, a second
   * task in its session whose agent runs `commands` and writes passing tests: the repository, the
   * files' paths by name, and both tasks' ids.
   */
  async function filterBeside(name: string, kind: 'clean' | 'smudge', commands: string[]) {
    const server = both.app.getHttpServer();
    const repo = copyFixtureProject('node-basic', workdir.root(), name);
    const file = (what: string): string => join(workdir.root(), `${name}-${what}`);
    const first = await createSessionTask(
      server,
      { project_path: repo },
      `Configure git. ${fakeScript(
        shellCommands(
          ...filterEveryFile(kind, file('ran')),
          ...signalThenWait(file('set'), file('go')),
        ),
        'write-tests lang=node result=pass',
      )}`,
    );
    await eventually('the filter set', () => existsSync(file('set')));
    const created = await request(server)
      .post('/api/v1/tasks')
      .send({
        session_id: (await getDetails(server, first)).session_id,
        description: `Add a file. ${fakeScript(shellCommands(...commands), 'write-tests lang=node result=pass')}`,
      })
      .expect(201);
    return { server, repo, file, first, second: created.body.id as string };
  }

  it("one task's agent sets a clean filter for every file before the other's workspace is ready: once the first failed on it, the other commits nothing through it", async () => {
    const working = join(workdir.root(), 'side-by-side-working');
    const done = join(workdir.root(), 'side-by-side-done');
    const { server, repo, file, first, second } = await filterBeside('side-by-side', 'clean', [
      ...signalThenWait(working, done),
      'echo b > b.txt',
    ]);
    // Its workspace was ready for its agent, with the filter in it.
    await eventually("the second task's agent under way", () => existsSync(working));
    writeFileSync(file('go'), '');
    expect((await waitForTerminal(server, first)).final.status_reason).toBe('git_config_changed');
    writeFileSync(done, '');
    const { final } = await waitForTerminal(server, second);
    const details = await getDetails(server, second);
    expect(final.status).toBe('FAILED');
    expect(final.status_reason).toBe('git_config_changed');
    expect(refusal(details)?.data).toMatchObject({ failed_task: first });
    expect(git(repo, 'rev-parse', details.branch!).trim()).toBe(details.base_commit);
  });

  it("one task's agent sets a smudge filter for every file, and the other completes before the first failed on it: its merge and the removal of its workspace are refused", async () => {
    const { server, repo, file, first, second } = await filterBeside('completed-beside', 'smudge', [
      'echo b > b.txt',
    ]);
    expect((await waitForTerminal(server, second)).final.status).toBe('COMPLETED');
    // Its checkout ran the filter: nothing had found the change yet (the first task's run finds it
    // at its test round, below).
    rmSync(file('ran'), { force: true });
    writeFileSync(file('go'), '');
    expect((await waitForTerminal(server, first)).final.status_reason).toBe('git_config_changed');
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    await refusedPost(server, `/api/v1/tasks/${second}/merge`, {
      files: ['config', 'info/attributes'],
      failed_task: first,
    });
    const completed = await both.dataSource.getRepository(Task).findOneByOrFail({ id: second });
    const cleanup = both.app.get(TaskWorkspaceCleanup);
    await expect(cleanup.retire(completed, 'retention')).rejects.toThrow(GitConfigChangedError);
    // Deleted, its workspace is left for the sweep, which is refused the same.
    await request(server).delete(`/api/v1/tasks/${second}`).expect(204);
    await expect(cleanup.retireLeftover(second)).rejects.toThrow(GitConfigChangedError);
    expect(existsSync(completed.workspacePath!)).toBe(true);
    expect(git(repo, 'rev-parse', 'HEAD').trim()).toBe(head);
    expect(existsSync(file('ran'))).toBe(false);
  });
});

describe("The user's own git configuration beside a running task", () => {
  it('a branch checked out with its upstream, a remote added with a token, the base branch moved to it, while the agent works: the task completes and its merge goes ahead', async () => {
    const repo = copyFixtureProject('node-basic', workdir.root(), 'user-beside');
    const target = git(repo, 'symbolic-ref', '--short', 'HEAD').trim();
    const working = join(workdir.root(), 'user-beside-working');
    const done = join(workdir.root(), 'user-beside-done');
    const id = await startTask(
      repo,
      `Add a file. ${fakeScript(
        shellCommands(
          `touch ${working}`,
          `for i in $(seq 1200); do [ -f ${done} ] && break; sleep 0.1; done`,
          'echo agent > agent.txt',
        ),
        'write-tests lang=node result=pass',
      )}`,
    );
    await eventually("the agent's first turn under way", () => existsSync(working));
    // What `git checkout -b feature origin2/feature`, `git remote add` and `git push -u` write.
    git(repo, 'remote', 'add', 'origin2', 'https://user:token@example.com/repo.git');
    git(repo, 'update-ref', 'refs/remotes/origin2/feature', 'HEAD');
    git(repo, 'checkout', '-q', '-b', 'feature');
    git(repo, 'branch', '--set-upstream-to=origin2/feature');
    git(repo, 'config', `branch.${target}.remote`, 'origin2');
    git(repo, 'config', `branch.${target}.merge`, `refs/heads/${target}`);
    git(repo, 'config', 'user.email', 'someone@example.com');
    writeFileSync(done, '');
    const { final, details } = await finished(id);
    expect(final.status).toBe('COMPLETED');
    expect(git(repo, 'config', 'branch.feature.remote').trim()).toBe('origin2');
    const merged = await merge(id);
    expect(merged.target_branch).toBe(target);
    expect(git(repo, 'rev-parse', target).trim()).toBe(merged.merge_commit);
    expect(git(repo, 'show', `${target}:agent.txt`)).toBe('agent\n');
    expect(details.head_commit).not.toBeNull();
  });

  it('the setup command sets core.hooksPath (husky, as `npm ci` installs it) before the first turn: the task completes and its merge goes ahead', async () => {
    const repo = copyFixtureProject('node-basic', workdir.root(), 'setup-hooks-path');
    const target = git(repo, 'symbolic-ref', '--short', 'HEAD').trim();
    const { id, final, details } = await runTask(
      repo,
      `Add a file. ${fakeScript(
        shellCommands('echo agent > agent.txt'),
        'write-tests lang=node result=pass',
      )}`,
      'node -e \'require("child_process").execFileSync("git", ["config", "core.hooksPath", ".husky/_"])\'',
    );
    expect(details.interactions.find((i) => i.kind === 'setup')?.data).toMatchObject({
      passed: true,
    });
    expect(final.status).toBe('COMPLETED');
    expect(git(repo, 'config', 'core.hooksPath').trim()).toBe('.husky/_');
    const merged = await merge(id);
    expect(git(repo, 'show', `${merged.merge_commit}:agent.txt`)).toBe('agent\n');
    expect(merged.target_branch).toBe(target);
  });

  it("the project's regression suite writes the git configuration itself, at the baseline before the first turn and again in the round: the task completes", async () => {
    const repo = copyFixtureProject('node-basic', workdir.root(), 'regression-config');
    const id = await createSessionTask(
      t.app.getHttpServer(),
      {
        project_path: repo,
        regression_command: `node -e 'require("child_process").execFileSync("git", ["config", "core.hooksPath", ".githooks"])'`,
      },
      `Add a file. ${fakeScript(
        shellCommands('echo agent > agent.txt'),
        'write-tests lang=node result=pass',
      )}`,
    );
    const { final, details } = await finished(id);
    expect(final.status).toBe('COMPLETED');
    expect(git(repo, 'config', 'core.hooksPath').trim()).toBe('.githooks');
    expect(git(repo, 'show', `${details.head_commit}:agent.txt`)).toBe('agent\n');
  });
});
