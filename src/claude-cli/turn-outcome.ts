import { jsonText } from 'src/common';
import { PermissionDenial, ResultEvent } from 'src/claude-cli/stream-json/claude-events';

/**
 * HOW A TURN IS JUDGED. `classifyTurn` is a pure function from what a turn produced (its result
 * line, exit, stderr, timeouts) to a `TurnOutcome`. The result line decides, not the exit code
 * (see docs/claude-cli.md); no result line with a non-zero exit is a crash. What the agent's text
 * means (finished, a question, stopped short) is not judged here: the simulated human reads it.
 */

export type TurnOutcomeKind =
  | 'success'
  | 'success_with_denials'
  | 'api_error'
  | 'max_turns'
  | 'execution_error'
  | 'crash'
  | 'timeout'
  | 'cli_not_found';

export type ApiErrorKind = 'not_logged_in' | 'network' | 'rate_limit' | 'overloaded' | 'other';
export type TimeoutKind = 'init' | 'overall' | 'idle';

export interface TurnOutcome {
  kind: TurnOutcomeKind;
  /** Final result text, or the joined errors, or the stderr tail. */
  text: string | null;
  apiError?: ApiErrorKind;
  timeout?: TimeoutKind;
  permissionDenials: PermissionDenial[];
  /** What the whole conversation has cost so far, this turn included. */
  conversationCostUsd: number;
  /** What this turn cost. */
  turnCostUsd: number;
  inputTokens: number;
  outputTokens: number;
  numTurns: number | null;
  durationMs: number | null;
  exitCode: number | null;
  stderrTail: string;
  sessionId: string | null;
}

/**
 * How the CLI reports `total_cost_usd` on a resumed turn: `per_process` (this run only; 2.1.197,
 * proven by the contract suite), `conversation` (all turns of the conversation; newer releases per
 * the CLI notes), or `auto` (decide from the CLI version and the numbers).
 */
export type CostReporting = 'auto' | 'per_process' | 'conversation';

/** Newest CLI release known to report per-process cost on resume (checked by the contract suite). */
export const LAST_PER_PROCESS_COST_VERSION = '2.1.197';

export interface TurnFacts {
  result: ResultEvent | null;
  /** Permission denials seen as `system/permission_denied` lines (newer releases). */
  deniedEvents: PermissionDenial[];
  lastAssistantText: string | null;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
  timedOut: TimeoutKind | null;
  spawnError: { code: string; message: string } | null;
  command: string;
  cliVersion: string | null;
  resumed: boolean;
  priorConversationCostUsd: number;
  costReporting: CostReporting;
}

/** Classifies an API error from the result's HTTP status and text. */
export function classifyApiError(status: number | null, text: string): ApiErrorKind {
  if (
    /not logged in|please run \/login|invalid api key|failed to authenticate|authentication_error|oauth token/i.test(
      text,
    )
  )
    return 'not_logged_in';
  if (status === 401 || status === 403) return 'not_logged_in';
  if (status === 529 || /\b529\b|overloaded/i.test(text)) return 'overloaded';
  if (status === 429 || /\b429\b|rate.?limit/i.test(text)) return 'rate_limit';
  if (
    /unable to connect|connection ?refused|connection ?reset|connection error|ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH|network|socket hang up|fetch failed|timed? ?out/i.test(
      text,
    )
  )
    return 'network';
  return 'other';
}

function versionAtMost(version: string, limit: string): boolean | null {
  const parse = (v: string): number[] | null => {
    const m = /(\d+)\.(\d+)\.(\d+)/.exec(v);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
  };
  const a = parse(version);
  const b = parse(limit);
  if (!a || !b) return null;
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return true;
}

/**
 * Conversation total and per-turn cost from the reported figure. On a first turn both readings
 * agree. On a resumed turn: `per_process` adds the report to the prior total; `conversation` takes
 * the report as the total. `auto` treats releases up to LAST_PER_PROCESS_COST_VERSION as
 * per-process, and otherwise as `conversation` unless the report is below what earlier turns
 * already cost (which only a per-process figure can be).
 */
export function splitCost(
  reported: number,
  prior: number,
  resumed: boolean,
  mode: CostReporting,
  cliVersion: string | null,
): { conversationCostUsd: number; turnCostUsd: number } {
  const perProcess = { conversationCostUsd: prior + reported, turnCostUsd: reported };
  if (!resumed || prior <= 0) return perProcess;
  const cumulative = { conversationCostUsd: reported, turnCostUsd: reported - prior };
  if (mode === 'per_process') return perProcess;
  if (mode === 'conversation') return reported >= prior ? cumulative : perProcess;
  if (cliVersion !== null && versionAtMost(cliVersion, LAST_PER_PROCESS_COST_VERSION) === true)
    return perProcess;
  return reported + 1e-12 >= prior ? cumulative : perProcess;
}

function mergeDenials(a: PermissionDenial[], b: PermissionDenial[]): PermissionDenial[] {
  const seen = new Set<string>();
  const out: PermissionDenial[] = [];
  for (const d of [...a, ...b]) {
    const key = d.toolUseId ?? `${d.toolName}:${jsonText(d.toolInput ?? null)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

export function classifyTurn(f: TurnFacts): TurnOutcome {
  const r = f.result;
  const reported = r?.totalCostUsd ?? 0;
  const cost = splitCost(
    reported,
    f.priorConversationCostUsd,
    f.resumed,
    f.costReporting,
    f.cliVersion,
  );
  const base = {
    permissionDenials: mergeDenials(r?.permissionDenials ?? [], f.deniedEvents),
    conversationCostUsd: cost.conversationCostUsd,
    turnCostUsd: cost.turnCostUsd,
    inputTokens: r
      ? r.usage.inputTokens + r.usage.cacheCreationInputTokens + r.usage.cacheReadInputTokens
      : 0,
    outputTokens: r?.usage.outputTokens ?? 0,
    numTurns: r?.numTurns ?? null,
    durationMs: r?.durationMs ?? null,
    exitCode: f.exitCode,
    stderrTail: f.stderrTail,
    sessionId: r?.sessionId ?? null,
  };

  if (f.spawnError) {
    const text =
      f.spawnError.code === 'ENOENT'
        ? `not found at ${f.command}`
        : `cannot run ${f.command}: ${f.spawnError.code} ${f.spawnError.message}`;
    return { ...base, kind: 'cli_not_found', text };
  }

  // A turn we stopped on a timeout ends however the CLI answers the signal: no result, or (the
  // real CLI on SIGINT) an `error_during_execution` "Request was aborted" result. Any other
  // result made it out before the stop and speaks for itself.
  if (f.timedOut && (r === null || r.subtype === 'error_during_execution')) {
    const answered = r ? (r.errors.join('\n') || r.text || `result ${r.subtype}`).trim() : '';
    return {
      ...base,
      kind: 'timeout',
      timeout: f.timedOut,
      text: `${r ? 'stopped' : 'no result'}: ${f.timedOut} timeout${answered ? ` (the CLI answered: ${answered})` : ''}`,
    };
  }

  if (r === null) {
    const how = f.signal ? `signal ${f.signal}` : `exit code ${String(f.exitCode)}`;
    const tail = f.stderrTail.trim();
    if (/not logged in|please run \/login/i.test(tail)) {
      return { ...base, kind: 'api_error', apiError: 'not_logged_in', text: tail };
    }
    return {
      ...base,
      kind: 'crash',
      text: `CLI ended without a result (${how})${tail ? `: ${tail}` : ''}`,
    };
  }

  const errorsText = r.errors.join('\n');
  switch (r.subtype) {
    case 'success': {
      if (r.isError) {
        const text = r.text ?? (errorsText || f.stderrTail);
        return {
          ...base,
          kind: 'api_error',
          apiError: classifyApiError(r.apiErrorStatus, text),
          text,
        };
      }
      const text = r.text ?? f.lastAssistantText;
      if (base.permissionDenials.length > 0) return { ...base, kind: 'success_with_denials', text };
      return { ...base, kind: 'success', text };
    }
    case 'error_max_turns':
      return { ...base, kind: 'max_turns', text: errorsText || r.text };
    default:
      return {
        ...base,
        kind: 'execution_error',
        text: errorsText || r.text || `result subtype ${r.subtype}`,
      };
  }
}
