import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { delay, lastValueFrom, Observable, tap, toArray } from 'rxjs';
import { ClaudeCliRunner, TurnEvent, TurnRequest } from 'src/claude-cli/claude-cli-runner.service';
import { CliAvailabilityService } from 'src/claude-cli/cli-availability.service';
import { TurnOutcome } from 'src/claude-cli/turn-outcome';
import { Clock } from 'src/common';
import { loadConfig } from 'src/config/app-config';
import { isProcessAlive, isProcessGroupAlive, ProcessSpec } from 'src/process/process-group';
import { ProcessLauncher } from 'src/process/process-launcher';
import { eventually, GIVE_UP_MS } from 'test/e2e/support/eventually';
import { WorkingDirectoryGoneError } from 'src/process/working-directory';
import { NO_ISOLATION } from 'src/process/child-isolation';

const FAKE = join(__dirname, '..', 'fixtures', 'fake-claude', 'claude');
const CUT = /\[\.\.\. (\d+) bytes cut\]$/;
/** spawnSync blocks the event loop, where no Jest time limit can fire: give it its own. */
const SYNC_CHILD_TIMEOUT_MS = 30_000;

setFlagsFromString('--expose-gc');
/** A full garbage collection (V8's `gc`, exposed for this file's memory test). */
const collectGarbage = runInNewContext('gc') as () => void;

interface LogEntry {
  argv: string[];
  cwd: string;
  stdin: string;
  stdinClosed: boolean;
  prompt: string;
  scenario: string;
  sessionId: string;
  turn: number | null;
  envNames: string[];
}

let root: string;
let project: string;
let logFile: string;
/** Starts every CLI of this file through a process host, as the server does. */
const launcher = new ProcessLauncher();

afterAll(() => launcher.onModuleDestroy());

beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'cta-cli-e2e-')));
  project = join(root, 'project');
  mkdirSync(project);
  logFile = join(root, 'invocations.log');
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

function runner(
  env: Record<string, string> = {},
  parentExtra: Record<string, string> = {},
  via: Pick<ProcessLauncher, 'run'> = launcher,
): ClaudeCliRunner {
  const config = loadConfig({
    CLAUDE_CLI_COMMAND: FAKE,
    CLI_TIMEOUT_SECONDS: '20',
    CLI_INIT_TIMEOUT_SECONDS: '10',
    CLI_RESULT_GRACE_SECONDS: '1',
    KILL_GRACE_SECONDS: '1',
    CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
    ...env,
  });
  const parent: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: root,
    FAKE_CLAUDE_LOG: logFile,
    FAKE_CLAUDE_STATE_DIR: join(root, 'state'),
    DATABASE_URL: 'mysql://root:hunter2@db/prod',
    DB_PASSWORD: 'hunter2',
    API_SECRET: 'shh',
    CLAUDECODE: '1',
    ...parentExtra,
  };
  return new ClaudeCliRunner(config, via as ProcessLauncher, NO_ISOLATION, parent);
}

function request(prompt: string, over: Partial<TurnRequest> = {}): TurnRequest {
  return {
    cwd: project,
    prompt,
    conversationId: randomUUID(),
    resume: false,
    priorConversationCostUsd: 0,
    ...over,
  };
}

async function run(
  r: ClaudeCliRunner,
  req: TurnRequest,
): Promise<{ events: TurnEvent[]; outcome: TurnOutcome }> {
  const events = await lastValueFrom(r.runTurn(req).pipe(toArray()));
  const last = events[events.length - 1];
  if (last.type !== 'turn_end') throw new Error(`last event is ${last.type}`);
  return { events, outcome: last.outcome };
}

function log(): LogEntry[] {
  return readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LogEntry);
}

function spawnedPid(events: TurnEvent[]): number {
  const e = events.find((x) => x.type === 'spawned');
  if (!e || e.type !== 'spawned') throw new Error('no spawned event');
  return e.pid;
}

describe('ClaudeCliRunner through the fake CLI', () => {
  it('runs a successful turn with the exact argv, stdin closed and a filtered environment', async () => {
    const req = request('Add a CSV export [[fake:success]]');
    const { events, outcome } = await run(runner(), req);
    expect(events[0]).toEqual({ type: 'spawned', pid: expect.any(Number) });
    const init = events.find((e) => e.type === 'init');
    expect(init).toMatchObject({
      type: 'init',
      sessionId: req.conversationId,
      cliVersion: '2.1.197',
    });
    expect(outcome).toMatchObject({
      kind: 'success',
      text: 'The requested change is implemented.\nDONE',
      sessionId: req.conversationId,
      exitCode: 0,
      turnCostUsd: 0.01,
      conversationCostUsd: 0.01,
      inputTokens: 100,
      outputTokens: 50,
    });
    const [entry] = log();
    expect(entry.argv).toEqual([
      '-p',
      '--output-format=stream-json',
      '--verbose',
      '--permission-mode=acceptEdits',
      '--allowedTools=Read,Edit,MultiEdit,Write,Glob,Grep,LS,Bash',
      '--max-turns=50',
      `--session-id=${req.conversationId}`,
      '--',
      'Add a CSV export [[fake:success]]',
    ]);
    expect(entry.cwd).toBe(project);
    expect(entry.stdinClosed).toBe(true);
    expect(entry.envNames).toEqual(
      expect.arrayContaining([
        'PATH',
        'HOME',
        'DISABLE_AUTOUPDATER',
        'CLAUDE_CODE_MAX_RETRIES',
        'FAKE_CLAUDE_LOG',
      ]),
    );
    for (const banned of ['DATABASE_URL', 'DB_PASSWORD', 'API_SECRET', 'CLAUDECODE']) {
      expect(entry.envNames).not.toContain(banned);
    }
    expect(isProcessGroupAlive(spawnedPid(events))).toBe(false);
  });

  it('delivers a hostile prompt byte for byte', async () => {
    const prompt =
      '-rf --version $(id) `id` \'single\' "double" \\back\nnew line; echo pwned && ls | cat > x * ? ~ $HOME é 漢字 \t tab [[fake:success]]';
    await run(runner(), request(prompt));
    const [entry] = log();
    expect(entry.prompt).toBe(prompt);
    expect(entry.argv[entry.argv.length - 1]).toBe(prompt);
    expect(entry.argv[entry.argv.length - 2]).toBe('--');
    expect(existsSync(join(project, 'x'))).toBe(false);
  });

  const bigPrompt = (directive: string) =>
    `${directive}\n${'0123456789abcdef'.repeat(16 * 1024)}\nTHE END`;
  const promptDir = () => join(project, '.claude-task');

  /** Runs a turn, noting at the init line (the CLI still running) what the prompt folder holds. */
  async function runNotingPromptFile(
    r: ClaudeCliRunner,
    req: TurnRequest,
  ): Promise<{ outcome: TurnOutcome; duringTurn: Record<string, string>; atTurnEnd: boolean }> {
    const duringTurn: Record<string, string> = {};
    let atTurnEnd = true;
    const events = await lastValueFrom(
      r.runTurn(req).pipe(
        tap((e) => {
          if (e.type === 'init' && existsSync(promptDir())) {
            for (const name of readdirSync(promptDir()))
              duringTurn[name] = readFileSync(join(promptDir(), name), 'utf8');
          }
          if (e.type === 'turn_end') atTurnEnd = existsSync(promptDir());
        }),
        toArray(),
      ),
    );
    const last = events[events.length - 1];
    if (last.type !== 'turn_end') throw new Error(`last event is ${last.type}`);
    return { outcome: last.outcome, duringTurn, atTurnEnd };
  }

  it('passes a prompt over the argv limit through a file in the project, removed when the turn ends', async () => {
    const big = bigPrompt('[[fake:success]]');
    const { outcome, duringTurn, atTurnEnd } = await runNotingPromptFile(runner(), request(big));
    expect(outcome.kind).toBe('success');
    const [entry] = log();
    const match = /`\.claude-task\/(prompt-[^`]+\.md)`/.exec(entry.prompt);
    expect(match).not.toBeNull();
    expect(Buffer.byteLength(entry.prompt)).toBeLessThan(128 * 1024);
    expect(duringTurn).toEqual({ [match![1]]: big });
    expect(atTurnEnd).toBe(false);
    expect(readdirSync(project)).toEqual([]);
  });

  it('removes the prompt file after a timed-out turn but keeps files the agent put beside it', async () => {
    const r = runner({ CLI_TIMEOUT_SECONDS: '1' });
    const req = request(bigPrompt('[[fake:hang signals=honor]]'));
    mkdirSync(promptDir());
    writeFileSync(join(promptDir(), 'notes.md'), 'mine');
    const { outcome, duringTurn } = await runNotingPromptFile(r, req);
    expect(outcome).toMatchObject({ kind: 'timeout', timeout: 'overall' });
    expect(Object.keys(duringTurn)).toHaveLength(2);
    expect(readdirSync(promptDir())).toEqual(['notes.md']);
  });

  it('a time limit that ran out before the process was seen to start still stops it', async () => {
    // Every event of the process reaches the runner 1.5 s late: its 1 s limit runs out first.
    const late = { run: (spec: ProcessSpec) => launcher.run(spec).pipe(delay(1500)) };
    const r = runner({ CLI_TIMEOUT_SECONDS: '1' }, {}, late);
    const turn = lastValueFrom(r.runTurn(request('[[fake:hang signals=honor]]')).pipe(toArray()));
    const gaveUp = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('the hanging turn was never stopped')), GIVE_UP_MS).unref(),
    );
    const events = await Promise.race([turn, gaveUp]);
    const last = events[events.length - 1];
    expect(last).toMatchObject({
      type: 'turn_end',
      outcome: { kind: 'timeout', timeout: 'overall' },
    });
    const spawned = events.find((e) => e.type === 'spawned');
    expect(isProcessGroupAlive((spawned as { pid: number }).pid)).toBe(false);
  });

  it('removes the prompt file when the turn is unsubscribed (cancel)', async () => {
    const r = runner();
    const seen = await new Promise<boolean>((resolve) => {
      const sub = r.runTurn(request(bigPrompt('[[fake:hang]]'))).subscribe((e) => {
        if (e.type === 'init') {
          const present = readdirSync(promptDir()).length === 1;
          setTimeout(() => {
            sub.unsubscribe();
            resolve(present);
          }, 50);
        }
      });
    });
    expect(seen).toBe(true);
    expect(existsSync(promptDir())).toBe(false);
  });

  it('removes the prompt file when the CLI cannot be started or the request is refused', async () => {
    const missing = await run(
      runner({ CLAUDE_CLI_COMMAND: '/nonexistent/claude' }),
      request(bigPrompt('hi')),
    );
    expect(missing.outcome.kind).toBe('cli_not_found');
    expect(existsSync(promptDir())).toBe(false);
    const err: unknown = await lastValueFrom(
      runner().runTurn(request(bigPrompt('hi'), { conversationId: 'not-a-uuid' })),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(existsSync(promptDir())).toBe(false);
  });

  it('resumes the conversation on the second turn and keeps the session id; per-process cost adds up', async () => {
    const r = runner();
    const first = request('turn one [[fake:success cost=0.03]]');
    const one = await run(r, first);
    const two = await run(
      r,
      request('turn two [[fake:success cost=0.02]]', {
        conversationId: first.conversationId,
        resume: true,
        priorConversationCostUsd: one.outcome.conversationCostUsd,
      }),
    );
    expect(two.outcome).toMatchObject({ kind: 'success', sessionId: first.conversationId });
    expect(two.outcome.turnCostUsd).toBeCloseTo(0.02, 10);
    expect(two.outcome.conversationCostUsd).toBeCloseTo(0.05, 10);
    const entries = log();
    expect(entries[1].argv).toContain(`--resume=${first.conversationId}`);
    expect(entries[1].argv.some((a) => a.startsWith('--session-id'))).toBe(false);
    expect(entries[1].turn).toBe(2);
  });

  it('derives the per-turn cost when a newer CLI reports the conversation total', async () => {
    const r = runner({}, { FAKE_CLAUDE_COST_MODE: 'conversation', FAKE_CLAUDE_VERSION: '2.2.0' });
    const first = request('one [[fake:success cost=0.03]]');
    const one = await run(r, first);
    const two = await run(
      r,
      request('two [[fake:success cost=0.02]]', {
        conversationId: first.conversationId,
        resume: true,
        priorConversationCostUsd: one.outcome.conversationCostUsd,
      }),
    );
    expect(two.outcome.turnCostUsd).toBeCloseTo(0.02, 10);
    expect(two.outcome.conversationCostUsd).toBeCloseTo(0.05, 10);
  });

  it('classifies an unknown resume id as an execution error', async () => {
    const { outcome, events } = await run(runner(), request('hello', { resume: true }));
    expect(events.some((e) => e.type === 'init')).toBe(false);
    expect(outcome.kind).toBe('execution_error');
    expect(outcome.text).toMatch(/No conversation found with session ID/);
    expect(outcome.exitCode).toBe(1);
  });

  it('follows a per-conversation script across turns', async () => {
    const r = runner();
    const first = request(
      'task [[fake-script:ask-question | edit-files path=src/a.js content="module.exports = 1;\\n" | success]]',
    );
    expect((await run(r, first)).outcome).toMatchObject({
      kind: 'success',
      text: expect.stringMatching(/\?$/),
    });
    const next = { conversationId: first.conversationId, resume: true };
    expect((await run(r, request('answer: yes', next))).outcome.kind).toBe('success');
    expect(readFileSync(join(project, 'src/a.js'), 'utf8')).toBe('module.exports = 1;\n');
    expect((await run(r, request('go on', next))).outcome.kind).toBe('success');
    expect(log().map((e) => e.scenario)).toEqual(['ask-question', 'edit-files', 'success']);
  });

  it('follows FAKE_CLAUDE_SCENARIO by turn number', async () => {
    const r = runner({}, { FAKE_CLAUDE_SCENARIO: 'stop-short,success' });
    const first = request('plain task');
    expect((await run(r, first)).outcome).toMatchObject({
      kind: 'success',
      text: expect.stringMatching(/^I have set up the module skeleton/),
    });
    const second = await run(
      r,
      request('continue', { conversationId: first.conversationId, resume: true }),
    );
    expect(second.outcome.kind).toBe('success');
  });

  it('edits files and reports the tool calls', async () => {
    const { events, outcome } = await run(
      runner(),
      request('[[fake:edit-files path=lib/x.txt content="hello\\nworld"]]'),
    );
    expect(outcome.kind).toBe('success');
    expect(readFileSync(join(project, 'lib/x.txt'), 'utf8')).toBe('hello\nworld');
    expect(events.find((e) => e.type === 'tool_use')).toMatchObject({ name: 'Write' });
    expect(events.find((e) => e.type === 'tool_result')).toMatchObject({ isError: false });
  });

  it.each([
    ['node', 'pass', 0],
    ['node', 'fail', 1],
    ['python', 'pass', 0],
    ['python', 'fail', 1],
  ])('writes a real %s test file that does %s', async (lang, result, expectedExit) => {
    const { outcome } = await run(
      runner(),
      request(`[[fake:write-tests lang=${lang} result=${result}]]`),
    );
    expect(outcome.kind).toBe('success');
    const cmd =
      lang === 'node'
        ? spawnSync(process.execPath, ['--test', 'test/generated.test.js'], {
            cwd: project,
            encoding: 'utf8',
            timeout: SYNC_CHILD_TIMEOUT_MS,
          })
        : spawnSync('python3', ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.'], {
            cwd: project,
            encoding: 'utf8',
            timeout: SYNC_CHILD_TIMEOUT_MS,
          });
    expect(cmd.status).toBe(expectedExit);
  });

  it.each([
    ['[[fake:api-error]]', 'other'],
    ['[[fake:api-error status=429]]', 'rate_limit'],
    ['[[fake:api-error status=network]]', 'network'],
    ['[[fake:api-error status=401]]', 'not_logged_in'],
    ['[[fake:not-logged-in]]', 'not_logged_in'],
  ])('classifies %s as an API error (%s)', async (prompt, apiError) => {
    const { outcome } = await run(runner(), request(prompt));
    expect(outcome).toMatchObject({ kind: 'api_error', apiError, exitCode: 1 });
  });

  it('classifies a turn limit, an execution error and permission denials', async () => {
    const r = runner();
    expect((await run(r, request('[[fake:max-turns]]'))).outcome).toMatchObject({
      kind: 'max_turns',
    });
    expect((await run(r, request('[[fake:execution-error text=boom]]'))).outcome).toMatchObject({
      kind: 'execution_error',
      text: 'boom',
    });
    const denied = await run(r, request('[[fake:permission-denied]]'));
    expect(denied.outcome.kind).toBe('success_with_denials');
    expect(denied.outcome.permissionDenials).toEqual([
      { toolName: 'Bash', toolUseId: expect.any(String), toolInput: { command: 'rm -rf build' } },
    ]);
  });

  it('reports a crash with its exit code and stderr tail', async () => {
    const { outcome } = await run(runner(), request('[[fake:crash code=2]]'));
    expect(outcome.kind).toBe('crash');
    expect(outcome.exitCode).toBe(2);
    expect(outcome.stderrTail).toContain('fake crash');
    expect(outcome.text).toContain('exit code 2');
  });

  it("redacts the CLI's own credentials wherever the agent prints them: events, result, stderr tail", async () => {
    const key = 'sk-ant-api03-probe-SECRET-0123456789';
    const r = runner({}, { ANTHROPIC_API_KEY: key });
    const { events, outcome } = await run(
      r,
      request('[[fake:shell command="env" command="echo the key is $ANTHROPIC_API_KEY"]]'),
    );
    expect(outcome.kind).toBe('success');
    expect(JSON.stringify(events)).not.toContain(key);
    const results = events.flatMap((e) => (e.type === 'tool_result' ? [e.content] : []));
    expect(results[0]).toContain('ANTHROPIC_API_KEY=[REDACTED]');
    expect(results[1]).toContain('the key is [REDACTED]');

    const crash = await run(r, request(`[[fake:crash code=2 text="Error: bad key ${key}"]]`));
    expect(crash.outcome.stderrTail).toContain('Error: bad key [REDACTED]');
    expect(JSON.stringify(crash)).not.toContain(key);
    // A key across the start of the kept tail (4 KiB) leaves no end of it there either.
    const cut = await run(r, request(`[[fake:crash code=2 text="${key}${'.'.repeat(4070)}"]]`));
    expect(cut.outcome.stderrTail).not.toContain(key.slice(-20));
    expect(cut.outcome.stderrTail).toMatch(/^[^.]*\.{4070}/);
  });

  it('turns a malformed line into a warning and keeps going', async () => {
    const { events, outcome } = await run(runner(), request('[[fake:malformed-line]]'));
    expect(events.find((e) => e.type === 'warning')).toMatchObject({ message: 'line is not JSON' });
    expect(events.find((e) => e.type === 'unknown')).toMatchObject({ lineType: 'brand_new_type' });
    expect(outcome.kind).toBe('success');
  });

  it('reads valid JSON of hostile shapes through: 130 000 blocks in a line, a tool input and a result nested deeper than JSON.stringify can write', async () => {
    const { events, outcome } = await run(runner(), request('[[fake:deep-lines]]'));
    expect(events.filter((e) => e.type === 'assistant_text' && e.text === 'x')).toHaveLength(
      130_000,
    );
    expect(events.find((e) => e.type === 'tool_use')).toMatchObject({ name: 'Bash' });
    expect(outcome).toMatchObject({
      kind: 'success_with_denials',
      text: 'Finished despite the odd lines.\nDONE',
      permissionDenials: [expect.objectContaining({ toolName: 'Bash' })],
    });
  });

  it('streams events as they arrive', async () => {
    const times: number[] = [];
    const events = await lastValueFrom(
      new Observable<TurnEvent>((sub) =>
        runner()
          .runTurn(request('[[fake:slow-stream lines=3 delay=300]]'))
          .subscribe({
            next: (e) => {
              if (e.type === 'assistant_text') times.push(Date.now());
              sub.next(e);
            },
            complete: () => sub.complete(),
          }),
      ).pipe(toArray()),
    );
    expect(times.length).toBeGreaterThanOrEqual(3);
    expect(times[2] - times[0]).toBeGreaterThanOrEqual(450);
    expect(events[events.length - 1]).toMatchObject({
      type: 'turn_end',
      outcome: { kind: 'success' },
    });
  });

  it('kills a hung CLI on the overall timeout and leaves no process of its group alive', async () => {
    const started = Date.now();
    const { events, outcome } = await run(
      runner({ CLI_TIMEOUT_SECONDS: '1' }),
      request('[[fake:hang]]'),
    );
    expect(outcome).toMatchObject({ kind: 'timeout', timeout: 'overall' });
    const grandchild = Number(/GRANDCHILD (\d+)/.exec(outcome.stderrTail)?.[1]);
    expect(grandchild).toBeGreaterThan(0);
    const pid = spawnedPid(events);
    expect(isProcessAlive(pid)).toBe(false);
    expect(isProcessAlive(grandchild)).toBe(false);
    expect(isProcessGroupAlive(pid)).toBe(false);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('times out a CLI that never prints its init line', async () => {
    const { outcome } = await run(
      runner({ CLI_INIT_TIMEOUT_SECONDS: '1' }),
      request('[[fake:no-init]]'),
    );
    expect(outcome).toMatchObject({ kind: 'timeout', timeout: 'init' });
  });

  it('times out a CLI that goes quiet when an idle limit is set', async () => {
    const { outcome } = await run(
      runner({ CLI_IDLE_TIMEOUT_SECONDS: '1' }),
      request('[[fake:slow-stream lines=2 delay=3000]]'),
    );
    expect(outcome).toMatchObject({ kind: 'timeout', timeout: 'idle' });
  });

  it('kills a CLI that lingers after its result line, keeping the result', async () => {
    const { events, outcome } = await run(runner(), request('[[fake:linger]]'));
    expect(outcome.kind).toBe('success');
    const grandchild = Number(/GRANDCHILD (\d+)/.exec(outcome.stderrTail)?.[1]);
    expect(grandchild).toBeGreaterThan(0);
    expect(isProcessAlive(spawnedPid(events))).toBe(false);
    expect(isProcessAlive(grandchild)).toBe(false);
  });

  it('kills the process group when the subscriber unsubscribes (cancel)', async () => {
    const r = runner();
    const got = await new Promise<{ pid: number; grandchild: number }>((resolve) => {
      let pid = 0;
      const sub = r.runTurn(request('[[fake:hang]]')).subscribe((e) => {
        if (e.type === 'spawned') pid = e.pid;
        if (e.type === 'init') {
          setTimeout(() => {
            const stat = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
            sub.unsubscribe();
            resolve({ pid, grandchild: Number(stat.split(' ')[0]) });
          }, 200);
        }
      });
    });
    expect(got.grandchild).toBeGreaterThan(0);
    // Every member of the group, the agent's own children too, not only the two seen here.
    await eventually('the process group to be gone', () => !isProcessGroupAlive(got.pid));
    expect(isProcessAlive(got.pid)).toBe(false);
    expect(isProcessAlive(got.grandchild)).toBe(false);
  });

  it('reads 200 MB of output holding a bounded amount of it, capping what it passes on', async () => {
    // A loaded machine may slow the agent, which runs nicer than the server, well past 20 s.
    const r = runner(
      { CLI_MAX_OUTPUT_BYTES: String(1024 * 1024), CLI_TIMEOUT_SECONDS: '240' },
      { FAKE_CLAUDE_HUGE_BYTES: String(200 * 1024 * 1024) },
    );
    // What the read holds on to, not what it let go of and the collector has not freed yet (the
    // process's RSS counts both: a loaded machine lets such garbage pile up).
    const retained = () => {
      collectGarbage();
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return heapUsed + arrayBuffers;
    };
    const before = retained();
    let most = 0;
    let samples = 0;
    // A full collection holds the event loop (45 ms with this worker's heap): sampling leaves it
    // at most a tenth of the time, so the read it measures goes on at its pace.
    let sampler: NodeJS.Timeout;
    const sample = (): void => {
      const started = Date.now();
      most = Math.max(most, retained() - before);
      samples++;
      sampler = setTimeout(sample, Math.max(200, 10 * (Date.now() - started)));
    };
    sampler = setTimeout(sample, 200);
    let passedBytes = 0;
    let warnings = 0;
    let outcome: TurnOutcome | null = null;
    await new Promise<void>((resolve) =>
      r.runTurn(request('[[fake:huge-output]]')).subscribe({
        next: (e) => {
          if (e.type === 'assistant_text') passedBytes += e.text.length;
          if (e.type === 'warning') warnings++;
          if (e.type === 'turn_end') outcome = e.outcome;
        },
        complete: resolve,
      }),
    );
    clearTimeout(sampler);
    expect(outcome).toMatchObject({ kind: 'success', text: 'Printed a lot.\nDONE' });
    expect(warnings).toBe(1);
    expect(passedBytes).toBeLessThanOrEqual(1024 * 1024);
    expect(samples).toBeGreaterThan(0);
    // Output not yet handled is bounded by its flow control, at 8 MB (`process-host.ts`); what was
    // handled is let go (seen: 15-31 MB at most; 108-118 MB, sampled every 50 ms, while the
    // delivery queue kept it).
    expect(most).toBeLessThan(64 * 1024 * 1024);
  });

  it('shortens the string of an endless line to the line limit and still reads the line', async () => {
    const r = runner({ CLI_MAX_LINE_BYTES: String(64 * 1024) });
    const { events, outcome } = await run(
      r,
      request('[[fake:huge-output bytes=20000000 line=single]]'),
    );
    expect(events.find((e) => e.type === 'warning')).toMatchObject({
      message: expect.stringMatching(/^line of 2\d{7} bytes had long strings shortened/),
    });
    const texts = events.filter((e) => e.type === 'assistant_text').map((e) => e.text);
    expect(texts).toHaveLength(2);
    const cut = Number(CUT.exec(texts[0])?.[1]);
    expect(texts[0].startsWith('xxxx')).toBe(true);
    expect(texts[0].length).toBeLessThanOrEqual(64 * 1024);
    expect(texts[0].length - CUT.exec(texts[0])![0].length + cut).toBeGreaterThanOrEqual(20e6);
    expect(outcome).toMatchObject({ kind: 'success', text: 'Printed a lot.\nDONE' });
  });

  it('skips an endless line of structure, keeping at most the line limit plus its slack', async () => {
    const r = runner({ CLI_MAX_LINE_BYTES: String(64 * 1024) });
    const { events, outcome } = await run(
      r,
      request('[[fake:huge-output bytes=20000000 line=structure]]'),
    );
    expect(events.filter((e) => e.type === 'warning')).toEqual([
      {
        type: 'warning',
        message: expect.stringMatching(
          new RegExp(`exceeds the line limit; cut to ${(64 + 256) * 1024} bytes and skipped`),
        ),
        line: expect.stringMatching(/^\{"type":"assistant"/),
      },
    ]);
    expect(events.filter((e) => e.type === 'assistant_text')).toHaveLength(1);
    expect(outcome).toMatchObject({ kind: 'success', text: 'Printed a lot.\nDONE' });
  });

  it('reads a success whose result text is 5 MB: the text shortened to the line limit', async () => {
    const { events, outcome } = await run(runner(), request('[[fake:success text_bytes=5000000]]'));
    const warnings = events.filter((e) => e.type === 'warning');
    expect(warnings).toHaveLength(2);
    for (const w of warnings)
      expect(w.message).toMatch(/^line of \d{7} bytes had long strings shortened to fit/);
    expect(outcome).toMatchObject({ kind: 'success', exitCode: 0, turnCostUsd: 0.01 });
    const text = outcome.text ?? '';
    expect(
      text.startsWith(
        'The requested change is implemented.\nDONE\n"quoted" back\\slash é 漢字 😀 \u0001 ',
      ),
    ).toBe(true);
    expect(Number(CUT.exec(text)?.[1])).toBeGreaterThan(1_000_000);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(Buffer.byteLength(text)).toBeGreaterThan(3 * 1024 * 1024);
    expect(text).not.toContain('\ufffd');
  });

  it('past the output cap reads the result line whatever its key order, and only a real result', async () => {
    const r = runner({ CLI_MAX_OUTPUT_BYTES: String(1024 * 1024) });
    const { events, outcome } = await run(
      r,
      request('[[fake:huge-output bytes=2000000 line=8192 key_order=type-late decoy=true]]'),
    );
    const cutAt = events.findIndex((e) => e.type === 'warning' && e.message.includes('output cut'));
    expect(cutAt).toBeGreaterThan(0);
    expect(events.slice(cutAt + 1).map((e) => e.type)).toEqual(['result', 'turn_end']);
    expect(events.find((e) => e.type === 'init')).toMatchObject({ cliVersion: '2.1.197' });
    expect(outcome).toMatchObject({ kind: 'success', text: 'Printed a lot.\nDONE', exitCode: 0 });
  });

  it('runs a CLAUDE_CLI_COMMAND relative to the server directory, not to the project', async () => {
    const command = relative(process.cwd(), FAKE);
    expect(command).toMatch(/^[^/]/);
    const { outcome } = await run(
      runner({ CLAUDE_CLI_COMMAND: command }),
      request('hi [[fake:success]]'),
    );
    expect(outcome.kind).toBe('success');
    expect(log()[0].cwd).toBe(project);
  });

  it('names the resolved path when a relative CLAUDE_CLI_COMMAND is missing', async () => {
    const { outcome } = await run(
      runner({ CLAUDE_CLI_COMMAND: './no-such-dir/claude' }),
      request('hi'),
    );
    expect(outcome).toMatchObject({
      kind: 'cli_not_found',
      text: `not found at ${join(process.cwd(), 'no-such-dir', 'claude')}`,
    });
  });

  it('reports a missing CLI as cli_not_found', async () => {
    const { events, outcome } = await run(
      runner({ CLAUDE_CLI_COMMAND: '/nonexistent/claude' }),
      request('hi'),
    );
    expect(events).toHaveLength(1);
    expect(outcome).toMatchObject({
      kind: 'cli_not_found',
      text: 'not found at /nonexistent/claude',
    });
  });

  it('refuses to run when the project path no longer is its real path', async () => {
    const link = join(root, 'link');
    symlinkSync(project, link);
    const err: unknown = await lastValueFrom(runner().runTurn(request('hi', { cwd: link }))).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkingDirectoryGoneError);
    const missing = join(root, 'missing');
    const gone: unknown = await lastValueFrom(
      runner().runTurn(request('hi', { cwd: missing })),
    ).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(WorkingDirectoryGoneError);
    // Not told as deleted (the server that accepted the task may see it), and this server named.
    expect((gone as Error).message).toBe(
      `directory ${missing} cannot be found on this server (${hostname()})`,
    );
    const named: unknown = await lastValueFrom(
      runner({ INSTANCE_ID: 'b', HOST_ID: 'rack-2' }).runTurn(request('hi', { cwd: missing })),
    ).catch((e: unknown) => e);
    expect((named as Error).message).toBe(
      `directory ${missing} cannot be found on this server (b@rack-2)`,
    );
    expect(existsSync(logFile)).toBe(false);
  });
});

describe('the fake CLI rejects argv mistakes like the real one', () => {
  const fake = (args: string[], input?: string) =>
    spawnSync(FAKE, args, {
      cwd: project,
      encoding: 'utf8',
      timeout: SYNC_CHILD_TIMEOUT_MS,
      input,
      env: {
        PATH: process.env.PATH,
        FAKE_CLAUDE_LOG: logFile,
        FAKE_CLAUDE_STATE_DIR: join(root, 'state'),
      },
    });

  it.each<[string[], RegExp]>([
    [
      ['-p', '--output-format=stream-json', '--verbose', '--bogus=1', '--', 'x'],
      /^error: unknown option '--bogus=1'$/m,
    ],
    [['-p', '--output-format=stream-json', '--', 'x'], /requires --verbose/],
    [
      [
        '-p',
        '--output-format=stream-json',
        '--verbose',
        '--allowedTools',
        'Read',
        'Edit',
        'the prompt',
      ],
      /Input must be provided/,
    ],
    [
      ['-p', '--output-format=stream-json', '--verbose', '--session-id=abc', '--', 'x'],
      /Invalid session ID/,
    ],
    [
      ['-p', '--output-format=stream-json', '--verbose', '--permission-mode=yolo', '--', 'x'],
      /argument 'yolo' is invalid/,
    ],
  ])('%j fails with exit 1', (args, message) => {
    const res = fake(args);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(message);
    expect(res.stdout).toBe('');
  });

  it('refuses a session id that is already in use', () => {
    const id = randomUUID();
    expect(
      fake(['-p', '--output-format=stream-json', '--verbose', `--session-id=${id}`, '--', 'x'])
        .status,
    ).toBe(0);
    const again = fake([
      '-p',
      '--output-format=stream-json',
      '--verbose',
      `--session-id=${id}`,
      '--',
      'x',
    ]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`Session ID ${id} is already in use.`);
  });

  it('notices an open stdin pipe and appends what arrives to the prompt', () => {
    const res = fake(['-p', '--output-format=stream-json', '--verbose', '--', 'x'], 'from stdin');
    expect(res.status).toBe(0);
    const [entry] = log();
    expect(entry).toMatchObject({ stdin: 'pipe', stdinClosed: false, prompt: 'x\n\nfrom stdin' });
  });

  it('prints what the new scenario args ask, still parsing options in both forms', () => {
    const res = spawnSync(
      FAKE,
      [
        '-p',
        '--output-format',
        'stream-json',
        '--verbose',
        '--permission-mode',
        'acceptEdits',
        '--allowedTools',
        'Read',
        'Edit',
        '--max-turns=5',
        '--',
        '[[fake:success text_bytes=300000 key_order=type-late]]',
      ],
      {
        cwd: project,
        encoding: 'utf8',
        timeout: SYNC_CHILD_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
        env: { PATH: process.env.PATH, FAKE_CLAUDE_STATE_DIR: join(root, 'state') },
      },
    );
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines.map((l) => Object.keys(JSON.parse(l) as object).slice(0, 3))).toEqual([
      ['session_id', 'uuid', 'type'],
      ['session_id', 'uuid', 'type'],
      ['session_id', 'uuid', 'type'],
    ]);
    const result = JSON.parse(lines[2]) as { type: string; result: string; permission_denials: [] };
    expect(result.type).toBe('result');
    expect(Buffer.byteLength(result.result)).toBeGreaterThanOrEqual(300_000);
    expect(result.result).toMatch(
      /^The requested change is implemented\.\nDONE\n"quoted" back\\slash/,
    );
    const init = JSON.parse(lines[0]) as { permissionMode: string };
    expect(init.permissionMode).toBe('acceptEdits');
  });

  it.each([50_000, 60_000])(
    'loses no output when it exits with the pipe full (%d bytes, reader 0.3 s behind)',
    (bytes) => {
      // The fake's last lines are still queued inside it when it exits: they used to be dropped.
      const res = spawnSync(
        '/bin/sh',
        ['-c', '"$FAKE" -p --output-format=stream-json --verbose -- "$PROMPT" | (sleep 0.3; cat)'],
        {
          cwd: project,
          encoding: 'utf8',
          timeout: SYNC_CHILD_TIMEOUT_MS,
          env: {
            PATH: process.env.PATH,
            FAKE,
            PROMPT: `[[fake:huge-output bytes=${bytes} line=1024]]`,
            FAKE_CLAUDE_STATE_DIR: join(root, 'state'),
          },
        },
      );
      expect(res.status).toBe(0);
      const lines = res.stdout.trim().split('\n');
      expect(JSON.parse(lines[lines.length - 1])).toMatchObject({
        type: 'result',
        result: 'Printed a lot.\nDONE',
      });
    },
  );
});

describe('CliAvailabilityService', () => {
  const cliStatus = (command: string, env: NodeJS.ProcessEnv): CliAvailabilityService =>
    new CliAvailabilityService(
      loadConfig({ CLAUDE_CLI_COMMAND: command }),
      new Clock(),
      launcher,
      NO_ISOLATION,
      env,
    );

  it('reports the version of the configured CLI and that it is logged in', async () => {
    const svc = cliStatus(FAKE, { PATH: process.env.PATH });
    await svc.onModuleInit();
    expect(svc.status()).toEqual({
      command: FAKE,
      available: true,
      version: '2.1.197',
      error: null,
      loggedIn: true,
      authMethod: 'claude.ai',
    });
  });

  it.each([
    ['a relative path', () => relative(process.cwd(), FAKE)],
    ['a ./relative path', () => `./${relative(process.cwd(), FAKE)}`],
  ])(
    'finds a CLI given as %s from the server directory (the probe runs elsewhere)',
    async (_, command) => {
      expect(await cliStatus(command(), { PATH: process.env.PATH }).check()).toMatchObject({
        command: command(),
        available: true,
        version: '2.1.197',
        error: null,
      });
    },
  );

  it('probes in a directory of its own under the temp directory, removed afterwards', async () => {
    // Not the temp directory itself: a server that stops ends whatever works in (or under) its
    // children's directories, and every task's processes may work under the temp directory.
    const record = join(root, 'probe-cwd');
    const cli = join(root, 'claude-probe');
    writeFileSync(cli, `#!/bin/sh\npwd > '${record}'\necho '2.1.197 (Claude Code)'\n`);
    chmodSync(cli, 0o755);
    expect(await cliStatus(cli, { PATH: process.env.PATH }).check()).toMatchObject({
      available: true,
      version: '2.1.197',
    });
    const probedIn = readFileSync(record, 'utf8').trim();
    expect(probedIn.startsWith(join(realpathSync(tmpdir()), 'cta-cli-probe-'))).toBe(true);
    expect(existsSync(probedIn)).toBe(false);
  });

  it('reports a missing CLI clearly', async () => {
    expect(await cliStatus('no-such-claude-binary', { PATH: process.env.PATH }).check()).toEqual({
      command: 'no-such-claude-binary',
      available: false,
      version: null,
      error: 'not found at no-such-claude-binary',
      loggedIn: null,
      authMethod: null,
    });
  });

  it('reports a CLI whose --version fails', async () => {
    const status = await cliStatus(process.execPath, {}).check();
    expect(status.available).toBe(true);
    expect(await cliStatus('/bin/false', {}).check()).toMatchObject({
      available: false,
      error: expect.stringMatching(/exit code 1/),
    });
  });

  it('asks again for a status older than the given age', async () => {
    let now = 1_000_000;
    const clock = Object.assign(new Clock(), { nowMs: () => now });
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, FAKE_CLAUDE_LOGIN: 'none' };
    const svc = new CliAvailabilityService(
      loadConfig({ CLAUDE_CLI_COMMAND: FAKE, CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*' }),
      clock,
      launcher,
      NO_ISOLATION,
      env,
    );
    expect((await svc.freshStatus(60_000)).loggedIn).toBe(false);
    delete env.FAKE_CLAUDE_LOGIN;
    now += 30_000;
    expect((await svc.freshStatus(60_000)).loggedIn).toBe(false);
    now += 31_000;
    expect((await svc.freshStatus(60_000)).loggedIn).toBe(true);
  });
});
