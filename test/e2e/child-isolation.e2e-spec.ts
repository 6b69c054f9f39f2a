import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { copyFixtureProject, FAKE_CLAUDE, fakeScript } from 'test/e2e/support/task-polling';
import { eventually } from 'test/e2e/support/eventually';
import {
  killServer,
  listeningUrl,
  RUNS_AS_ROOT,
  ServerRun,
  startServer,
} from 'test/e2e/support/server-process';
import {
  createMysqlDatabase,
  describeMysql,
  TEST_MYSQL_URL,
  TestDatabase,
} from 'test/e2e/support/test-database';

/**
 * CHILDREN CANNOT READ THE SERVER'S SECRETS. The built server runs as a process with its database
 * password in its environment (DATABASE_URL, the worst case) and a secret in its `.env`; a hostile
 * fake agent (`probe-secrets`) reads every /proc/<pid>/environ and cmdline it can open, the
 * server's `.env` and the server's own /proc entries, and writes all it saw into the project.
 *
 * - Without isolation (the control) it finds the password: the threat is real.
 * - Run as another user (RUN_AS_USER, needs a server started as root) it finds nothing.
 * - In the bubblewrap sandbox (SANDBOX=bwrap, even as root) it finds nothing.
 *
 * Where this machine cannot show one of them (not root; no working bwrap), that suite says so
 * and is skipped, or fails with REQUIRE_ISOLATION=1 (as CI runs it).
 */

const REQUIRE = process.env.REQUIRE_ISOLATION === '1';

const GIT_AUTHOR = {
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.com',
};

function bwrapProblem(): string | null {
  const result = spawnSync(
    'bwrap',
    ['--unshare-all', '--share-net', '--ro-bind', '/', '/', '--proc', '/proc', '--', 'true'],
    { encoding: 'utf8', timeout: 10_000 },
  );
  if (result.error) return `bwrap cannot run (${result.error.message}); apt-get install bubblewrap`;
  return result.status === 0 ? null : `bwrap fails here: ${result.stderr.trim()}`;
}

/** `describe` that runs only when `problem` is null; otherwise skipped visibly (or failed). */
function describeWhen(problem: string | null, name: string, body: () => void): void {
  if (problem === null) {
    describe(name, body);
  } else if (REQUIRE) {
    describe(name, () => {
      it('can run here (REQUIRE_ISOLATION=1)', () => {
        throw new Error(`${name} cannot run: ${problem}`);
      });
    });
  } else {
    console.warn(`${name} skipped: ${problem}`);
    describe.skip(name, body);
  }
}

interface ProbeReport {
  uid: number;
  procs: number;
  environs: number;
  ownEnviron: boolean;
  errors: Record<string, number>;
  files: Record<string, string>;
  seen: string[];
}

type Mode = 'none' | 'user' | 'sandbox';

/** The descriptor number the server is started with its own directory open as. */
const HELD_FD = 40;

/** A connection to the test MySQL server as its administrator (to create and drop a user). */
function mysqlAdmin(): ReturnType<typeof createConnection> {
  const server = new URL(TEST_MYSQL_URL);
  return createConnection({
    host: server.hostname,
    port: Number(server.port || 3306),
    user: decodeURIComponent(server.username) || 'root',
    password: decodeURIComponent(server.password),
  });
}

describeMysql('children and the server secrets', () => {
  let db: TestDatabase;
  let user: string;
  let password: string;
  let databaseUrl: string;
  const metricsToken = `metrics-${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    db = await createMysqlDatabase();
    user = `cta_iso_${randomBytes(4).toString('hex')}`;
    password = `pw-${randomBytes(16).toString('hex')}`;
    const admin = await mysqlAdmin();
    const name = new URL(db.url).pathname.slice(1);
    try {
      await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
      await admin.query(`GRANT ALL ON \`${name}\`.* TO '${user}'@'%'`);
    } finally {
      await admin.end();
    }
    const url = new URL(db.url);
    url.username = user;
    url.password = password;
    databaseUrl = url.toString();
  });

  afterAll(async () => {
    const admin = await mysqlAdmin();
    try {
      await admin.query(`DROP USER IF EXISTS '${user}'@'%'`);
    } finally {
      await admin.end();
    }
    await db?.drop();
  });

  /**
   * A copy of the fake CLI that RUN_AS_USER can run: the checkout may lie in a directory only its
   * owner can enter (a clone made in `mktemp -d`).
   */
  function fakeCliForAnyone(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cta-fake-cli-'));
    fs.chmodSync(dir, 0o755);
    const file = path.join(dir, 'claude');
    fs.copyFileSync(FAKE_CLAUDE, file);
    fs.chmodSync(file, 0o755);
    return file;
  }

  /** The built server's environment for running tasks with the fake CLI on the test database. */
  const serverEnv = (): Record<string, string> => ({
    PORT: '0',
    DATABASE_URL: databaseUrl,
    ORCHESTRATOR_ENABLED: 'true',
    QUEUE_POLL_MS: '100',
    KILL_GRACE_SECONDS: '1',
    CLAUDE_CLI_COMMAND: FAKE_CLAUDE,
    CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
    // Relative: inside the agent's working directory, the one place every mode lets it write.
    FAKE_CLAUDE_STATE_DIR: '.fake-state',
  });

  /** Runs one probing task on a server in `mode`; returns what the agent saw and the server run. */
  async function probe(
    mode: Mode,
  ): Promise<{ report: ProbeReport; run: ServerRun; cwd: string; workspace: string }> {
    const cwd = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `cta-iso-${mode}-`)));
    fs.chmodSync(cwd, 0o755);
    fs.writeFileSync(path.join(cwd, '.env'), `METRICS_TOKEN=${metricsToken}\n`, { mode: 0o600 });
    const projects = path.join(cwd, 'projects');
    fs.mkdirSync(projects, { mode: 0o755 });
    const project = copyFixtureProject('node-basic', projects, 'app');
    if (mode === 'user') spawnSync('chown', ['-R', 'nobody:', project]);
    // The server's directory, open in it as a descriptor its starter forgot to close.
    const held = fs.openSync(cwd, 'r');
    const run = startServer(
      cwd,
      {
        ...serverEnv(),
        CLAUDE_CLI_COMMAND: mode === 'user' ? fakeCliForAnyone() : FAKE_CLAUDE,
        ...(mode === 'user' ? { RUN_AS_USER: 'nobody' } : { ALLOW_ROOT: 'true' }),
        ...(mode === 'sandbox' ? { SANDBOX: 'bwrap' } : {}),
      },
      { [HELD_FD]: held },
    );
    fs.closeSync(held);
    try {
      const url = await listeningUrl(run);
      const serverPid = run.child.pid!;
      const post = async (route: string, body: unknown) => {
        const res = await fetch(`${url}${route}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        return (await res.json()) as { id: string };
      };
      const session = await post('/api/v1/sessions', { project_path: project });
      const reads = [
        path.join(cwd, '.env'),
        `/proc/${serverPid}/environ`,
        `/proc/${serverPid}/cmdline`,
        `/proc/${serverPid}/cwd/.env`,
        `/proc/self/fd/${HELD_FD}/.env`,
      ].map((p) => `read=${p}`);
      const task = await post('/api/v1/tasks', {
        session_id: session.id,
        description: `Look around. ${fakeScript(`probe-secrets ${reads.join(' ')}`, 'write-tests lang=node')}`,
      });
      let status: { status: string; status_reason: string; error_message: string | null } = {
        status: '',
        status_reason: '',
        error_message: null,
      };
      await eventually('the probing task to end', async () => {
        const res = await fetch(`${url}/api/v1/tasks/${task.id}/status`);
        status = (await res.json()) as typeof status;
        return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(status.status);
      });
      expect(status).toMatchObject({ status: 'COMPLETED', error_message: null });
      // The agent worked in the task's workspace (a git worktree of the project, owned by the
      // children's user when there is one).
      const details = (await (await fetch(`${url}/api/v1/tasks/${task.id}`)).json()) as {
        workspace_path: string | null;
      };
      expect(details.workspace_path).not.toBeNull();
      const report = JSON.parse(
        fs.readFileSync(path.join(details.workspace_path!, 'probe-report.json'), 'utf8'),
      ) as ProbeReport;
      run.child.kill('SIGTERM');
      await run.exited;
      return { report, run, cwd, workspace: details.workspace_path! };
    } finally {
      killServer(run);
    }
  }

  /** The probe worked (it could read what it is allowed to) and found none of the secrets. */
  function expectNothingFound(report: ProbeReport, run: ServerRun): void {
    expect(report.ownEnviron).toBe(true);
    expect(report.environs).toBeGreaterThanOrEqual(1);
    const seen = JSON.stringify(report);
    expect(seen).not.toContain(password);
    expect(seen).not.toContain(metricsToken);
    expect(seen).not.toContain('DATABASE_URL=');
    expect(run.stdout() + run.stderr()).not.toContain(password);
    // Isolated children still reach the API on loopback, where no key is asked: said at start.
    expect(run.stdout()).toMatch(/"level":"warn".*reach this server's API on loopback/);
  }

  it('without isolation the agent reads the password from the server environment (the threat)', async () => {
    const { report, run } = await probe('none');
    expect(report.ownEnviron).toBe(true);
    expect(JSON.stringify(report)).toContain(password);
    expect(run.stdout() + run.stderr()).not.toContain(password);
  });

  describeWhen(
    RUNS_AS_ROOT ? null : 'RUN_AS_USER needs the test to run as root',
    'run as another user (RUN_AS_USER=nobody)',
    () => {
      it('the agent and its tests run as that user and read no secret: not in /proc, not in .env', async () => {
        const { report, run, cwd, workspace } = await probe('user');
        expectNothingFound(report, run);
        expect(report.uid).toBe(65534);
        expect(report.files[path.join(cwd, '.env')]).toBe('EACCES');
        expect(report.files[`/proc/${run.child.pid}/environ`]).toBe('EACCES');
        expect(report.errors.EACCES).toBeGreaterThan(0);
        expect(fs.statSync(path.join(workspace, 'test', 'generated.test.js')).uid).toBe(65534);
        expect(fs.statSync(path.join(workspace, 'probe-report.json')).uid).toBe(65534);
      });

      it("refuses a session in a repository that user does not own, as that user's git would", async () => {
        const cwd = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cta-iso-owner-')));
        fs.chmodSync(cwd, 0o755);
        const project = copyFixtureProject('node-basic', cwd, 'roots');
        const run = startServer(cwd, { ...serverEnv(), RUN_AS_USER: 'nobody' });
        try {
          const res = await fetch(`${await listeningUrl(run)}/api/v1/sessions`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ project_path: project, isolation: 'worktree' }),
          });
          expect(res.status).toBe(400);
          expect(((await res.json()) as { message: string }).message).toContain(
            `${project} is not inside a git work tree that RUN_AS_USER nobody may use`,
          );
        } finally {
          killServer(run);
          fs.rmSync(cwd, { recursive: true, force: true });
        }
      });
    },
  );

  describeWhen(bwrapProblem(), 'sandboxed (SANDBOX=bwrap)', () => {
    it('the agent sees no server process and no server file, even as root', async () => {
      const { report, run, cwd } = await probe('sandbox');
      expectNothingFound(report, run);
      expect(report.uid).toBe(0);
      expect(report.procs).toBeLessThan(10);
      // The server's directory is an empty tmpfs in the sandbox, its secret files masked.
      expect(['ENOENT', 'EACCES']).toContain(report.files[path.join(cwd, '.env')]);
      expect(report.files[`/proc/${run.child.pid}/environ`]).toBe('ENOENT');
      // The descriptor the server was started with is not handed on to its children: closed, said.
      expect(report.files[`/proc/self/fd/${HELD_FD}/.env`]).toBe('ENOENT');
      expect(run.stdout()).toMatch(new RegExp(`closed descriptor\\(s\\) [\\d, ]*\\b${HELD_FD}\\b`));
    });

    it.each([
      ["set up there by the session's setup command, in the sandbox", 'setup'],
      [
        "reading the workspace's installed dependencies (the agent's), hidden from the sandbox otherwise",
        'agent',
      ],
    ] as const)("the base commit's run of the generated tests: %s", async (_how, installer) => {
      const cwd = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cta-iso-deps-')));
      const project = path.join(cwd, 'projects', 'app');
      const files: Record<string, string> = {
        '.gitignore': 'node_modules/\n',
        'package.json': '{"name":"app","private":true}\n',
        'src/math.js': "'use strict';\nexports.add = (a, b) => a + b;\n",
      };
      for (const [rel, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(project, rel)), { recursive: true });
        fs.writeFileSync(path.join(project, rel), content);
      }
      for (const args of [
        ['init', '-q'],
        ['add', '-A'],
        ['commit', '-q', '-m', 'base'],
      ]) {
        spawnSync('git', args, { cwd: project, env: { ...process.env, ...GIT_AUTHOR } });
      }
      const run = startServer(cwd, {
        ...serverEnv(),
        ALLOW_ROOT: 'true',
        SANDBOX: 'bwrap',
        REQUIRE_FAILING_TESTS: 'true',
      });
      try {
        const url = await listeningUrl(run);
        const post = async (route: string, body: unknown) =>
          (await (
            await fetch(`${url}${route}`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify(body),
            })
          ).json()) as { id: string };
        const install =
          "require('fs').mkdirSync('node_modules/dep', { recursive: true }); " +
          "require('fs').writeFileSync('node_modules/dep/index.js', 'exports.three = 3;')";
        const session = await post('/api/v1/sessions', {
          project_path: project,
          ...(installer === 'setup' ? { setup_command: `node -e "${install}"` } : {}),
        });
        const depTest = (body: string) =>
          `'use strict';\nconst test = require('node:test');\nconst assert = require('node:assert');\nconst { three } = require("dep");\nconst math = require('../src/math');\n${body}\n`;
        const edit = (rel: string, content: string) =>
          `edit-files path=${rel} content=${JSON.stringify(content)}`;
        const task = await post('/api/v1/tasks', {
          session_id: session.id,
          max_iterations: 3,
          description: `Add multiply. ${fakeScript(
            `${edit('src/math.js', `${files['src/math.js']}exports.multiply = (a, b) => a * b;\n`)} path=test/dep.test.js content=${JSON.stringify(depTest("test('adds', () => assert.strictEqual(math.add(three, 1), 4));"))}`,
            installer === 'setup'
              ? 'success'
              : `shell command=${JSON.stringify(`node -e "${install}"`)}`,
            edit(
              'test/dep.test.js',
              depTest("test('multiplies', () => assert.strictEqual(math.multiply(three, 4), 12));"),
            ),
          )}`,
        });
        let status = { status: '', status_reason: '' };
        await eventually('the task to end', async () => {
          status = (await (
            await fetch(`${url}/api/v1/tasks/${task.id}/status`)
          ).json()) as typeof status;
          return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(status.status);
        });
        // A library the agent installed by hand is one no commit holds: named, never verified.
        expect(status).toMatchObject({
          status: 'COMPLETED',
          status_reason:
            installer === 'setup'
              ? 'verified_without_regression'
              : 'verified_with_changed_dependencies',
        });
        const verification = (await (
          await fetch(`${url}/api/v1/tasks/${task.id}/verification`)
        ).json()) as {
          generated_at_base: { output_excerpt: string };
          changed_dependencies: string[];
        };
        expect(verification.changed_dependencies).toEqual(
          installer === 'setup' ? [] : ['node_modules'],
        );
        // The test-file finder's git answered inside the sandbox (it reads the repository), so the
        // looks that need it (ignored files, links out of the repository) were made.
        expect(run.stdout()).not.toMatch(/git status failed/);
        // The last run at the base commit failed on the change itself, not for want of `dep`;
        // the first (a test of `add` alone) passed there and was sent back.
        expect(verification.generated_at_base.output_excerpt).toMatch(/multiply is not a function/);
        const details = (await (await fetch(`${url}/api/v1/tasks/${task.id}`)).json()) as {
          interactions: { kind: string; content: string; data: { stage?: string } | null }[];
        };
        // Set up: in the workspace, then before each run at the base commit.
        expect(
          details.interactions.filter((i) => i.kind === 'setup').map((i) => i.data?.stage ?? null),
        ).toEqual(installer === 'setup' ? [null, 'generated_at_base', 'generated_at_base'] : []);
        expect(
          details.interactions.some(
            (i) =>
              i.kind === 'simulated_human' &&
              i.content.includes('Your tests pass without your change'),
          ),
        ).toBe(true);
        run.child.kill('SIGTERM');
        await run.exited;
      } finally {
        killServer(run);
        fs.rmSync(cwd, { recursive: true, force: true });
      }
    });
  });
});
