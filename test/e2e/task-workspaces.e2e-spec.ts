import { mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import {
  copyFixtureProject,
  FAKE_CLAUDE,
  fakeInvocations,
  fakeScript,
  getDetails,
  quoted,
  TaskDetails,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { checkoutFingerprint, git, linkedWorktrees } from 'test/e2e/support/git-repos';

/**
 * TASK WORKSPACES end to end: the real AppModule with the orchestrator on, the fake CLI as the
 * agent, in git-initialised copies of the fixture projects. Each task works in its own git
 * worktree and branch; the user's checkout is fingerprinted (every file, `.git/HEAD`,
 * `.git/index`, the checked-out branch) before and after; branches, commits and diffs are read
 * back with git itself.
 */

let root: string;
let logFile: string;
const savedEnv = {
  FAKE_CLAUDE_LOG: process.env.FAKE_CLAUDE_LOG,
  FAKE_CLAUDE_STATE_DIR: process.env.FAKE_CLAUDE_STATE_DIR,
};

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'cta-ws-e2e-')));
  logFile = join(root, 'fake-claude.log');
  process.env.FAKE_CLAUDE_LOG = logFile;
  process.env.FAKE_CLAUDE_STATE_DIR = join(root, 'fake-state');
});

afterAll(() => {
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  if (root) rmSync(root, { recursive: true, force: true });
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

/** Starts an app with the orchestrator on, listening (concurrent polls need a real server). */
async function startApp(extra: Record<string, string> = {}): Promise<{ t: TestApp; server: App }> {
  const t = await createTestApp({ env: orchestratorEnv(extra) });
  await t.app.listen(0, '127.0.0.1');
  const server = (await t.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
  return { t, server };
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
  let t: TestApp;
  let server: App;

  beforeAll(async () => {
    ({ t, server } = await startApp());
  });
  afterAll(async () => {
    await t?.close();
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
});
