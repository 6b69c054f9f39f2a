import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { DestinationStream, Level } from 'pino';
import type { Options as HttpOptions } from 'pino-http';
import pretty from 'pino-pretty';
import { principalOf, RequestWithPrincipal } from 'src/access';
import { pathWithoutQuery, requestIdOf } from 'src/common';
import { AppConfig } from 'src/config';
import { scrubbingDestination, SecretScrubber } from 'src/logging/secret-scrubber';

const LEVELS: Record<AppConfig['LOG_LEVEL'], Level> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

export type Req = IncomingMessage & RequestWithPrincipal;

/** The route template (`/api/v1/tasks/:id`), never the raw URL (ids and query strings stay out). */
function routeOf(req: Req): string | null {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : null;
}

/** What each request's line says about the request: id, method, path (no query string: it is never trusted to be free of secrets), client address. */
export function requestFields(req: Req): Record<string, unknown> {
  return {
    id: requestIdOf(req),
    method: req.method,
    path: pathWithoutQuery(req),
    remote_address: req.ip ?? req.socket?.remoteAddress,
  };
}

/** What a request's line says besides pino-http's fields: the key's prefix and the route. */
export function requestContext(req: Req): { key_prefix: string | null; route: string | null } {
  return { key_prefix: principalOf(req)?.keyPrefix ?? null, route: routeOf(req) };
}

/** 5xx (and a response that failed) are errors, 4xx warnings, the rest information. */
export function requestLevel(res: ServerResponse, error?: Error): Level {
  return error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
}

/** `GET /api/v1/tasks/:id -> 200`. */
export function requestMessage(req: Req, res: ServerResponse): string {
  return `${req.method} ${routeOf(req) ?? '(no route)'} -> ${res.statusCode}`;
}

let timeOfMs = -1;
let timeField = '';

/**
 * pino's `isoTime` (`,"time":"<ISO 8601>"`), the text made once per millisecond: under load many
 * lines are written within one, and formatting the date was one of the larger parts of a request
 * line's cost in a profile of the status read.
 */
export function isoTime(): string {
  const now = Date.now();
  if (now !== timeOfMs) {
    timeOfMs = now;
    timeField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return timeField;
}

/** Readable text in a terminal; line breaks and control characters in a message are escaped. */
function prettyStream(destination: NodeJS.WritableStream): NodeJS.WritableStream {
  return pretty({
    colorize: true,
    sync: true,
    ignore: 'pid,hostname',
    translateTime: 'SYS:HH:MM:ss.l',
    messageFormat: (log, key) =>
      JSON.stringify(typeof log[key] === 'string' ? log[key] : '')
        .slice(1, -1)
        .replace(/\\"/g, '"'),
    destination,
  });
}

/** Whether to write readable text rather than JSON lines. */
export function usePrettyLogs(
  config: AppConfig,
  out: NodeJS.WriteStream = process.stdout,
): boolean {
  if (config.LOG_FORMAT !== 'auto') return config.LOG_FORMAT === 'pretty';
  return out.isTTY === true;
}

/** nestjs-pino's parameters, pino-http's options and destination as a pair. */
export type LoggerParams = Omit<Params, 'pinoHttp'> & {
  pinoHttp: [HttpOptions, DestinationStream];
};

/**
 * The logger (nestjs-pino over pino-http): one JSON object per line (readable text in a terminal
 * in development), every line scrubbed of secrets (`SecretScrubber`). One line per request when
 * it is answered, with its request id, the key's prefix, the route, the status and the duration
 * (ms); 5xx logged as errors, 4xx as warnings. Headers are not logged at all (so neither is
 * `Authorization`), and paths without their query string. nestjs-pino's own request middleware
 * applies to no route (`forRoutes: []`): it runs every request inside an AsyncLocalStorage, which
 * once used makes every promise, timer and file system call of the process pay for async hooks.
 * `LoggingModule` applies pino-http itself with these options.
 */
export function loggerOptions(
  config: AppConfig,
  scrubber: SecretScrubber,
  out: NodeJS.WriteStream = process.stdout,
): LoggerParams {
  const destination = scrubbingDestination(out, scrubber);
  const stream = usePrettyLogs(config, out) ? prettyStream(destination) : destination;
  return {
    forRoutes: [],
    pinoHttp: [
      {
        level: LEVELS[config.LOG_LEVEL],
        messageKey: 'msg',
        timestamp: isoTime,
        formatters: { level: (label: string) => ({ level: label }) },
        genReqId: (req: IncomingMessage) => requestIdOf(req as Req),
        wrapSerializers: false,
        serializers: {
          req: (req: Req) => requestFields(req),
          res: (res: ServerResponse) => ({ status: res.statusCode }),
        },
        customProps: () => ({}),
        customSuccessObject: (
          req: IncomingMessage,
          _res: ServerResponse,
          value: Record<string, unknown>,
        ) => ({ ...value, ...requestContext(req as Req) }),
        // pino-http invents an error with a stack for every 5xx; the exception filter logs the real one.
        customErrorObject: (
          req: IncomingMessage,
          _res: ServerResponse,
          _error: Error,
          value: Record<string, unknown>,
        ) => ({
          req: value.req,
          res: value.res,
          duration_ms: value.duration_ms,
          ...requestContext(req as Req),
        }),
        customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
          requestLevel(res, error),
        customSuccessMessage: (req: IncomingMessage, res: ServerResponse) =>
          requestMessage(req as Req, res),
        customErrorMessage: (req: IncomingMessage, res: ServerResponse) =>
          requestMessage(req as Req, res),
        customAttributeKeys: { responseTime: 'duration_ms' },
        redact: {
          paths: ['*.authorization', '*.password', '*.headers'],
          censor: '[REDACTED]',
        },
      },
      stream,
    ],
  };
}
