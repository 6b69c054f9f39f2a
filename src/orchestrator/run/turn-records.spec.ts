import { NOT_WRITABLE } from 'src/common';
import { TurnOutcome } from 'src/claude-cli';
import {
  capData,
  capText,
  eventInteraction,
  MAX_INTERACTION_DATA_BYTES,
  MAX_TURN_NOISE_EVENTS,
  MAX_TURN_STORED_BYTES,
  MAX_TURN_STORED_EVENTS,
  testRunInteraction,
  turnEndInteractions,
  TurnStorageBudget,
} from 'src/orchestrator/run/turn-records';
import { TestRunReport } from 'src/test-runner';

const outcome = (over: Partial<TurnOutcome>): TurnOutcome => ({
  kind: 'success',
  text: 'DONE',
  permissionDenials: [],
  conversationCostUsd: 0.03,
  turnCostUsd: 0.01,
  inputTokens: 100,
  outputTokens: 50,
  numTurns: 2,
  durationMs: 1200,
  exitCode: 0,
  stderrTail: '',
  sessionId: '3f1c2a9e-0000-4000-8000-000000000001',
  ...over,
});

describe('capText', () => {
  it('keeps short text as is', () => {
    expect(capText('hello', 10)).toBe('hello');
  });

  it('cuts long text at the byte limit with a marker naming what was dropped', () => {
    const cut = capText('a'.repeat(100), 10);
    expect(cut.startsWith('a'.repeat(10))).toBe(true);
    expect(cut).toContain('90 more bytes not stored');
  });

  it('never splits a multi-byte character', () => {
    const cut = capText('é'.repeat(10), 5);
    expect(cut.split('\n')[0]).toBe('éé');
    expect(cut).not.toContain('\uFFFD');
  });
});

describe('capData', () => {
  it("stands a note for data nested deeper than JSON can be written (an agent's tool input)", () => {
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) as unknown;
    expect(capData({ input: deep })).toEqual({ truncated: true, preview: NOT_WRITABLE });
  });

  it('keeps small data and replaces large data by a truncated preview', () => {
    expect(capData({ a: 1 })).toEqual({ a: 1 });
    const big = capData({ content: 'x'.repeat(MAX_INTERACTION_DATA_BYTES * 2) });
    expect(big.truncated).toBe(true);
    expect(String(big.preview).length).toBeLessThan(MAX_INTERACTION_DATA_BYTES + 200);
  });
});

describe('eventInteraction', () => {
  it('stores tool uses with their input and tool results with their flag', () => {
    expect(
      eventInteraction(
        {
          type: 'tool_use',
          id: 't1',
          name: 'Write',
          input: { file_path: 'a.js' },
          messageId: null,
        },
        3,
      ),
    ).toEqual({
      kind: 'tool_use',
      iteration: 3,
      content: 'Write',
      data: { id: 't1', name: 'Write', input: { file_path: 'a.js' } },
    });
    expect(
      eventInteraction({ type: 'tool_result', toolUseId: 't1', content: 'ok', isError: true }, 3),
    ).toMatchObject({
      kind: 'tool_result',
      content: 'ok',
      data: { tool_use_id: 't1', is_error: true },
    });
  });

  it('stores agent text as assistant and init as system with the CLI version', () => {
    expect(
      eventInteraction({ type: 'assistant_text', text: 'hi', messageId: 'm', synthetic: false }, 1),
    ).toEqual({
      kind: 'assistant',
      iteration: 1,
      content: 'hi',
      data: null,
    });
    expect(
      eventInteraction(
        {
          type: 'init',
          sessionId: 's',
          model: 'm',
          tools: ['Write'],
          cliVersion: '2.1.197',
          permissionMode: 'acceptEdits',
          cwd: '/p',
        },
        1,
      ),
    ).toMatchObject({ kind: 'system', data: { type: 'init', cli_version: '2.1.197' } });
  });

  it("stores the CLI's interruption note as a system event", () => {
    expect(
      eventInteraction(
        {
          type: 'interrupted',
          text: '[Request interrupted by user for tool use]',
          duringToolUse: true,
        },
        2,
      ),
    ).toEqual({
      kind: 'system',
      iteration: 2,
      content: 'The CLI reports the request interrupted during tool use',
      data: { type: 'interrupted', text: '[Request interrupted by user for tool use]' },
    });
  });

  it('leaves spawned, result and turn_end to the turn-end record', () => {
    expect(eventInteraction({ type: 'spawned', pid: 12 }, 1)).toBeNull();
    expect(eventInteraction({ type: 'turn_end', outcome: outcome({}) }, 1)).toBeNull();
  });

  it("leaves the CLI's synthetic API error message to the turn's error record", () => {
    expect(
      eventInteraction(
        { type: 'assistant_text', text: 'API Error: 529', messageId: 'm', synthetic: true },
        1,
      ),
    ).toBeNull();
  });
});

describe('turnEndInteractions', () => {
  it('records one result with the turn cost and tokens for an answered turn', () => {
    const [result, ...rest] = turnEndInteractions(outcome({}), 2);
    expect(rest).toEqual([]);
    expect(result).toMatchObject({
      kind: 'result',
      iteration: 2,
      content: 'DONE',
      costUsd: 0.01,
      inputTokens: 100,
      outputTokens: 50,
      data: { outcome: 'success', conversation_cost_usd: 0.03 },
    });
  });

  it('adds an error record with the stderr tail for a crash', () => {
    const records = turnEndInteractions(
      outcome({ kind: 'crash', text: null, exitCode: 2, stderrTail: 'Error: boom' }),
      4,
    );
    expect(records.map((r) => r.kind)).toEqual(['result', 'error']);
    expect(records[1].content).toBe('The CLI exited without a result: Error: boom');
    expect(records[1].data).toMatchObject({ outcome: 'crash', exit_code: 2 });
  });

  it('says a turn the run interrupted for a person was interrupted, not that it failed, nor that a next turn surely follows', () => {
    const interrupted = outcome({ kind: 'execution_error', text: '[Request interrupted by user]' });
    const records = turnEndInteractions(interrupted, 3, true);
    expect(records.map((r) => [r.kind, r.data?.type ?? null])).toEqual([
      ['result', null],
      ['system', 'turn_interrupted'],
    ]);
    expect(records[1]).toMatchObject({
      iteration: 3,
      content: expect.stringContaining("interrupted (as with Ctrl-C) for a person's message"),
      data: { outcome: 'execution_error' },
    });
    // The task may end instead (cancelled meanwhile, a limit reached): its end lists the message.
    expect(records[1].content).toContain('with the next turn, if the task goes on');
    expect(records[1].content).toContain('messages_undelivered');
    expect(turnEndInteractions(interrupted, 3).map((r) => r.kind)).toEqual(['result', 'error']);
    expect(turnEndInteractions(outcome({}), 3, true).map((r) => r.kind)).toEqual(['result']);
  });

  it("stores an API error's text once: the result carries only the label", () => {
    const text = 'API Error: 529 Overloaded. This is a server-side issue.';
    const records = turnEndInteractions(
      outcome({ kind: 'api_error', apiError: 'overloaded', text, exitCode: 1 }),
      2,
    );
    expect(records.map((r) => [r.kind, r.content])).toEqual([
      ['result', 'API error (overloaded)'],
      ['error', `API error (overloaded): ${text}`],
    ]);
  });
});

describe('testRunInteraction', () => {
  it('summarises the counts and keeps the command and verdict', () => {
    const report: TestRunReport = {
      kind: 'generated',
      command: ['node', '--test'],
      exitCode: 1,
      timedOut: false,
      durationMs: 40,
      output: 'not ok 1',
      passed: false,
      cases: [
        { name: 'a', filePath: 'test/a.test.js', status: 'passed', durationMs: 1, output: '' },
        { name: 'b', filePath: 'test/a.test.js', status: 'failed', durationMs: 1, output: 'x' },
      ],
      invocations: [
        {
          command: ['node', '--test', 'test/a.test.js'],
          exitCode: 1,
          timedOut: false,
          durationMs: 40,
          startError: null,
        },
      ],
    };
    const record = testRunInteraction(report, 5);
    expect(record.kind).toBe('test');
    expect(record.content.split('\n')[0]).toBe(
      'generated tests failed: 1 passed, 1 failed, 0 errors, 0 skipped (40 ms)',
    );
    expect(record.data).toMatchObject({ passed: false, exit_code: 1, command: ['node', '--test'] });
  });
});

describe('TurnStorageBudget', () => {
  const text = (bytes: number, iteration = 1) =>
    eventInteraction(
      { type: 'assistant_text', text: 'x'.repeat(bytes), messageId: null, synthetic: false },
      iteration,
    )!;
  const noise = (i: number) =>
    eventInteraction({ type: 'unknown', lineType: `brand_new_${i}`, subtype: null, raw: {} }, 1)!;

  it('stores everything of an ordinary turn and has nothing to report', () => {
    const budget = new TurnStorageBudget();
    for (let i = 0; i < 50; i += 1) expect(budget.admit(text(1000))).toBe(true);
    expect(budget.omitted(1)).toBeNull();
  });

  it('stops storing once the turn used its bytes, and reports what it left out', () => {
    const budget = new TurnStorageBudget();
    const per = 256 * 1024;
    const admitted = Array.from({ length: 20 }, () => budget.admit(text(per)));
    const stored = admitted.filter(Boolean).length;
    expect(stored).toBe(Math.floor(MAX_TURN_STORED_BYTES / per));
    expect(admitted.slice(stored).every((a) => !a)).toBe(true);
    const note = budget.omitted(3);
    expect(note).toMatchObject({
      kind: 'system',
      iteration: 3,
      data: { type: 'omitted', events: 20 - stored, bytes: (20 - stored) * per },
    });
    expect(note?.content).toContain(`${20 - stored} event(s) of this turn`);
  });

  it('stops storing after MAX_TURN_STORED_EVENTS events, however small', () => {
    const budget = new TurnStorageBudget();
    const admitted = Array.from({ length: MAX_TURN_STORED_EVENTS + 500 }, () =>
      budget.admit(text(0)),
    );
    expect(admitted.filter(Boolean)).toHaveLength(MAX_TURN_STORED_EVENTS);
    expect(budget.omitted(1)?.data).toMatchObject({ events: 500 });
  });

  it('stores only the first warnings and unrecognised lines of a turn', () => {
    const budget = new TurnStorageBudget();
    const admitted = Array.from({ length: 400 }, (_, i) => budget.admit(noise(i)));
    expect(admitted.filter(Boolean)).toHaveLength(MAX_TURN_NOISE_EVENTS);
    expect(budget.admit(text(10))).toBe(true);
    expect(budget.omitted(1)?.data).toMatchObject({ events: 400 - MAX_TURN_NOISE_EVENTS });
  });

  it('stores an interruption even after the warnings of a turn used their share', () => {
    const budget = new TurnStorageBudget();
    for (let i = 0; i < MAX_TURN_NOISE_EVENTS; i += 1) budget.admit(noise(i));
    const interrupted = eventInteraction(
      { type: 'interrupted', text: '[Request interrupted by user]', duringToolUse: false },
      1,
    )!;
    expect(budget.admit(interrupted)).toBe(true);
    expect(budget.omitted(1)).toBeNull();
  });
});
