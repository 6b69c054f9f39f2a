/**
 * How the simulated human reads the agent's final message of a turn. Plain text rules, kept
 * deliberately small and strict:
 *
 * - `done`: a line of the message holds the word DONE and nothing else (punctuation or markdown
 *   around it allowed: `DONE`, `DONE.`, `**DONE**`), which is what every prompt asks for. The word
 *   inside a sentence ("not DONE yet", "DONE: most of it") does not count, nor a line that shows
 *   or lists it rather than says it: inside a fenced code block, quoted (`> DONE`), a list or
 *   checklist item (`- DONE`, `- [ ] DONE`, `2. DONE`), or crossed out (`❌ DONE`).
 * - `question`: not done, and the last paragraph asks something (ends with `?`, or "should I",
 *   "would you like", "let me know", "please confirm" ...).
 * - `stop_short`: anything else, the empty message included. A reply that neither says DONE nor
 *   asks ("the tool failed, I could not finish") gets a continuation, never the tests.
 */
export type AgentReplyReading = 'done' | 'question' | 'stop_short';

/**
 * A line whose only word is DONE, not asked (`DONE?`) nor struck through (`~~DONE~~`): the marker
 * may stand in emphasis or with a full stop, as agents write it.
 */
const DONE_LINE = /^[^\p{L}\p{N}?~]*DONE[^\p{L}\p{N}?~]*$/u;

/** A line that opens or closes a fenced code block. */
const FENCE = /^\s*(```|~~~)/;

/** A line that quotes, lists or crosses out what it holds. */
const NOT_SAID = /^\s*(>|[-*+]\s|\d+[.)]\s)|[❌✗✘]/u;

const QUESTION_PHRASES =
  /\b(should i|shall i|would you like|do you want|let me know|please confirm|can you confirm|which (one|option) (do|would) you|what would you prefer)\b/i;

function lastParagraph(text: string): string {
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  return paragraphs.length === 0 ? '' : paragraphs[paragraphs.length - 1];
}

/** True when `text` has a line holding only the DONE marker, outside code blocks, quotes and lists. */
export function hasDoneMarker(text: string | null): boolean {
  if (text === null) return false;
  let fenced = false;
  for (const line of text.split('\n')) {
    if (FENCE.test(line)) fenced = !fenced;
    else if (!fenced && !NOT_SAID.test(line) && DONE_LINE.test(line)) return true;
  }
  return false;
}

export function readAgentReply(text: string | null): AgentReplyReading {
  const trimmed = (text ?? '').trim();
  if (hasDoneMarker(trimmed)) return 'done';
  const last = lastParagraph(trimmed);
  if (last.endsWith('?') || QUESTION_PHRASES.test(last)) return 'question';
  return 'stop_short';
}
