import { MAX_REPORTED_NUMBER, parseClaudeLine } from 'src/claude-cli/stream-json/claude-events';

const line = (obj: unknown) => ({
  text: typeof obj === 'string' ? obj : JSON.stringify(obj),
  truncated: false,
  bytes: 0,
});

describe('parseClaudeLine', () => {
  it('reads the init line', () => {
    expect(
      parseClaudeLine(
        line({
          type: 'system',
          subtype: 'init',
          session_id: 's1',
          model: 'opus',
          tools: ['Bash', 'Write', 3],
          claude_code_version: '2.1.197',
          permissionMode: 'acceptEdits',
          cwd: '/p',
          extra: true,
        }),
      ),
    ).toEqual([
      {
        type: 'init',
        sessionId: 's1',
        model: 'opus',
        tools: ['Bash', 'Write'],
        cliVersion: '2.1.197',
        permissionMode: 'acceptEdits',
        cwd: '/p',
      },
    ]);
  });

  it('gives one event per assistant content block, unknown blocks passed through', () => {
    const events = parseClaudeLine(
      line({
        type: 'assistant',
        message: {
          id: 'm1',
          content: [
            { type: 'text', text: 'hi' },
            { type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls' } },
            { type: 'thinking', thinking: 'hmm' },
          ],
        },
      }),
    );
    expect(events).toEqual([
      { type: 'assistant_text', text: 'hi', messageId: 'm1', synthetic: false },
      { type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls' }, messageId: 'm1' },
      expect.objectContaining({ type: 'unknown', lineType: 'assistant' }),
    ]);
  });

  it("marks the CLI's own API error message (model <synthetic>, a top-level error) as synthetic", () => {
    const text = 'API Error: 529 Overloaded. This is a server-side issue.';
    expect(
      parseClaudeLine(
        line({
          type: 'assistant',
          message: { id: 'm2', model: '<synthetic>', content: [{ type: 'text', text }] },
          error: 'server_error',
        }),
      ),
    ).toEqual([{ type: 'assistant_text', text, messageId: 'm2', synthetic: true }]);
  });

  it('reads tool results with string or block content', () => {
    expect(
      parseClaudeLine(
        line({
          type: 'user',
          message: {
            content: [
              { type: 'tool_result', tool_use_id: 't1', content: 'ok' },
              {
                type: 'tool_result',
                tool_use_id: 't2',
                is_error: true,
                content: [
                  { type: 'text', text: 'a' },
                  { type: 'text', text: 'b' },
                ],
              },
            ],
          },
        }),
      ),
    ).toEqual([
      { type: 'tool_result', toolUseId: 't1', content: 'ok', isError: false },
      { type: 'tool_result', toolUseId: 't2', content: 'a\nb', isError: true },
    ]);
  });

  it("reads the CLI's interruption note as an interruption, not as an unrecognised line", () => {
    const user = (content: unknown) => line({ type: 'user', message: { role: 'user', content } });
    expect(
      parseClaudeLine(user([{ type: 'text', text: '[Request interrupted by user]' }])),
    ).toEqual([
      { type: 'interrupted', text: '[Request interrupted by user]', duringToolUse: false },
    ]);
    expect(parseClaudeLine(user('[Request interrupted by user for tool use]'))).toEqual([
      {
        type: 'interrupted',
        text: '[Request interrupted by user for tool use]',
        duringToolUse: true,
      },
    ]);
    expect(
      parseClaudeLine(
        user([
          { type: 'tool_result', tool_use_id: 't1', is_error: true, content: 'refused' },
          { type: 'text', text: '[Request interrupted by user for tool use]' },
        ]),
      ),
    ).toEqual([
      { type: 'tool_result', toolUseId: 't1', content: 'refused', isError: true },
      {
        type: 'interrupted',
        text: '[Request interrupted by user for tool use]',
        duringToolUse: true,
      },
    ]);
    expect(
      parseClaudeLine(user([{ type: 'text', text: 'Please [Request interrupted by user]' }])),
    ).toEqual([expect.objectContaining({ type: 'unknown', lineType: 'user' })]);
  });

  it('reads api_retry and permission_denied system lines', () => {
    expect(
      parseClaudeLine(
        line({
          type: 'system',
          subtype: 'api_retry',
          attempt: 1,
          max_retries: 3,
          retry_delay_ms: 500,
          error_status: 429,
          error: 'rate_limit',
        }),
      ),
    ).toEqual([
      {
        type: 'api_retry',
        attempt: 1,
        maxRetries: 3,
        retryDelayMs: 500,
        errorStatus: 429,
        error: 'rate_limit',
      },
    ]);
    expect(
      parseClaudeLine(
        line({
          type: 'system',
          subtype: 'permission_denied',
          tool_name: 'Bash',
          tool_use_id: 't9',
          tool_input: { command: 'rm' },
        }),
      ),
    ).toEqual([
      {
        type: 'permission_denied',
        toolName: 'Bash',
        toolUseId: 't9',
        toolInput: { command: 'rm' },
      },
    ]);
  });

  it('reads a result line', () => {
    const [r] = parseClaudeLine(
      line({
        type: 'result',
        subtype: 'success',
        is_error: false,
        result: 'done',
        num_turns: 3,
        duration_ms: 1200,
        total_cost_usd: 0.25,
        usage: {
          input_tokens: 10,
          output_tokens: 20,
          cache_read_input_tokens: 5,
          cache_creation_input_tokens: 1,
        },
        permission_denials: [
          { tool_name: 'Write', tool_use_id: 'x', tool_input: { file_path: '/a' } },
          { nope: 1 },
        ],
        session_id: 's1',
        api_error_status: null,
        terminal_reason: 'completed',
      }),
    );
    expect(r).toEqual({
      type: 'result',
      subtype: 'success',
      isError: false,
      text: 'done',
      errors: [],
      totalCostUsd: 0.25,
      usage: {
        inputTokens: 10,
        outputTokens: 20,
        cacheCreationInputTokens: 1,
        cacheReadInputTokens: 5,
      },
      numTurns: 3,
      durationMs: 1200,
      permissionDenials: [{ toolName: 'Write', toolUseId: 'x', toolInput: { file_path: '/a' } }],
      sessionId: 's1',
      apiErrorStatus: null,
      terminalReason: 'completed',
    });
  });

  it('takes only non-negative, bounded numbers from a result', () => {
    const [r] = parseClaudeLine(
      line({
        type: 'result',
        subtype: 'success',
        is_error: false,
        result: 'done',
        num_turns: -3,
        duration_ms: 1e308,
        total_cost_usd: -1e9,
        usage: {
          input_tokens: 1.7e308,
          output_tokens: -5,
          cache_read_input_tokens: 12.7,
          cache_creation_input_tokens: '7',
        },
      }),
    );
    expect(r).toMatchObject({
      totalCostUsd: null,
      numTurns: null,
      durationMs: MAX_REPORTED_NUMBER,
      usage: {
        inputTokens: MAX_REPORTED_NUMBER,
        outputTokens: 0,
        cacheCreationInputTokens: 0,
        cacheReadInputTokens: 12,
      },
    });
  });

  it('reads an error result with errors and no text', () => {
    expect(
      parseClaudeLine(
        line({
          type: 'result',
          subtype: 'error_during_execution',
          is_error: true,
          errors: ['No conversation found'],
        }),
      ),
    ).toEqual([
      expect.objectContaining({
        subtype: 'error_during_execution',
        isError: true,
        text: null,
        errors: ['No conversation found'],
        totalCostUsd: null,
      }),
    ]);
  });

  it.each([
    ['not json {', 'line is not JSON'],
    ['[1,2]', 'line is not a JSON object with a type'],
    ['{"no":"type"}', 'line is not a JSON object with a type'],
  ])('warns on %s', (text, message) => {
    expect(parseClaudeLine(line(text))).toEqual([{ type: 'warning', message, line: text }]);
  });

  it('warns on a cut line and skips blank lines', () => {
    expect(parseClaudeLine({ text: '{"type":"assi', truncated: true, bytes: 99 })).toEqual([
      { type: 'warning', message: expect.stringContaining('99 bytes'), line: '{"type":"assi' },
    ]);
    expect(parseClaudeLine(line('   '))).toEqual([]);
  });

  it('reads a shortened line normally, after a warning naming its size', () => {
    const text =
      '{"session_id":"s1","uuid":"u1","type":"result","subtype":"success","result":"DONE: abc[... 5000000 bytes cut]"}';
    const events = parseClaudeLine({ text, truncated: false, shortened: true, bytes: 5_000_107 });
    expect(events).toEqual([
      {
        type: 'warning',
        message: `line of 5000107 bytes had long strings shortened to fit CLI_MAX_LINE_BYTES (${text.length} bytes kept)`,
        line: text,
      },
      expect.objectContaining({
        type: 'result',
        subtype: 'success',
        text: 'DONE: abc[... 5000000 bytes cut]',
        sessionId: 's1',
      }),
    ]);
  });

  it('passes unknown types and subtypes through', () => {
    expect(parseClaudeLine(line({ type: 'stream_event', event: {} }))).toEqual([
      {
        type: 'unknown',
        lineType: 'stream_event',
        subtype: null,
        raw: { type: 'stream_event', event: {} },
      },
    ]);
    expect(parseClaudeLine(line({ type: 'system', subtype: 'compact_boundary' }))).toEqual([
      expect.objectContaining({ type: 'unknown', lineType: 'system', subtype: 'compact_boundary' }),
    ]);
  });
});
