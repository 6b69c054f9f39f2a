/**
 * Server-sent event frames. Data is always one line of JSON: `JSON.stringify` escapes CR and LF
 * inside strings, so nothing an agent prints can end a frame early or add a field (`event:`,
 * `id:`) of its own. Ids are integers, event names constants.
 */

/** One stored event: `id:` is the interaction id, `data:` its JSON. */
export function eventFrame(id: number, data: unknown): string {
  return `id: ${Math.trunc(id)}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The last frame of a finished task's stream. */
export function endFrame(data: unknown): string {
  return `event: end\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The last frame of a stream the server closes before its end, for a reason that reconnecting
 * does not mend (the client's API key was revoked or expired): `data` says why, with a `code`.
 */
export function closedFrame(data: unknown): string {
  return `event: closed\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A comment line: ignored by clients, keeps proxies from closing an idle connection. */
export const KEEP_ALIVE_FRAME = ': keep-alive\n\n';

/**
 * The first frame: how long a client waits before reconnecting, and where the stream starts as
 * its last event id (no data, so no event is dispatched). A client that loses the connection
 * before any event reconnects from there: a stream opened "from now" would otherwise start from
 * its new "now", and what was stored in between would never reach it.
 */
export function startFrame(ms: number, afterId: number): string {
  return `retry: ${Math.trunc(ms)}\nid: ${Math.trunc(afterId)}\n\n`;
}
