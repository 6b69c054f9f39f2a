import { jsonTextOrNull, NOT_WRITABLE } from 'src/common';
import { TurnEvent, TurnOutcome } from 'src/claude-cli';
import { NewInteraction } from 'src/tasks';
import { TestRunReport } from 'src/test-runner';

/**
 * WHAT IS STORED PER EVENT of an agent turn and per test run: the records a run appends to the
 * event log, their size caps, and the per-turn storage budget.
 */

/** Largest `content` stored for one interaction; agent output beyond it is cut with a marker. */
export const MAX_INTERACTION_CONTENT_BYTES = 256 * 1024;
/** Largest `data` JSON stored for one interaction (tool inputs can carry whole files). */
export const MAX_INTERACTION_DATA_BYTES = 64 * 1024;

/** Cuts `text` to `maxBytes` of UTF-8 (never inside a character) with a marker saying so. */
export function capText(text: string, maxBytes = MAX_INTERACTION_CONTENT_BYTES): string {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= maxBytes) return text;
  let cut = Buffer.from(text, 'utf8').subarray(0, maxBytes).toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return `${cut}\n[... cut: ${bytes - Buffer.byteLength(cut, 'utf8')} more bytes not stored ...]`;
}

/**
 * `data` as given, or a preview of its JSON when that is too large to store, or a note saying it
 * could not be written as JSON (nested deeper than the stack allows: an agent's tool input).
 */
export function capData(data: Record<string, unknown>): Record<string, unknown> {
  const json = jsonTextOrNull(data);
  if (json === null) return { truncated: true, preview: NOT_WRITABLE };
  if (Buffer.byteLength(json, 'utf8') <= MAX_INTERACTION_DATA_BYTES) return data;
  return { truncated: true, preview: capText(json, MAX_INTERACTION_DATA_BYTES) };
}

function interaction(
  kind: NewInteraction['kind'],
  iteration: number,
  content: string,
  data: Record<string, unknown> | null,
): NewInteraction {
  return { kind, iteration, content: capText(content), data: data === null ? null : capData(data) };
}

/**
 * The interaction stored for one event of an agent turn, or null for events that are not stored
 * on their own (`spawned`; `result` and `turn_end` are stored once per turn by
 * `turnEndInteractions`, which knows the classified outcome; an API error's text, which the CLI
 * writes as a synthetic assistant message, is stored once, as the turn's `error`).
 */
export function eventInteraction(event: TurnEvent, iteration: number): NewInteraction | null {
  switch (event.type) {
    case 'spawned':
    case 'result':
    case 'turn_end':
      return null;
    case 'init':
      return interaction('system', iteration, `Agent started (model ${event.model ?? '?'})`, {
        type: 'init',
        session_id: event.sessionId,
        model: event.model,
        cli_version: event.cliVersion,
        permission_mode: event.permissionMode,
        tools: event.tools,
      });
    case 'assistant_text':
      return event.synthetic ? null : interaction('assistant', iteration, event.text, null);
    case 'tool_use':
      return interaction('tool_use', iteration, event.name, {
        id: event.id,
        name: event.name,
        input: event.input,
      });
    case 'tool_result':
      return interaction('tool_result', iteration, event.content, {
        tool_use_id: event.toolUseId,
        is_error: event.isError,
      });
    case 'api_retry':
      return interaction(
        'system',
        iteration,
        `API retry ${event.attempt ?? '?'}/${event.maxRetries ?? '?'}: ${event.error ?? 'error'}`,
        {
          type: 'api_retry',
          attempt: event.attempt,
          max_retries: event.maxRetries,
          retry_delay_ms: event.retryDelayMs,
          error_status: event.errorStatus,
        },
      );
    case 'permission_denied':
      return interaction('system', iteration, `Permission denied: ${event.toolName}`, {
        type: 'permission_denied',
        tool_name: event.toolName,
        tool_use_id: event.toolUseId ?? null,
        tool_input: event.toolInput ?? null,
      });
    case 'interrupted':
      return interaction(
        'system',
        iteration,
        `The CLI reports the request interrupted${event.duringToolUse ? ' during tool use' : ''}`,
        { type: 'interrupted', text: event.text },
      );
    case 'warning':
      return interaction('system', iteration, event.message, {
        type: 'warning',
        line: event.line,
      });
    case 'unknown':
      return interaction('system', iteration, `Unrecognised ${event.lineType} line`, {
        type: 'unknown',
        line_type: event.lineType,
        subtype: event.subtype,
      });
  }
}

const OUTCOME_TEXT: Record<TurnOutcome['kind'], string> = {
  success: 'Turn finished',
  success_with_denials: 'Turn finished; some tool calls were refused',
  api_error: 'API error',
  max_turns: 'The agent reached its tool-turn limit',
  execution_error: 'Error during execution',
  crash: 'The CLI exited without a result',
  timeout: 'The turn timed out',
  cli_not_found: 'The Claude CLI was not found',
};

/** Most bytes (content + data) one agent turn's events may store; the rest is counted only. */
export const MAX_TURN_STORED_BYTES = 2 * 1024 * 1024;
/** Most `warning` and `unknown` events one turn stores (a stream of noise is counted only). */
export const MAX_TURN_NOISE_EVENTS = 20;
/** Most events one turn stores, however small (a flood of empty text blocks is counted only). */
export const MAX_TURN_STORED_EVENTS = 10_000;

/**
 * Bounds what one agent turn writes to `claude_interactions`: its events are stored until
 * MAX_TURN_STORED_BYTES are used or MAX_TURN_STORED_EVENTS are stored, warnings and
 * unrecognised lines only up to MAX_TURN_NOISE_EVENTS; `omitted()` then says, in one
 * interaction, what was left out. A flood of output, of tiny events or of unknown lines costs the
 * database a bounded amount per turn.
 */
export class TurnStorageBudget {
  private storedBytes = 0;
  private storedEvents = 0;
  private noiseEvents = 0;
  private omittedEvents = 0;
  private omittedBytes = 0;

  /** True when `record` may be stored; otherwise it is counted as omitted. */
  admit(record: NewInteraction): boolean {
    const bytes =
      Buffer.byteLength(record.content, 'utf8') +
      (record.data === null ? 0 : Buffer.byteLength(JSON.stringify(record.data), 'utf8'));
    const type = record.data?.type;
    const noise = record.kind === 'system' && (type === 'warning' || type === 'unknown');
    if (
      this.storedBytes + bytes > MAX_TURN_STORED_BYTES ||
      this.storedEvents >= MAX_TURN_STORED_EVENTS ||
      (noise && this.noiseEvents >= MAX_TURN_NOISE_EVENTS)
    ) {
      this.omittedEvents += 1;
      this.omittedBytes += bytes;
      return false;
    }
    this.storedBytes += bytes;
    this.storedEvents += 1;
    if (noise) this.noiseEvents += 1;
    return true;
  }

  /** The note recording what this turn left out, or null when everything was stored. */
  omitted(iteration: number): NewInteraction | null {
    if (this.omittedEvents === 0) return null;
    return interaction(
      'system',
      iteration,
      `${this.omittedEvents} event(s) of this turn (${this.omittedBytes} bytes) not stored: ` +
        `a turn stores at most ${MAX_TURN_STORED_BYTES} bytes, ${MAX_TURN_STORED_EVENTS} events and ${MAX_TURN_NOISE_EVENTS} warnings or unrecognised lines`,
      { type: 'omitted', events: this.omittedEvents, bytes: this.omittedBytes },
    );
  }
}

/** True for outcomes whose turn did what was asked of it (the agent answered). */
export function isAnsweredTurn(outcome: Pick<TurnOutcome, 'kind'>): boolean {
  return outcome.kind === 'success' || outcome.kind === 'success_with_denials';
}

/** The short label of an outcome, e.g. `API error (overloaded)`. */
function outcomeLabel(outcome: TurnOutcome): string {
  const detail = outcome.apiError ?? outcome.timeout;
  return detail ? `${OUTCOME_TEXT[outcome.kind]} (${detail})` : OUTCOME_TEXT[outcome.kind];
}

/**
 * The `result` interaction of a turn (with its cost and tokens), and for a turn that failed an
 * `error` one. The failure's text is stored once, in the `error`; the `result` then carries
 * only the outcome's label. A turn the run `interrupted` for a person's message did not fail: a
 * `system` record (`turn_interrupted`) says so instead of the `error`.
 */
export function turnEndInteractions(
  outcome: TurnOutcome,
  iteration: number,
  interrupted = false,
): NewInteraction[] {
  const answered = isAnsweredTurn(outcome);
  const data = {
    outcome: outcome.kind,
    api_error: outcome.apiError ?? null,
    timeout: outcome.timeout ?? null,
    num_turns: outcome.numTurns,
    duration_ms: outcome.durationMs,
    exit_code: outcome.exitCode,
    session_id: outcome.sessionId,
    permission_denials: outcome.permissionDenials.map((d) => d.toolName),
    conversation_cost_usd: outcome.conversationCostUsd,
  };
  const result: NewInteraction = {
    ...interaction(
      'result',
      iteration,
      answered ? (outcome.text ?? OUTCOME_TEXT[outcome.kind]) : outcomeLabel(outcome),
      data,
    ),
    costUsd: outcome.turnCostUsd,
    inputTokens: outcome.inputTokens,
    outputTokens: outcome.outputTokens,
  };
  if (answered) return [result];
  if (interrupted) {
    return [
      result,
      interaction(
        'system',
        iteration,
        "The turn was interrupted (as with Ctrl-C) for a person's message sent with interrupt; the message goes to the agent with the next turn, if the task goes on (if it ends instead, its messages_undelivered record lists the message).",
        { type: 'turn_interrupted', outcome: outcome.kind, exit_code: outcome.exitCode },
      ),
    ];
  }
  const detail = outcome.text ?? outcome.stderrTail;
  const message = detail ? `${outcomeLabel(outcome)}: ${detail}` : outcomeLabel(outcome);
  return [
    result,
    interaction('error', iteration, message, {
      outcome: outcome.kind,
      api_error: outcome.apiError ?? null,
      timeout: outcome.timeout ?? null,
      exit_code: outcome.exitCode,
      stderr_tail: outcome.stderrTail,
    }),
  ];
}

/** The `test` interaction of one test run. */
export function testRunInteraction(report: TestRunReport, iteration: number): NewInteraction {
  const counts = { passed: 0, failed: 0, error: 0, skipped: 0 };
  for (const c of report.cases) counts[c.status] += 1;
  const verdict = report.passed ? 'passed' : 'failed';
  const summary =
    `${report.kind} tests ${verdict}: ${counts.passed} passed, ${counts.failed} failed, ` +
    `${counts.error} errors, ${counts.skipped} skipped (${report.durationMs} ms)`;
  return interaction('test', iteration, `${summary}\n${report.output}`, {
    kind: report.kind,
    passed: report.passed,
    command: report.command,
    exit_code: report.exitCode,
    timed_out: report.timedOut,
    duration_ms: report.durationMs,
    counts,
    invocations: report.invocations.length,
  });
}
