/**
 * How the simulated human reads the agent's final message of a turn. Plain text heuristics, kept
 * deliberately small and conservative:
 *
 * - `done`: the message carries the DONE marker the prompts ask for (the word DONE in capitals),
 *   or, failing that, is neither a question nor a stop-short. A successful turn that does not flag
 *   unfinished work is taken as finished; the tests that follow are the real check.
 * - `question`: the last paragraph asks something (ends with `?`, or "should I", "would you like",
 *   "let me know", "please confirm" ...).
 * - `stop_short`: empty text, or the message announces work still to do ("next I will", "I'll now",
 *   "remaining steps", "not yet implemented", "to be continued" ...).
 */
export type AgentReplyReading = 'done' | 'question' | 'stop_short';

const DONE_MARKER = /(^|[^A-Za-z])DONE([^A-Za-z]|$)/;

const QUESTION_PHRASES =
  /\b(should i|shall i|would you like|do you want|let me know|please confirm|can you confirm|which (one|option) (do|would) you|what would you prefer)\b/i;

const STOP_SHORT_PHRASES =
  /\b(next,? i('| wi)ll|i('| wi)ll now|now i('| wi)ll|i('| wi)ll (continue|proceed|start|begin)|let me (continue|now|start)|remaining (steps|work|tasks)|still (need|have) to|not (yet|fully) (implemented|finished|done|complete)|to be continued|work in progress|partially (implemented|done|complete))\b/i;

function lastParagraph(text: string): string {
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  return paragraphs.length === 0 ? '' : paragraphs[paragraphs.length - 1];
}

export function hasDoneMarker(text: string | null): boolean {
  return text !== null && DONE_MARKER.test(text);
}

export function readAgentReply(text: string | null): AgentReplyReading {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') return 'stop_short';
  if (hasDoneMarker(trimmed)) return 'done';
  const last = lastParagraph(trimmed);
  if (last.endsWith('?') || QUESTION_PHRASES.test(last)) return 'question';
  if (STOP_SHORT_PHRASES.test(last)) return 'stop_short';
  return 'done';
}
