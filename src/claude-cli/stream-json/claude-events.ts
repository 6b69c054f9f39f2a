import { jsonText } from 'src/common';
import { SplitLine } from 'src/claude-cli/stream-json/ndjson-line-splitter';

/**
 * Typed events read from the CLI's `--output-format=stream-json` lines. One line can give several
 * events (an `assistant` or `user` line carries content blocks). The `user` line the CLI writes
 * when interrupted is an `interrupted` event. Unknown line types, subtypes and block types pass
 * through as `unknown`; a line that is not JSON becomes a `warning`. Key order does not matter (it
 * differs between releases).
 */

export interface PermissionDenial {
  toolName: string;
  toolUseId?: string;
  toolInput?: unknown;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
}

export interface InitEvent {
  type: 'init';
  sessionId: string | null;
  model: string | null;
  tools: string[];
  cliVersion: string | null;
  permissionMode: string | null;
  cwd: string | null;
}

export interface AssistantTextEvent {
  type: 'assistant_text';
  text: string;
  messageId: string | null;
  /**
   * Written by the CLI itself, not the model: the text of an API error (the line has a top-level
   * `error` and the model `<synthetic>`). The turn's result line repeats it.
   */
  synthetic: boolean;
}

export interface ToolUseEvent {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
  messageId: string | null;
}

export interface ToolResultEvent {
  type: 'tool_result';
  toolUseId: string;
  content: string;
  isError: boolean;
}

export interface ApiRetryEvent {
  type: 'api_retry';
  attempt: number | null;
  maxRetries: number | null;
  retryDelayMs: number | null;
  errorStatus: number | null;
  error: string | null;
}

export interface PermissionDeniedEvent extends PermissionDenial {
  type: 'permission_denied';
}

export interface ResultEvent {
  type: 'result';
  /** `success`, `error_max_turns`, `error_during_execution`, `error_max_budget_usd`, ... */
  subtype: string;
  isError: boolean;
  /** Final text (`result` field); null on error subtypes. */
  text: string | null;
  errors: string[];
  /** As the CLI reports it: per process in some releases, per conversation in others. */
  totalCostUsd: number | null;
  usage: TokenUsage;
  numTurns: number | null;
  durationMs: number | null;
  permissionDenials: PermissionDenial[];
  sessionId: string | null;
  apiErrorStatus: number | null;
  terminalReason: string | null;
}

/**
 * The CLI's own note that the request was interrupted (SIGINT, as with Ctrl-C): a `user` line
 * whose text is `[Request interrupted by user]`, or `... for tool use]` when a tool call was under
 * way. The turn's `result` line follows.
 */
export interface InterruptedEvent {
  type: 'interrupted';
  text: string;
  duringToolUse: boolean;
}

export interface WarningEvent {
  type: 'warning';
  message: string;
  /** Start of the offending line (at most 500 characters). */
  line: string;
}

export interface UnknownEvent {
  type: 'unknown';
  lineType: string;
  subtype: string | null;
  raw: Record<string, unknown>;
}

export type ClaudeEvent =
  | InitEvent
  | AssistantTextEvent
  | ToolUseEvent
  | ToolResultEvent
  | ApiRetryEvent
  | PermissionDeniedEvent
  | ResultEvent
  | InterruptedEvent
  | WarningEvent
  | UnknownEvent;

type Json = Record<string, unknown>;

const SNIPPET = 500;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
/**
 * Largest count or amount taken from the CLI (tokens, cost, durations); larger values are clamped.
 * Three token counts of a turn still add up to less than an `int` column holds (2^31 - 1).
 */
export const MAX_REPORTED_NUMBER = 500_000_000;

/** A non-negative finite number, clamped to MAX_REPORTED_NUMBER; null for anything else. */
function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0
    ? Math.min(v, MAX_REPORTED_NUMBER)
    : null;
}
/** A count: `num` rounded down, 0 when missing or invalid. */
function int(v: unknown): number {
  return Math.floor(num(v) ?? 0);
}

/** Flattens a `tool_result` content (a string or a list of text/image blocks) to text. */
function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((block) => (isObject(block) && typeof block.text === 'string' ? block.text : ''))
    .filter((t) => t.length > 0)
    .join('\n');
}

function parseDenial(v: unknown): PermissionDenial | null {
  if (!isObject(v)) return null;
  const toolName = str(v.tool_name) ?? str(v.toolName);
  if (toolName === null) return null;
  const denial: PermissionDenial = { toolName };
  const id = str(v.tool_use_id) ?? str(v.toolUseId);
  if (id !== null) denial.toolUseId = id;
  const input = v.tool_input ?? v.toolInput;
  if (input !== undefined) denial.toolInput = input;
  return denial;
}

function parseUsage(v: unknown): TokenUsage {
  const u = isObject(v) ? v : {};
  return {
    inputTokens: int(u.input_tokens),
    outputTokens: int(u.output_tokens),
    cacheCreationInputTokens: int(u.cache_creation_input_tokens),
    cacheReadInputTokens: int(u.cache_read_input_tokens),
  };
}

function unknown(obj: Json): UnknownEvent {
  return { type: 'unknown', lineType: str(obj.type) ?? '', subtype: str(obj.subtype), raw: obj };
}

function parseSystem(obj: Json): ClaudeEvent {
  switch (obj.subtype) {
    case 'init':
      return {
        type: 'init',
        sessionId: str(obj.session_id),
        model: str(obj.model),
        tools: Array.isArray(obj.tools)
          ? obj.tools.filter((t): t is string => typeof t === 'string')
          : [],
        cliVersion: str(obj.claude_code_version),
        permissionMode: str(obj.permissionMode),
        cwd: str(obj.cwd),
      };
    case 'api_retry':
      return {
        type: 'api_retry',
        attempt: num(obj.attempt),
        maxRetries: num(obj.max_retries),
        retryDelayMs: num(obj.retry_delay_ms),
        errorStatus: num(obj.error_status),
        error: str(obj.error),
      };
    case 'permission_denied': {
      const denial = parseDenial(obj);
      return denial ? { type: 'permission_denied', ...denial } : unknown(obj);
    }
    default:
      return unknown(obj);
  }
}

function parseAssistant(obj: Json): ClaudeEvent[] {
  const message = isObject(obj.message) ? obj.message : {};
  const messageId = str(message.id);
  const synthetic = typeof obj.error === 'string' || message.model === '<synthetic>';
  const content = Array.isArray(message.content) ? message.content : [];
  const events: ClaudeEvent[] = [];
  for (const block of content) {
    if (isObject(block) && block.type === 'text' && typeof block.text === 'string') {
      events.push({ type: 'assistant_text', text: block.text, messageId, synthetic });
    } else if (isObject(block) && block.type === 'tool_use' && typeof block.name === 'string') {
      events.push({
        type: 'tool_use',
        id: str(block.id) ?? '',
        name: block.name,
        input: block.input,
        messageId,
      });
    } else {
      events.push(unknown({ ...obj, message: { ...message, content: [block] } }));
    }
  }
  return events.length > 0 ? events : [unknown(obj)];
}

/** The texts the CLI writes, as a user message, when a request is interrupted: during tool use? */
const INTERRUPTED_TEXTS = new Map([
  ['[Request interrupted by user]', false],
  ['[Request interrupted by user for tool use]', true],
]);

/** The interruption a user message's text announces, or null for any other text. */
function interruption(text: unknown): InterruptedEvent | null {
  if (typeof text !== 'string') return null;
  const trimmed = text.trim();
  const duringToolUse = INTERRUPTED_TEXTS.get(trimmed);
  return duringToolUse === undefined ? null : { type: 'interrupted', text: trimmed, duringToolUse };
}

function parseUser(obj: Json): ClaudeEvent[] {
  const message = isObject(obj.message) ? obj.message : {};
  const asText = interruption(message.content);
  if (asText) return [asText];
  const content = Array.isArray(message.content) ? message.content : [];
  const events: ClaudeEvent[] = [];
  for (const block of content) {
    const interrupted = isObject(block) && block.type === 'text' ? interruption(block.text) : null;
    if (interrupted) {
      events.push(interrupted);
    } else if (isObject(block) && block.type === 'tool_result') {
      events.push({
        type: 'tool_result',
        toolUseId: str(block.tool_use_id) ?? '',
        content: toolResultText(block.content),
        isError: block.is_error === true,
      });
    }
  }
  return events.length > 0 ? events : [unknown(obj)];
}

function parseResult(obj: Json): ResultEvent {
  return {
    type: 'result',
    subtype: str(obj.subtype) ?? 'unknown',
    isError: obj.is_error === true,
    text: str(obj.result),
    errors: Array.isArray(obj.errors)
      ? obj.errors.map((e) => (typeof e === 'string' ? e : jsonText(e)))
      : [],
    totalCostUsd: num(obj.total_cost_usd),
    usage: parseUsage(obj.usage),
    numTurns: num(obj.num_turns),
    durationMs: num(obj.duration_ms),
    permissionDenials: Array.isArray(obj.permission_denials)
      ? obj.permission_denials.map(parseDenial).filter((d): d is PermissionDenial => d !== null)
      : [],
    sessionId: str(obj.session_id),
    apiErrorStatus: num(obj.api_error_status),
    terminalReason: str(obj.terminal_reason),
  };
}

/**
 * Parses one stream-json line into events; never throws. A `truncated` line is only a warning; a
 * `shortened` one (long strings cut by the splitter, still JSON) is parsed, after a warning.
 */
export function parseClaudeLine(line: SplitLine): ClaudeEvent[] {
  const text = line.text.trim();
  if (text === '') return [];
  if (line.truncated) {
    return [
      {
        type: 'warning',
        message: `line of ${line.bytes} bytes exceeds the line limit; cut to ${Buffer.byteLength(line.text)} bytes and skipped`,
        line: text.slice(0, SNIPPET),
      },
    ];
  }
  const events = parseJsonLine(text);
  if (!line.shortened) return events;
  return [
    {
      type: 'warning',
      message: `line of ${line.bytes} bytes had long strings shortened to fit CLI_MAX_LINE_BYTES (${Buffer.byteLength(line.text)} bytes kept)`,
      line: text.slice(0, SNIPPET),
    },
    ...events,
  ];
}

function parseJsonLine(text: string): ClaudeEvent[] {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return [{ type: 'warning', message: 'line is not JSON', line: text.slice(0, SNIPPET) }];
  }
  if (!isObject(obj) || typeof obj.type !== 'string') {
    return [
      {
        type: 'warning',
        message: 'line is not a JSON object with a type',
        line: text.slice(0, SNIPPET),
      },
    ];
  }
  switch (obj.type) {
    case 'system':
      return [parseSystem(obj)];
    case 'assistant':
      return parseAssistant(obj);
    case 'user':
      return parseUser(obj);
    case 'result':
      return [parseResult(obj)];
    default:
      return [unknown(obj)];
  }
}
