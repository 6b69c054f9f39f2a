import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import {
  copyFixtureProject,
  runSessionTask,
  editFiles,
  FAKE_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeScript,
  quoted,
  shellCommands,
} from 'test/e2e/support/task-polling';
import { checkoutFingerprint, git } from 'test/e2e/support/git-repos';

/**
 * THE AGENT'S GIT AND THE USER'S REPOSITORY, end to end: the real AppModule with the orchestrator
 * on, the fake CLI as the agent running real git commands in its workspace (its `shell`
 * scenario), and the tests it wrote run by the server's test round. Whatever they try, the
 * user's branches and the project's remote stay where they were; the task itself goes on.
 */

const workdir = fakeClaudeWorkdir('cta-agent-git-e2e-');
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ env: { ...FAKE_RUNNER_ENV, CLI_INIT_TIMEOUT_SECONDS: '120' } });
});

afterAll(async () => {
  await t?.close();
});

/** A copy of a fixture project with a `release` branch and a bare clone as its `origin`. */
function repositoryWithOrigin(name: string): { repo: string; origin: string } {
  const repo = copyFixtureProject('node-basic', workdir.root(), name);
  git(repo, 'branch', 'release');
  const origin = join(workdir.root(), `${name}-origin.git`);
  git(workdir.root(), 'clone', '-q', '--bare', repo, origin);
  git(repo, 'remote', 'add', 'origin', origin);
  return { repo, origin };
}

/** Every branch of `repo` with its commit, but `except` (a task's own). */
const branches = (repo: string, except = ''): string[] =>
  git(repo, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith(`refs/heads/${except} `));

async function runTask(repo: string, description: string, session: Record<string, unknown> = {}) {
  return runSessionTask(t.app.getHttpServer(), { project_path: repo, ...session }, description);
}

describe("The agent's git, and the tests it wrote, leave the user's branches and remote alone", () => {
  it('the agent pushes nothing: to the repository itself, to its remote, from a clone it made', async () => {
    const { repo, origin } = repositoryWithOrigin('pushing');
    const clone = join(workdir.root(), 'agents-clone');
    const before = { repo: branches(repo), origin: branches(origin) };
    const commands = [
      'git commit -q --allow-empty -m agent-work',
      'git push . +HEAD:refs/heads/release',
      'git push origin +HEAD:refs/heads/main',
      'git push origin HEAD',
      `git clone -q ${repo} ${clone} && git -C ${clone} commit -q --allow-empty -m cloned && git -C ${clone} push origin +HEAD:refs/heads/release`,
    ];
    const { final, details } = await runTask(
      repo,
      `Publish the work. ${fakeScript(
        shellCommands(...commands),
        'write-tests lang=node result=pass',
      )}`,
    );
    expect(final.status).toBe('COMPLETED');
    const refusals = details.interactions.filter(
      (i) => i.kind === 'tool_result' && i.content.includes('may not push from or into'),
    );
    expect(refusals).toHaveLength(4);
    expect(branches(repo, details.branch!)).toEqual(before.repo);
    expect(branches(origin)).toEqual(before.origin);
  });

  /** Node code that tries to move the user's `release` branch with plain git commands. */
  const movesRelease = [
    "const { execSync } = require('node:child_process');",
    "const who = { ...process.env, GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@example.com', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@example.com' };",
    "const commit = execSync('git commit-tree HEAD^{tree} -p HEAD -m evil', { env: who }).toString().trim();",
    "for (const command of ['git update-ref refs/heads/release ' + commit, 'git push . +' + commit + ':refs/heads/release']) {",
    "  try { execSync(command, { stdio: 'inherit' }); } catch { /* refused */ }",
    '}',
    '',
  ].join('\n');

  it('the tests it wrote, run by the test round, move no branch of the user', async () => {
    const { repo } = repositoryWithOrigin('testing');
    const before = branches(repo);
    const testFile = `${movesRelease}require('node:test')('moved nothing', () => {});\n`;
    const { final, details } = await runTask(
      repo,
      `Test with git. ${fakeScript(editFiles(['test/git-moves.test.js', testFile]))}`,
    );
    expect(branches(repo, details.branch!)).toEqual(before);
    expect(final.status).toBe('COMPLETED');
    const round = details.interactions.find((i) => i.kind === 'test');
    expect(round?.content).toContain('may move only its own branch');
    expect(round?.content).toContain('may not push from or into');
  });

  it("nor do they in the verification's scratch checkout of the base commit", async () => {
    const { repo } = repositoryWithOrigin('at-base');
    const before = branches(repo);
    const testFile = `${movesRelease}require('node:test')('moved nothing', () => {});\n`;
    const { details } = await runSessionTask(
      t.app.getHttpServer(),
      { project_path: repo },
      {
        description: `Test with git. ${fakeScript(editFiles(['test/git-moves.test.js', testFile]))}`,
        require_failing_tests: true,
        max_iterations: 2,
      },
    );
    expect(branches(repo, details.branch!)).toEqual(before);
    const atBase = details.interactions.filter(
      (i) => i.kind === 'test' && i.data?.stage === 'generated_at_base',
    );
    expect(atBase.length).toBeGreaterThan(0);
    expect(atBase[0].content).toContain('may move only its own branch');
  });

  it('nor does the regression suite, running what the agent changed', async () => {
    const { repo } = repositoryWithOrigin('regression');
    const before = branches(repo);
    const { final, details } = await runTask(
      repo,
      `Change the check. ${fakeScript(
        editFiles(['check.js', movesRelease]),
        'write-tests lang=node result=pass',
      )}`,
      { regression_command: 'node check.js' },
    );
    expect(branches(repo, details.branch!)).toEqual(before);
    expect(final.status).toBe('COMPLETED');
    const regression = details.interactions.filter(
      (i) => i.kind === 'test' && i.content.includes('may move only its own branch'),
    );
    expect(regression).toHaveLength(1);
  });

  it("pointing its workspace's .git at the user's repository, it gets the server's commit into neither its index nor its branch", async () => {
    const { repo } = repositoryWithOrigin('redirected');
    writeFileSync(join(repo, 'wip.txt'), "the user's staged work\n");
    git(repo, 'add', 'wip.txt');
    const before = { checkout: checkoutFingerprint(repo), branches: branches(repo) };
    const redirect = `printf 'gitdir: %s\\n' ${quoted(join(repo, '.git'))} > .git`;
    const { final, details } = await runTask(
      repo,
      `Redirect. ${fakeScript(
        shellCommands('echo agent > agent.txt', redirect),
        'write-tests lang=node result=pass',
      )}`,
    );
    expect(checkoutFingerprint(repo)).toEqual(before.checkout);
    expect(git(repo, 'diff', '--cached', '--name-only')).toBe('wip.txt\n');
    expect(branches(repo, details.branch!)).toEqual(before.branches);
    expect(final.status).toBe('COMPLETED');
    expect(git(repo, 'show', '--name-only', '--format=', details.head_commit!).split('\n')).toEqual(
      expect.arrayContaining(['agent.txt', 'test/generated.test.js']),
    );
  });
});
