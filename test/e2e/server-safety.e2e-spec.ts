import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  copyFixtureProject,
  FAKE_CLAUDE,
  fakeScript,
  FIXTURE_PROJECTS,
} from 'test/e2e/support/task-polling';
import { eventually } from 'test/e2e/support/eventually';
import { rawRequest } from 'test/e2e/support/raw-request';
import { isProcessAlive } from 'src/process/process-group';
import {
  createdKey,
  killServer,
  listeningUrl,
  logLines,
  ROOT_OK,
  runApiKeyCli,
  RUNS_AS_ROOT,
  ServerRun,
  startServer,
} from 'test/e2e/support/server-process';

/**
 * THE SERVER AS A PROCESS, as an operator starts it: the safe default bind and its refusals, the
 * refusal to run children as root, the key command line, and what the structured log shows (and
 * never shows).
 */

/** `it` for what only a server started as root can show; skipped visibly otherwise. */
const itAsRoot = RUNS_AS_ROOT ? it : it.skip;
if (!RUNS_AS_ROOT) {
  console.warn(
    'server-safety: not running as root, so the RUN_AS_USER start-up checks are skipped',
  );
}

describe('server safety (the built server as a process)', () => {
  let cwd: string;
  const running: ServerRun[] = [];
  const start = (env: Record<string, string>): ServerRun => {
    const run = startServer(cwd, {
      PORT: '0',
      CLAUDE_CLI_COMMAND: '/nonexistent/claude',
      ORCHESTRATOR_ENABLED: 'false',
      ...env,
    });
    running.push(run);
    return run;
  };
  const fetchJson = async (url: string, key?: string, init: RequestInit = {}) => {
    const res = await fetch(url, {
      ...init,
      headers: {
        ...(key ? { Authorization: `Bearer ${key}` } : {}),
        ...(init.body ? { 'Content-Type': 'application/json' } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeEach(() => {
    cwd = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cta-safe-')));
  });
  afterEach(() => {
    for (const run of running.splice(0)) killServer(run);
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  const refusal = async (run: ServerRun): Promise<string> => {
    expect((await run.exited).code).toBe(1);
    const lines = run.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    return lines[0];
  };

  it('refuses to listen beyond loopback unless keys are required and one exists', async () => {
    expect(await refusal(start({ HOST: '0.0.0.0', ...ROOT_OK }))).toMatch(
      /^Startup failed: HOST=0\.0\.0\.0 listens beyond this machine, .*set AUTH_REQUIRED=true and create a key \(npm run api-key -- create --admin --name <name>\)/,
    );
    expect(await refusal(start({ HOST: '0.0.0.0', AUTH_REQUIRED: 'true', ...ROOT_OK }))).toMatch(
      /^Startup failed: HOST=0\.0\.0\.0 with AUTH_REQUIRED=true but no API key exists yet/,
    );
  });

  it('listens beyond loopback with AUTH_REQUIRED=true and a key, which every request then needs', async () => {
    const key = createdKey(runApiKeyCli(cwd, ROOT_OK, ['create', '--admin', '--name', 'ops']));
    const run = start({ HOST: '0.0.0.0', AUTH_REQUIRED: 'true', ...ROOT_OK });
    const url = await listeningUrl(run);
    expect(run.stdout()).toMatch(
      /Listening on http:\/\/0\.0\.0\.0:\d+ .*API keys required \(1 key/,
    );
    expect(
      logLines(run).some(
        (l) =>
          l.level === 'warn' &&
          /tasks of every key run as this server's user without a sandbox/.test(String(l.msg)),
      ),
    ).toBe(true);
    expect((await fetchJson(`${url}/api/v1/sessions`)).status).toBe(401);
    expect((await fetchJson(`${url}/api/v1/sessions`, key)).status).toBe(200);
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
  });

  it('opens another interface without keys only when told AUTH_REQUIRED=false, with a loud warning', async () => {
    const run = start({ HOST: '0.0.0.0', AUTH_REQUIRED: 'false', ...ROOT_OK });
    const url = await listeningUrl(run);
    const warning = logLines(run).find(
      (l) => l.level === 'warn' && /AUTH_REQUIRED=false/.test(String(l.msg)),
    );
    expect(warning?.msg).toMatch(/ANYONE WHO CAN REACH THIS PORT CAN RUN ANY PROGRAM ON THIS HOST/);
    expect((await fetchJson(`${url}/api/v1/sessions`)).status).toBe(200);
  });

  it('keeps a newcomer on loopback without keys, saying so', async () => {
    const run = start({ ...ROOT_OK });
    const url = await listeningUrl(run);
    expect(run.stdout()).toMatch(
      /Listening on http:\/\/127\.0\.0\.1:\d+ .*loopback only.*no API key required/,
    );
    expect((await fetchJson(`${url}/api/v1/sessions`)).status).toBe(200);
  });

  it("refuses a project_path in or holding the server's installation, wherever it was started, and a bare repository, saying why", async () => {
    const run = start({ ...ROOT_OK });
    const url = await listeningUrl(run);
    const install = path.resolve(__dirname, '..', '..');
    const dependency = fs.realpathSync(path.join(install, 'node_modules', '@nestjs', 'core'));
    const bare = path.join(cwd, 'shared.git');
    spawnSync('git', ['init', '-q', '--bare', bare]);
    fs.mkdirSync(path.join(cwd, 'project'));
    const session = (projectPath: string) =>
      fetchJson(`${url}/api/v1/sessions`, undefined, {
        method: 'POST',
        body: JSON.stringify({ project_path: projectPath }),
      });
    const answers = await Promise.all(
      [
        install,
        path.dirname(install),
        path.join(install, 'dist'),
        path.join(FIXTURE_PROJECTS, 'node-basic'),
        dependency,
        bare,
        path.join(bare, 'hooks'),
        cwd,
        path.join(cwd, 'data', 'workspaces'),
      ].map(session),
    );
    expect(answers.map((answer) => [answer.status, answer.body.code, answer.body.message])).toEqual(
      [
        "is the server's installation (its code and node_modules)",
        "holds the server's installation (its code and node_modules)",
        "lies inside the server's installation (its code and node_modules)",
        "lies inside the server's installation (its code and node_modules)",
        dependency.startsWith(`${install}/`)
          ? "lies inside the server's installation (its code and node_modules)"
          : "lies inside the server's dependencies (node_modules)",
        'is a bare git repository',
        'lies inside a bare git repository',
        "holds the server's working directory",
        'is the task workspaces (WORKSPACES_DIR)',
      ].map((why): unknown[] => [
        400,
        'project_path_invalid',
        expect.stringContaining(`project_path ${why}:`),
      ]),
    );
    expect((await session(path.join(cwd, 'project'))).status).toBe(201);
  });

  itAsRoot('refuses to run tasks as root unless told: RUN_AS_USER or ALLOW_ROOT=true', async () => {
    expect(await refusal(start({}))).toMatch(
      /^Startup failed: the server runs as root, so the agent and test commands would too: set RUN_AS_USER=/,
    );
    const allowed = start({ ALLOW_ROOT: 'true' });
    await listeningUrl(allowed);
    expect(logLines(allowed).some((l) => /RUN AS ROOT/.test(String(l.msg)))).toBe(true);
  });

  itAsRoot('refuses RUN_AS_USER while that user could read the server secrets', async () => {
    fs.chmodSync(cwd, 0o755);
    fs.writeFileSync(path.join(cwd, '.env'), 'METRICS_TOKEN=a-secret-metrics-token\n', {
      mode: 0o644,
    });
    fs.chmodSync(path.join(cwd, '.env'), 0o644);
    expect(await refusal(start({ RUN_AS_USER: 'nobody' }))).toBe(
      `Startup failed: ${path.join(cwd, '.env')} can be read by RUN_AS_USER=nobody, which the agent runs as: chmod 600 the file(s) (or 700 their directory)`,
    );
    fs.chmodSync(path.join(cwd, '.env'), 0o600);
    const run = start({ RUN_AS_USER: 'nobody' });
    const url = await listeningUrl(run);
    expect(run.stdout()).toMatch(/children run as nobody \(uid \d+\), no sandbox/);
    // A project the agent's user could not work in is refused when the session is created, not
    // at its tasks' first turn.
    const projects = fs.mkdtempSync(path.join(os.tmpdir(), 'cta-projects-'));
    try {
      fs.chmodSync(projects, 0o755);
      const rootOnly = path.join(projects, 'root-only');
      const theirs = path.join(projects, 'theirs');
      fs.mkdirSync(rootOnly, { mode: 0o755 });
      fs.mkdirSync(theirs, { mode: 0o755 });
      spawnSync('chown', ['nobody:', theirs]);
      const session = (projectPath: string) =>
        fetch(`${url}/api/v1/sessions`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ project_path: projectPath }),
        });
      const refused = await session(rootOnly);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({
        code: 'project_path_invalid',
        message: `RUN_AS_USER nobody, who runs the agent, its tests and git, may not write in ${rootOnly}`,
      });
      expect((await session(theirs)).status).toBe(201);
    } finally {
      fs.rmSync(projects, { recursive: true, force: true });
    }
    // The database the server created is the server user's alone, from its creation on.
    const database = path.join(cwd, 'data', 'tasks.db');
    expect(fs.statSync(database).mode & 0o777).toBe(0o600);
    run.child.kill('SIGTERM');
    await run.exited;
    fs.chmodSync(database, 0o644);
    expect(await refusal(start({ RUN_AS_USER: 'nobody' }))).toBe(
      `Startup failed: ${database} can be read by RUN_AS_USER=nobody, which the agent runs as: chmod 600 the file(s) (or 700 their directory)`,
    );
    fs.chmodSync(database, 0o600);
  });

  it('creates, lists (every key, past a page) and revokes keys on the command line, shown once and recorded in the audit trail', async () => {
    const created = runApiKeyCli(cwd, ROOT_OK, [
      'create',
      '--scopes',
      'tasks:write',
      '--name',
      'ci',
    ]);
    const key = createdKey(created);
    expect(created.stdout).toMatch(
      /Created key "ci" \(tasks:write\), id [0-9a-f-]{36}, prefix cta_/,
    );
    const admin = createdKey(runApiKeyCli(cwd, ROOT_OK, ['create', '--admin', '--name', 'ops']));
    const list = runApiKeyCli(cwd, ROOT_OK, ['list']);
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(key.slice(0, 16));
    expect(list.stdout).not.toContain(key.slice(17));
    const id = /id ([0-9a-f-]{36})/.exec(created.stdout)![1];
    expect(runApiKeyCli(cwd, ROOT_OK, ['revoke', key.slice(0, 16)]).stdout).toContain(
      `Revoked key ${id}`,
    );
    const farOff = runApiKeyCli(cwd, ROOT_OK, [
      ...['create', '--admin', '--name', 'x', '--expires-at', '99999-01-01'],
    ]);
    expect(farOff.status).toBe(1);
    expect(farOff.stderr).toMatch(
      /^api-key: --expires-at must be a date and time with its offset from UTC, such as/,
    );
    const bad = runApiKeyCli(cwd, ROOT_OK, ['create', '--name', 'x', '--scopes', 'root']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      /^api-key: give --admin or --scopes from admin, tasks:write, tasks:read\nUsage:/,
    );
    const run = start({ ...ROOT_OK });
    const url = await listeningUrl(run);
    expect((await fetchJson(`${url}/api/v1/sessions`, key)).body.code).toBe('unauthorized');
    const audit = await fetchJson(`${url}/api/v1/audit?limit=10`, admin);
    const rows = (
      audit.body.items as { action: string; actor: string; target_id: string }[]
    ).reverse();
    expect(rows.map((r) => [r.action, r.actor])).toEqual([
      ['api_key.create', 'cli'],
      ['api_key.create', 'cli'],
      ['api_key.revoke', 'cli'],
      ['request.denied', 'anonymous'],
    ]);
    expect(rows[2].target_id).toBe(id);
    // More keys than one page: `list` shows every one.
    for (let i = 0; i < 100; i += 1) {
      const body = JSON.stringify({ name: `bulk-${i}`, scopes: ['tasks:read'] });
      const made = await fetchJson(`${url}/api/v1/api-keys`, admin, { method: 'POST', body });
      expect(made.status).toBe(201);
    }
    const all = runApiKeyCli(cwd, ROOT_OK, ['list']).stdout.trim().split('\n');
    expect(all).toHaveLength(102);
    expect(all.filter((line) => line.endsWith('"ops"') || line.endsWith('"ci"'))).toHaveLength(2);
  });

  it('refuses --admin with --scopes on the command line, creating no key', () => {
    const both = runApiKeyCli(cwd, ROOT_OK, [
      ...['create', '--name', 'y', '--admin', '--scopes', 'tasks:read'],
    ]);
    expect(both.status).toBe(1);
    expect(both.stderr).toMatch(/^api-key: give --admin or --scopes, not both\nUsage:/);
    expect(both.stdout).toBe('');
    const list = runApiKeyCli(cwd, ROOT_OK, ['list']);
    expect(list.status).toBe(0);
    expect(list.stdout.trim()).toBe('');
  });

  it('refuses to revoke by the whole key on the command line, naming its prefix, never echoing the secret', () => {
    const key = createdKey(runApiKeyCli(cwd, ROOT_OK, ['create', '--admin', '--name', 'ops']));
    const unknown = 'cta_0123456789ab_q0Vb3c2pX9sJ1kR7mN4tY6wZ8aE5fH2gL0iU3oP7dSx';
    for (const [given, prefix] of [
      [key, key.slice(0, 16)],
      [unknown, unknown.slice(0, 16)],
      [`Bearer ${key}`, key.slice(0, 16)],
    ]) {
      const run = runApiKeyCli(cwd, ROOT_OK, ['revoke', given]);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(
        new RegExp(
          `^api-key: revoke takes the key's id or its prefix \\(${prefix}\\), not the key itself\n`,
        ),
      );
      expect(run.stdout + run.stderr).not.toContain(given.slice(-43));
    }
    expect(runApiKeyCli(cwd, ROOT_OK, ['list']).stdout).toMatch(/ {2}admin {2}active {2}"ops"$/m);
  });

  it('takes --expires-at on the command line as the API takes expires_at: a date and time with its offset from UTC', () => {
    const create = (expiresAt: string) =>
      runApiKeyCli(cwd, ROOT_OK, [
        ...['create', '--name', 'ci', '--scopes', 'tasks:read', '--expires-at', expiresAt],
      ]);
    for (const local of [
      '12/08/2099',
      '2099-12-07T12:30',
      '2099-12-07T12:30:00',
      '2099-12-07',
      '2099-02-30T00:00:00Z',
      '99999-01-01',
    ]) {
      const refused = create(local);
      expect([local, refused.status]).toEqual([local, 1]);
      expect(refused.stderr).toMatch(
        /^api-key: --expires-at must be a date and time with its offset from UTC, such as 2027-01-01T00:00:00Z\nUsage:/,
      );
    }
    for (const outside of ['2000-01-01T00:00:00Z', '9999-12-31T23:30:00-01:00']) {
      expect(create(outside).stderr).toMatch(
        /^api-key: --expires-at must be a date in the future, before the year 10000/,
      );
    }
    expect(runApiKeyCli(cwd, ROOT_OK, ['list']).stdout.trim()).toBe('');
    createdKey(create('2099-12-07T12:30:00+01:00'));
    expect(runApiKeyCli(cwd, ROOT_OK, ['list']).stdout).toContain(
      '  tasks:read  expires 2099-12-07T11:30:00.000Z  "ci"',
    );
  });

  it('logs one JSON line per request and never a key; values from requests cannot forge lines; every line of a task carries its id; a process that outlived its task is named', async () => {
    const admin = createdKey(runApiKeyCli(cwd, ROOT_OK, ['create', '--admin', '--name', 'ops']));
    const projects = path.join(cwd, 'projects');
    fs.mkdirSync(projects);
    const project = copyFixtureProject('node-basic', projects, 'app');
    const forged = path.join(projects, 'gone\n{"level":"fatal","msg":"FORGED"}');
    fs.mkdirSync(forged);
    const run = start({
      ...ROOT_OK,
      ORCHESTRATOR_ENABLED: 'true',
      QUEUE_POLL_MS: '100',
      CLAUDE_CLI_COMMAND: FAKE_CLAUDE,
      CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
      FAKE_CLAUDE_STATE_DIR: path.join(cwd, 'fake-state'),
      CLI_RESULT_GRACE_SECONDS: '1',
      KILL_GRACE_SECONDS: '1',
      LOG_LEVEL: 'debug',
    });
    const url = await listeningUrl(run);
    const wrongKey = 'cta_0123456789ab_WRONGWRONGWRONGWRONGWRONGWRONGWRONGWRONGWRO';
    expect(
      (
        await fetchJson(`${url}/api/v1/sessions?limit=1`, admin, {
          headers: { 'X-Request-Id': 'log-check-1' },
        })
      ).status,
    ).toBe(200);
    expect((await fetchJson(`${url}/api/v1/sessions`, wrongKey)).status).toBe(401);
    expect(
      (await fetchJson(`${url}/api/v1/sessions?api_key=${admin}&token=${wrongKey}`)).status,
    ).toBe(401);
    // Answered before the request logger sees them: a path Express cannot decode, and a request
    // line Node's parser refuses.
    const undecodable = await fetchJson(`${url}/api/v1/tasks/%ZZ?token=${wrongKey}`, undefined, {
      headers: { 'X-Request-Id': 'log-check-undecodable' },
    });
    expect(undecodable.status).toBe(400);
    const unparsed = await rawRequest(url, 'GET /a\xa0b HTTP/1.1\r\nHost: localhost');
    expect(unparsed.statusLine).toMatch(/^HTTP\/1\.1 400 /);
    const unparsedId = String(unparsed.body?.request_id);
    const session = await fetchJson(`${url}/api/v1/sessions`, admin, {
      method: 'POST',
      body: JSON.stringify({ project_path: project }),
    });
    const task = await fetchJson(`${url}/api/v1/tasks`, admin, {
      method: 'POST',
      body: JSON.stringify({
        session_id: session.body.id,
        description: `Lingers after its result. ${fakeScript('linger escape=yes', 'write-tests lang=node')}`,
      }),
    });
    const gone = await fetchJson(`${url}/api/v1/sessions`, admin, {
      method: 'POST',
      body: JSON.stringify({ project_path: forged }),
    });
    fs.rmSync(forged, { recursive: true });
    const doomed = await fetchJson(`${url}/api/v1/tasks`, admin, {
      method: 'POST',
      body: JSON.stringify({ session_id: gone.body.id, description: 'its project is gone' }),
    });
    const statusOf = async (id: unknown) =>
      (await fetchJson(`${url}/api/v1/tasks/${String(id)}/status`, admin)).body;
    await eventually('both tasks to end', async () => {
      const [a, b] = await Promise.all([statusOf(task.body.id), statusOf(doomed.body.id)]);
      return ['COMPLETED', 'FAILED'].includes(String(a.status)) && b.status === 'FAILED';
    });
    expect(await statusOf(task.body.id)).toMatchObject({ status: 'COMPLETED' });
    expect(await statusOf(doomed.body.id)).toMatchObject({ status_reason: 'project_unavailable' });
    // The agent's process that left its group, ended once the run let go of its workspace, and
    // named in a warning.
    const details = await fetchJson(`${url}/api/v1/tasks/${String(task.body.id)}`, admin);
    const escaped = /ESCAPED (\d+)/.exec(JSON.stringify(details.body.interactions))?.[1];
    expect(escaped).toBeDefined();
    await eventually('the escaped process to be ended', () =>
      logLines(run).some(
        (l) =>
          l.level === 'warn' &&
          l.context === 'ProcessLauncher' &&
          String(l.msg).includes(
            `outlived their task's run: the process host ended them (pids ${escaped})`,
          ),
      ),
    );
    expect(isProcessAlive(Number(escaped))).toBe(false);
    run.child.kill('SIGTERM');
    await run.exited;

    const output = run.stdout() + run.stderr();
    for (const secret of [admin, admin.slice(17), wrongKey, wrongKey.slice(17)]) {
      expect(output).not.toContain(secret);
    }
    const raw = run
      .stdout()
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(raw.every((line) => line.startsWith('{"level":'))).toBe(true);
    expect(raw.some((line) => line.startsWith('{"level":"fatal"'))).toBe(false);
    const lines = logLines(run);
    const requestLine = lines.find(
      (l) => (l.req as { id?: string } | undefined)?.id === 'log-check-1',
    );
    expect(requestLine).toEqual(
      expect.objectContaining({
        level: 'info',
        time: expect.stringMatching(/Z$/),
        req: {
          id: 'log-check-1',
          method: 'GET',
          path: '/api/v1/sessions',
          remote_address: expect.any(String),
        },
        res: { status: 200 },
        duration_ms: expect.any(Number),
        key_prefix: admin.slice(0, 16),
        route: '/api/v1/sessions',
        msg: 'GET /api/v1/sessions -> 200',
      }),
    );
    expect(JSON.stringify(requestLine)).not.toMatch(/authorization|limit=1/i);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        context: 'HTTP',
        msg: 'GET /api/v1/tasks/%ZZ -> 400 [request_id=log-check-undecodable] bad_request',
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        context: 'HTTP',
        msg: `refused by the HTTP parser -> 400 [request_id=${unparsedId}] bad_request`,
      }),
    );
    const refused = lines.filter((l) => (l.res as { status?: number } | undefined)?.status === 401);
    expect(refused).toHaveLength(2);
    expect(refused.every((l) => l.level === 'warn' && l.key_prefix === null)).toBe(true);
    const forgedLine = lines.find((l) => String(l.msg).includes('FORGED'));
    expect(forgedLine).toMatchObject({
      level: 'error',
      context: 'TaskRun',
      task_id: doomed.body.id,
    });
    expect(String(forgedLine?.msg)).toContain('gone\n{"level":"fatal","msg":"FORGED"}');
    const ofTask = lines.filter((l) => l.task_id === task.body.id);
    expect(ofTask.map((l) => l.context)).toEqual(
      expect.arrayContaining(['TaskRun', 'ClaudeCliRunner']),
    );
    expect(
      ofTask.some((l) => /stopping claude \(pid \d+\): after_result/.test(String(l.msg))),
    ).toBe(true);
    const pipelineContexts = new Set(['TaskRun', 'ClaudeCliRunner', 'TestFileFinder']);
    const unlabelled = lines.filter(
      (l) => pipelineContexts.has(String(l.context)) && typeof l.task_id !== 'string',
    );
    expect(unlabelled).toEqual([]);
  });
});
