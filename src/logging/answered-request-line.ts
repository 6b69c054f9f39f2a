import type { IncomingMessage, ServerResponse } from 'node:http';
import { symbols, type Logger } from 'pino';
import {
  requestContext,
  requestFields,
  requestLevel,
  requestMessage,
  type Req,
} from 'src/logging/logger-options';

/** What of a pino logger a line is made from: its level prefixes, time, bindings, end and stream. */
interface LoggerParts {
  [symbols.lsCacheSym]: Record<number, string>;
  [symbols.timeSym]: () => string;
  [symbols.chindingsSym]: string;
  [symbols.endSym]: string;
  [symbols.streamSym]: { write(line: string): unknown };
}

/**
 * Writes the line pino-http writes when a request is answered (the same fields, level and
 * message, the values from the same functions, written to the same stream, where secrets are
 * blanked) for a request answered outside its middleware: the status read's fast path. The line
 * is put together here as one string, from the logger's own parts (its level's prefix, its time
 * function, its bindings such as pid and hostname, its line end: `pino.symbols`), rather than
 * passed through `logger.info(fields, message)`, which walks the fields looking for serializers
 * and redaction: about 6 % of the status read's CPU (test/bench/RESULTS.md). Every
 * value is JSON text from `JSON.stringify`, as pino writes it. `req.route` names the route
 * template, as Express's router leaves it.
 */
export function logAnsweredRequest(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  durationMs: number,
): void {
  const level = requestLevel(res);
  if (!logger.isLevelEnabled(level)) return;
  const request = req as Req;
  const context = requestContext(request);
  const parts = logger as unknown as LoggerParts;
  parts[symbols.streamSym].write(
    parts[symbols.lsCacheSym][logger.levels.values[level]] +
      parts[symbols.timeSym]() +
      parts[symbols.chindingsSym] +
      `,"req":${JSON.stringify(requestFields(request))}` +
      `,"res":{"status":${res.statusCode}},"duration_ms":${durationMs}` +
      `,"key_prefix":${JSON.stringify(context.key_prefix)}` +
      `,"route":${JSON.stringify(context.route)}` +
      `,"msg":${JSON.stringify(requestMessage(request, res))}` +
      parts[symbols.endSym],
  );
}
