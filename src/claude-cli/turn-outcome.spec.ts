import { ResultEvent } from 'src/claude-cli/stream-json/claude-events';
import { classifyApiError, classifyTurn, splitCost, TurnFacts } from 'src/claude-cli/turn-outcome';

function result(over: Partial<ResultEvent> = {}): ResultEvent {
  return {
    type: 'result',
    subtype: 'success',
    isError: false,
    text: 'DONE: all good.',
    errors: [],
    totalCostUsd: 0.1,
    usage: {
      inputTokens: 100,
      outputTokens: 20,
      cacheCreationInputTokens: 10,
      cacheReadInputTokens: 5,
    },
    numTurns: 2,
    durationMs: 900,
    permissionDenials: [],
    sessionId: 's1',
    apiErrorStatus: null,
    terminalReason: 'completed',
    ...over,
  };
}

function facts(over: Partial<TurnFacts> = {}): TurnFacts {
  return {
    result: result(),
    deniedEvents: [],
    lastAssistantText: null,
    exitCode: 0,
    signal: null,
    stderrTail: '',
    timedOut: null,
    spawnError: null,
    command: 'claude',
    cliVersion: '2.1.197',
    resumed: false,
    priorConversationCostUsd: 0,
    costReporting: 'auto',
    ...over,
  };
}

describe('classifyTurn', () => {
  it.each<[string, Partial<TurnFacts>, Record<string, unknown>]>([
    ['success', {}, { kind: 'success', text: 'DONE: all good.' }],
    [
      'success with denials',
      { result: result({ permissionDenials: [{ toolName: 'Bash', toolUseId: 't1' }] }) },
      { kind: 'success_with_denials', permissionDenials: [{ toolName: 'Bash', toolUseId: 't1' }] },
    ],
    [
      'denials from system lines',
      { deniedEvents: [{ toolName: 'Write' }] },
      { kind: 'success_with_denials', permissionDenials: [{ toolName: 'Write' }] },
    ],
    [
      'a question is a success: what the text means is for the simulated human',
      { result: result({ text: 'I checked.\n\nShould I also update the docs?' }) },
      { kind: 'success', text: 'I checked.\n\nShould I also update the docs?' },
    ],
    ['empty text', { result: result({ text: '' }) }, { kind: 'success', text: '' }],
    [
      'not logged in',
      {
        exitCode: 1,
        result: result({
          isError: true,
          text: 'Not logged in · Please run /login',
          totalCostUsd: 0,
        }),
      },
      {
        kind: 'api_error',
        apiError: 'not_logged_in',
        text: 'Not logged in · Please run /login',
        exitCode: 1,
      },
    ],
    [
      'rate limit',
      {
        exitCode: 1,
        result: result({
          isError: true,
          apiErrorStatus: 429,
          text: 'API Error: Request rejected (429)',
        }),
      },
      { kind: 'api_error', apiError: 'rate_limit' },
    ],
    [
      'network',
      {
        exitCode: 1,
        result: result({ isError: true, text: 'API Error: Connection error. ECONNREFUSED' }),
      },
      { kind: 'api_error', apiError: 'network' },
    ],
    [
      'other api error',
      {
        exitCode: 1,
        result: result({ isError: true, apiErrorStatus: 400, text: 'API Error: 400 bad' }),
      },
      { kind: 'api_error', apiError: 'other' },
    ],
    [
      'max turns',
      {
        exitCode: 1,
        result: result({
          subtype: 'error_max_turns',
          isError: true,
          text: null,
          errors: ['Reached maximum number of turns (3)'],
        }),
      },
      { kind: 'max_turns', text: 'Reached maximum number of turns (3)' },
    ],
    [
      'unknown resume id',
      {
        exitCode: 1,
        result: result({
          subtype: 'error_during_execution',
          isError: true,
          text: null,
          errors: ['No conversation found with session ID: x'],
        }),
      },
      { kind: 'execution_error', text: 'No conversation found with session ID: x' },
    ],
    [
      'budget exceeded',
      {
        result: result({ subtype: 'error_max_budget_usd', isError: true, text: null, errors: [] }),
      },
      { kind: 'execution_error', text: 'result subtype error_max_budget_usd' },
    ],
    [
      'crash',
      { result: null, exitCode: 2, stderrTail: 'Segmentation fault\n' },
      {
        kind: 'crash',
        text: 'CLI ended without a result (exit code 2): Segmentation fault',
        exitCode: 2,
      },
    ],
    [
      'SIGTERM without result',
      { result: null, exitCode: null, signal: 'SIGTERM' },
      { kind: 'crash', text: 'CLI ended without a result (signal SIGTERM)' },
    ],
    [
      'usage error on stderr',
      { result: null, exitCode: 1, stderrTail: "error: unknown option '--x'" },
      {
        kind: 'crash',
        text: "CLI ended without a result (exit code 1): error: unknown option '--x'",
      },
    ],
    [
      'init timeout',
      { result: null, exitCode: null, signal: 'SIGINT', timedOut: 'init' },
      { kind: 'timeout', timeout: 'init' },
    ],
    [
      'overall timeout',
      { result: null, timedOut: 'overall' },
      { kind: 'timeout', timeout: 'overall' },
    ],
    ['idle timeout', { result: null, timedOut: 'idle' }, { kind: 'timeout', timeout: 'idle' }],
    [
      'overall timeout answered by an aborted result (the real CLI on SIGINT)',
      {
        result: result({
          subtype: 'error_during_execution',
          isError: true,
          text: null,
          errors: ['Request was aborted.'],
        }),
        exitCode: 0,
        timedOut: 'overall',
      },
      {
        kind: 'timeout',
        timeout: 'overall',
        text: 'stopped: overall timeout (the CLI answered: Request was aborted.)',
      },
    ],
    [
      'an API error result that came before the idle timeout stays an API error',
      { result: result({ isError: true, text: 'API Error: 529 overloaded' }), timedOut: 'idle' },
      { kind: 'api_error', apiError: 'overloaded' },
    ],
    [
      'a success that made it out before the timeout',
      { result: result(), timedOut: 'overall' },
      { kind: 'success', text: 'DONE: all good.' },
    ],
    [
      'missing CLI',
      { result: null, spawnError: { code: 'ENOENT', message: 'spawn claude ENOENT' } },
      { kind: 'cli_not_found', text: 'not found at claude' },
    ],
    [
      'CLI not executable',
      { result: null, spawnError: { code: 'EACCES', message: 'spawn EACCES' } },
      { kind: 'cli_not_found', text: 'cannot run claude: EACCES spawn EACCES' },
    ],
  ])('%s', (_name, over, expected) => {
    expect(classifyTurn(facts(over))).toMatchObject(expected);
  });

  it('counts all input tokens, output tokens and copies turn facts', () => {
    expect(classifyTurn(facts())).toMatchObject({
      inputTokens: 115,
      outputTokens: 20,
      numTurns: 2,
      durationMs: 900,
      sessionId: 's1',
      conversationCostUsd: 0.1,
      turnCostUsd: 0.1,
    });
  });

  it('falls back to the last assistant text when the result has none', () => {
    expect(
      classifyTurn(facts({ result: result({ text: null }), lastAssistantText: 'DONE here' })),
    ).toMatchObject({
      kind: 'success',
      text: 'DONE here',
    });
  });
});

describe('splitCost', () => {
  it.each<
    [string, Parameters<typeof splitCost>, { conversationCostUsd: number; turnCostUsd: number }]
  >([
    [
      'first turn',
      [0.3, 0, false, 'auto', '2.1.197'],
      { conversationCostUsd: 0.3, turnCostUsd: 0.3 },
    ],
    [
      '2.1.197 resume: per process',
      [0.2, 0.3, true, 'auto', '2.1.197'],
      { conversationCostUsd: 0.5, turnCostUsd: 0.2 },
    ],
    [
      'older release: per process',
      [0.5, 0.3, true, 'auto', '1.0.80'],
      { conversationCostUsd: 0.8, turnCostUsd: 0.5 },
    ],
    [
      'newer release: conversation total',
      [0.5, 0.3, true, 'auto', '2.2.0'],
      { conversationCostUsd: 0.5, turnCostUsd: 0.2 },
    ],
    [
      'newer release but below prior: per process',
      [0.1, 0.3, true, 'auto', '2.2.0'],
      { conversationCostUsd: 0.4, turnCostUsd: 0.1 },
    ],
    [
      'unknown version',
      [0.5, 0.3, true, 'auto', null],
      { conversationCostUsd: 0.5, turnCostUsd: 0.2 },
    ],
    [
      'forced per_process',
      [0.5, 0.3, true, 'per_process', '9.9.9'],
      { conversationCostUsd: 0.8, turnCostUsd: 0.5 },
    ],
    [
      'forced conversation',
      [0.5, 0.3, true, 'conversation', '2.1.197'],
      { conversationCostUsd: 0.5, turnCostUsd: 0.2 },
    ],
    [
      'forced conversation, impossible report',
      [0.1, 0.3, true, 'conversation', null],
      { conversationCostUsd: 0.4, turnCostUsd: 0.1 },
    ],
    [
      'resume of a free conversation',
      [0.2, 0, true, 'conversation', null],
      { conversationCostUsd: 0.2, turnCostUsd: 0.2 },
    ],
  ])('%s', (_name, args, expected) => {
    const got = splitCost(...args);
    expect(got.conversationCostUsd).toBeCloseTo(expected.conversationCostUsd, 10);
    expect(got.turnCostUsd).toBeCloseTo(expected.turnCostUsd, 10);
  });
});

describe('classifyApiError', () => {
  it.each<[number | null, string, string]>([
    [null, 'Not logged in · Please run /login', 'not_logged_in'],
    [401, 'Failed to authenticate. API Error: 401', 'not_logged_in'],
    [403, 'forbidden', 'not_logged_in'],
    [429, 'Request rejected', 'rate_limit'],
    [529, 'API Error: 529 Overloaded', 'overloaded'],
    [null, 'API Error: 529 Overloaded. This is a server-side issue', 'overloaded'],
    [null, 'API Error: Request rejected (429) · rate limit exceeded', 'rate_limit'],
    [null, 'connect ECONNREFUSED 127.0.0.1:443', 'network'],
    [null, 'API Error: Unable to connect to API (ConnectionRefused)', 'network'],
    [500, 'API Error: 500 Internal server error', 'other'],
  ])('%s %j -> %s', (status, text, expected) => {
    expect(classifyApiError(status, text)).toBe(expected);
  });
});
