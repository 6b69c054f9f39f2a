import { existsSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import {
  copyFixtureProject,
  editFiles,
  FAKE_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeScript,
  getDetails,
  shellCommands,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { git } from 'test/e2e/support/git-repos';

/**
 * THE REPOSITORY'S SHARED GIT CONFIGURATION, end to end: the real AppModule with the orchestrator
 * on, the fake CLI as an agent that is not sandboxed writing the common git directory of the
 * repository its workspace belongs to (a clean or smudge filter, a hook, `core.hooksPath`). The
 * server's git runs nothing through what it wrote: the task does not complete on a commit made
 * through it, and a merge through it is refused; both name the files.
 */

const workdir = fakeClaudeWorkdir('cta-git-config-e2e-');
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ env: { ...FAKE_RUNNER_ENV, CLI_INIT_TIMEOUT_SECONDS: '120' } });
});

afterAll(async () => {
  await t?.close();
});

/** The agent's shell: the repository's common git directory, seen from its workspace. */
const COMMON = '"$(git rev-parse --git-common-dir)"';

async function runTask(repo: string, description: string) {
  const server = t.app.getHttpServer();
  const session = await request(server)
    .post('/api/v1/sessions')
    .send({ project_path: repo })
    .expect(201);
  const task = await request(server)
    .post('/api/v1/tasks')
    .send({ session_id: session.body.id, description })
    .expect(201);
  const id = task.body.id as string;
  const { final } = await waitForTerminal(server, id);
  return { id, final, details: await getDetails(server, id) };
}

/** The `error` record that ended a task `git_config_changed`. */
function refusal(details: Awaited<ReturnType<typeof runTask>>['details']) {
  return details.interactions.find(
    (i) => i.kind === 'error' && i.data?.reason === 'git_config_changed',
  );
}

describe("An agent that writes the repository's shared git configuration", () => {
  it("sets a clean filter: the task does not complete, and the server's git add never runs it", async () => {
    const repo = copyFixtureProject('node-basic', workdir.root(), 'clean-filter');
    const marker = join(workdir.root(), 'clean-filter-ran');
    const { final, details } = await runTask(
      repo,
      `Add a file. ${fakeScript(
        shellCommands(
          `git config filter.cta.clean 'touch ${marker}; cat'`,
          "printf 'agent.txt filter=cta\\n' > .gitattributes",
          'echo agent > agent.txt',
        ),
        'write-tests lang=node result=pass',
      )}`,
    );
    expect(final.status).toBe('FAILED');
    expect(final.status_reason).toBe('git_config_changed');
    expect(final.error_message).toContain('config');
    expect(refusal(details)?.data?.files).toEqual(['config']);
    expect(existsSync(marker)).toBe(false);
    // Nothing was committed through it: the branch is where the task started.
    expect(git(repo, 'rev-parse', details.branch!).trim()).toBe(details.base_commit);
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
    const { final, details } = await runTask(
      repo,
      `Add a file. ${fakeScript(editFiles(['agent.txt', 'agent\n'], ['test/config.test.js', testFile]))}`,
    );
    expect(details.interactions.some((i) => i.kind === 'test')).toBe(true);
    expect(final.status).toBe('FAILED');
    expect(final.status_reason).toBe('git_config_changed');
    expect(refusal(details)?.data?.files).toEqual(['config', 'info/attributes']);
    expect(existsSync(marker)).toBe(false);
    expect(git(repo, 'rev-parse', details.branch!).trim()).toBe(details.base_commit);
  });

  it('drops a hook and sets core.hooksPath: the task does not complete, naming both', async () => {
    const repo = copyFixtureProject('node-basic', workdir.root(), 'hooks');
    const marker = join(workdir.root(), 'hook-ran');
    const { final, details } = await runTask(
      repo,
      `Add a file. ${fakeScript(
        shellCommands(
          `printf '#!/bin/sh\\ntouch ${marker}\\n' > ${COMMON}/hooks/post-merge && chmod +x ${COMMON}/hooks/post-merge`,
          `git config core.hooksPath ${workdir.root()}`,
          'echo agent > agent.txt',
        ),
        'write-tests lang=node result=pass',
      )}`,
    );
    expect(final.status).toBe('FAILED');
    expect(final.status_reason).toBe('git_config_changed');
    expect(refusal(details)?.data?.files).toEqual(['config', 'hooks/post-merge']);
    expect(refusal(details)?.content).toContain('hooks/post-merge');
    expect(existsSync(marker)).toBe(false);
  });

  it("sets a smudge filter after another task completed: that task's merge is refused, and nothing runs it", async () => {
    const repo = copyFixtureProject('node-basic', workdir.root(), 'smudge-filter');
    const server = t.app.getHttpServer();
    const completed = await runTask(
      repo,
      `Add a file. ${fakeScript(
        shellCommands('echo reviewed > reviewed.txt'),
        'write-tests lang=node result=pass',
      )}`,
    );
    expect(completed.final.status).toBe('COMPLETED');
    const marker = join(workdir.root(), 'smudge-filter-ran');
    const poisoning = await runTask(
      repo,
      `Configure git. ${fakeScript(
        shellCommands(
          `git config filter.cta.smudge 'touch ${marker}; cat'`,
          `printf '* filter=cta\\n' > ${COMMON}/info/attributes`,
        ),
        'write-tests lang=node result=pass',
      )}`,
    );
    expect(poisoning.final.status_reason).toBe('git_config_changed');
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const refused = await request(server)
      .post(`/api/v1/tasks/${completed.id}/merge`)
      .send({})
      .expect(409);
    expect(refused.body).toMatchObject({
      code: 'git_config_changed',
      details: { files: ['config', 'info/attributes'] },
    });
    expect(refused.body.message).toContain('info/attributes');
    // Neither the user's branch nor their checkout moved, and the filter never ran.
    expect(git(repo, 'rev-parse', 'HEAD').trim()).toBe(head);
    expect(existsSync(join(repo, 'reviewed.txt'))).toBe(false);
    expect(existsSync(marker)).toBe(false);
    const task = await getDetails(server, completed.id);
    expect(task.merged_at).toBeNull();
  });
});
