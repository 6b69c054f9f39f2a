import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { lastValueFrom, toArray } from 'rxjs';
import { ClaudeCliRunner, TurnEvent, TurnRequest } from 'src/claude-cli/claude-cli-runner.service';
import { CliAvailabilityService } from 'src/claude-cli/cli-availability.service';
import { ResultEvent } from 'src/claude-cli/stream-json/claude-events';
import { LAST_PER_PROCESS_COST_VERSION, TurnOutcome } from 'src/claude-cli/turn-outcome';
import { Clock } from 'src/common';
import { loadConfig } from 'src/config/app-config';
import { ProcessLauncher } from 'src/process';
import { isProcessGroupAlive } from 'src/process/process-group';
import { MockAnthropicApi } from 'test/contract/mock-anthropic-api';
import { NO_ISOLATION } from 'src/process/child-isolation';

/**
 * The real Claude Code CLI (node_modules/.bin/claude, pinned in package.json) run by
 * ClaudeCliRunner with exactly the argv it builds, offline against MockAnthropicApi: a dummy key,
 * ANTHROPIC_BASE_URL on loopback and HOME in a temporary directory (so no user state leaks in).
 * The environment reaches the CLI through the runner's injected parent environment, filtered by
 * the same allowlist as in production (ANTHROPIC_* is allowed).
 */

const CLAUDE = join(__dirname, '..', '..', 'node_modules', '.bin', 'claude');
const PINNED_VERSION = '2.1.197';

const api = new MockAnthropicApi();
const launcher = new ProcessLauncher();
let baseUrl: string;
let root: string;
let home: string;
let project: string;

beforeAll(async () => {
  baseUrl = await api.start();
  root = realpathSync(mkdtempSync(join(tmpdir(), 'cta-contract-')));
  home = join(root, 'home');
  project = join(root, 'project');
  mkdirSync(home);
  mkdirSync(project);
});

afterAll(async () => {
  await launcher.onModuleDestroy();
  await api.stop();
  rmSync(root, { recursive: true, force: true });
});

beforeEach(() => api.reset());

function runner(
  config: Record<string, string> = {},
  env: Record<string, string> = {},
): ClaudeCliRunner {
  return new ClaudeCliRunner(
    loadConfig({
      CLAUDE_CLI_COMMAND: CLAUDE,
      CLI_TIMEOUT_SECONDS: '45',
      CLI_INIT_TIMEOUT_SECONDS: '30',
      CLI_RESULT_GRACE_SECONDS: '3',
      KILL_GRACE_SECONDS: '1',
      ...config,
    }),
    launcher,
    NO_ISOLATION,
    {
      PATH: process.env.PATH,
      HOME: home,
      ANTHROPIC_API_KEY: 'dummy',
      ANTHROPIC_BASE_URL: baseUrl,
      ...env,
    },
  );
}

async function run(
  r: ClaudeCliRunner,
  req: TurnRequest,
): Promise<{ events: TurnEvent[]; outcome: TurnOutcome }> {
  const events = await lastValueFrom(r.runTurn(req).pipe(toArray()));
  const last = events[events.length - 1];
  if (last.type !== 'turn_end') throw new Error('no turn_end');
  const spawned = events.find((e) => e.type === 'spawned');
  if (spawned?.type === 'spawned') expect(isProcessGroupAlive(spawned.pid)).toBe(false);
  return { events, outcome: last.outcome };
}

function result(events: TurnEvent[]): ResultEvent {
  const r = events.find((e): e is ResultEvent => e.type === 'result');
  if (!r) throw new Error('no result event');
  return r;
}

describe(`real Claude Code CLI ${PINNED_VERSION} against a mock Messages API`, () => {
  const conversationId = randomUUID();
  let firstTurn: TurnOutcome;

  it('is the pinned version', async () => {
    const svc = new CliAvailabilityService(
      loadConfig({ CLAUDE_CLI_COMMAND: CLAUDE }),
      new Clock(),
      launcher,
      NO_ISOLATION,
      { PATH: process.env.PATH, HOME: home },
    );
    expect(await svc.check()).toEqual({
      command: CLAUDE,
      available: true,
      version: PINNED_VERSION,
      error: null,
      loggedIn: false,
      authMethod: null,
    });
    expect(LAST_PER_PROCESS_COST_VERSION).toBe(PINNED_VERSION);
  });

  it('tells whether it is logged in from `auth status`, without calling the API', async () => {
    const before = api.requests.length;
    const withKey = new CliAvailabilityService(
      loadConfig({ CLAUDE_CLI_COMMAND: CLAUDE }),
      new Clock(),
      launcher,
      NO_ISOLATION,
      { PATH: process.env.PATH, HOME: home, ANTHROPIC_API_KEY: 'sk-ant-dummy' },
    );
    expect(await withKey.check()).toMatchObject({ loggedIn: true, authMethod: 'api_key' });
    expect(api.requests.length).toBe(before);
  });

  it('starts with our session id, really writes a file and runs Bash, and ends in a success we classify', async () => {
    const written = join(project, 'hello.txt');
    api.script(
      {
        kind: 'tool_use',
        text: 'I will create the file.',
        name: 'Write',
        input: { file_path: written, content: 'written by the real CLI\n' },
        usage: { input_tokens: 100_000, output_tokens: 1000 },
      },
      {
        kind: 'tool_use',
        name: 'Bash',
        input: { command: 'echo bash-ran > bash-proof.txt', description: 'proof' },
      },
      { kind: 'text', text: 'DONE: created hello.txt and ran a command.' },
    );
    const { events, outcome } = await run(
      runner(),
      request(
        'Create hello.txt; then run a shell command. $(id) `id` "quotes"',
        conversationId,
        false,
        0,
      ),
    );
    expect(events.find((e) => e.type === 'init')).toMatchObject({
      type: 'init',
      sessionId: conversationId,
      cliVersion: PINNED_VERSION,
      permissionMode: 'acceptEdits',
      cwd: project,
    });
    expect(readFileSync(written, 'utf8')).toBe('written by the real CLI\n');
    expect(readFileSync(join(project, 'bash-proof.txt'), 'utf8')).toBe('bash-ran\n');
    const toolUses = events
      .filter((e) => e.type === 'tool_use')
      .map((e) => (e.type === 'tool_use' ? e.name : ''));
    expect(toolUses).toEqual(['Write', 'Bash']);
    const toolResults = events.filter((e) => e.type === 'tool_result');
    expect(toolResults).toHaveLength(2);
    expect(toolResults.every((e) => e.type === 'tool_result' && !e.isError)).toBe(true);
    expect(outcome).toMatchObject({
      kind: 'success',
      text: 'DONE: created hello.txt and ran a command.',
      sessionId: conversationId,
      exitCode: 0,
      permissionDenials: [],
    });
    expect(outcome.conversationCostUsd).toBeGreaterThan(0);
    expect(outcome.inputTokens).toBeGreaterThanOrEqual(100_000);
    const main = api.mainRequests();
    expect(main).toHaveLength(3);
    expect(main[0].headers['x-claude-code-session-id']).toBe(conversationId);
    expect(JSON.stringify(main[0].body?.messages)).toContain('$(id) `id` \\"quotes\\"');
    firstTurn = outcome;
  });

  it('resumes the same conversation on the second turn; 2.1.197 reports per-process cost', async () => {
    api.script({
      kind: 'text',
      text: 'DONE: nothing more to do.',
      usage: { input_tokens: 1000, output_tokens: 10 },
    });
    const { events, outcome } = await run(
      runner(),
      request('Anything else?', conversationId, true, firstTurn.conversationCostUsd),
    );
    expect(events.find((e) => e.type === 'init')).toMatchObject({ sessionId: conversationId });
    expect(outcome).toMatchObject({ kind: 'success', sessionId: conversationId });
    const messages = api.mainRequests()[0].body?.messages;
    expect(JSON.stringify(messages)).toContain('created hello.txt');
    const reported = result(events).totalCostUsd ?? 0;
    expect(reported).toBeGreaterThan(0);
    expect(reported).toBeLessThan(firstTurn.conversationCostUsd);
    expect(outcome.turnCostUsd).toBeCloseTo(reported, 10);
    expect(outcome.conversationCostUsd).toBeCloseTo(firstTurn.conversationCostUsd + reported, 10);
  });

  it('classifies an API error', async () => {
    api.script({
      kind: 'error',
      status: 400,
      errorType: 'invalid_request_error',
      message: 'mock says no',
    });
    const { outcome } = await run(runner(), request('hi', randomUUID(), false, 0));
    expect(outcome).toMatchObject({ kind: 'api_error', apiError: 'other', exitCode: 1 });
    expect(outcome.text).toContain('mock says no');
  });

  it('classifies an unreachable API as a network error', async () => {
    const r = runner({}, { ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' });
    const { events, outcome } = await run(r, request('hi', randomUUID(), false, 0));
    expect(events.filter((e) => e.type === 'api_retry').length).toBeGreaterThan(0);
    expect(outcome).toMatchObject({ kind: 'api_error', apiError: 'network', exitCode: 1 });
  });

  it('lists tool calls refused in the default permission mode and classifies success with denials', async () => {
    api.script(
      {
        kind: 'tool_use',
        name: 'Bash',
        input: { command: 'echo no > denied.txt', description: 'denied' },
      },
      { kind: 'text', text: 'I was not allowed to run the command.' },
    );
    const { outcome } = await run(
      runner({ CLAUDE_PERMISSION_MODE: 'default', CLAUDE_ALLOWED_TOOLS: 'Read' }),
      request('run something', randomUUID(), false, 0),
    );
    expect(outcome.kind).toBe('success_with_denials');
    expect(outcome.permissionDenials).toEqual([
      expect.objectContaining({
        toolName: 'Bash',
        toolInput: expect.objectContaining({ command: 'echo no > denied.txt' }),
      }),
    ]);
    expect(existsSync(join(project, 'denied.txt'))).toBe(false);
  });

  it('classifies a max-turns stop', async () => {
    api.script(
      { kind: 'tool_use', name: 'Bash', input: { command: 'echo one', description: 'one' } },
      { kind: 'tool_use', name: 'Bash', input: { command: 'echo two', description: 'two' } },
      { kind: 'text', text: 'DONE' },
    );
    const { outcome } = await run(
      runner({ CLAUDE_MAX_TURNS: '1' }),
      request('loop', randomUUID(), false, 0),
    );
    expect(outcome.kind).toBe('max_turns');
    expect(outcome.text).toMatch(/turn/i);
  });

  it('classifies a run with no credentials as not logged in', async () => {
    const noKeyHome = join(root, 'home-no-key');
    mkdirSync(noKeyHome);
    const r = new ClaudeCliRunner(
      loadConfig({ CLAUDE_CLI_COMMAND: CLAUDE, KILL_GRACE_SECONDS: '1' }),
      launcher,
      NO_ISOLATION,
      {
        PATH: process.env.PATH,
        HOME: noKeyHome,
      },
    );
    const { outcome } = await run(r, request('hi', randomUUID(), false, 0));
    expect(outcome).toMatchObject({ kind: 'api_error', apiError: 'not_logged_in' });
    expect(outcome.text).toMatch(/Not logged in/);
    expect(api.mainRequests()).toHaveLength(0);
  });

  it('classifies an unknown resume id as an execution error', async () => {
    const { outcome, events } = await run(runner(), request('hi', randomUUID(), true, 0));
    expect(events.some((e) => e.type === 'init')).toBe(false);
    expect(outcome.kind).toBe('execution_error');
    expect(outcome.text).toMatch(/No conversation found with session ID/);
  });

  it('keeps the CLI state in the temporary HOME', () => {
    expect(existsSync(join(project, 'hello.txt'))).toBe(true);
    expect(existsSync(join(home, '.claude'))).toBe(true);
  });
});

function request(
  prompt: string,
  conversationId: string,
  resume: boolean,
  prior: number,
): TurnRequest {
  return { cwd: project, prompt, conversationId, resume, priorConversationCostUsd: prior };
}
