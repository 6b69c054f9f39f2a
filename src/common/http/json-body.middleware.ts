import { isUtf8 } from 'node:buffer';
import { Injectable, NestMiddleware } from '@nestjs/common';
import { json, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { AppConfig } from 'src/config';
import { DomainError, ErrorCode, invalidRequest } from 'src/common/errors/domain-error';
import { JsonTooDeepError, MAX_JSON_DEPTH, scanJsonBody } from 'src/common/http/json-body-shape';

/** The shape of body-parser's errors. */
interface BodyParserError {
  type?: string;
  status?: number;
}

/** Keys that could reach an object's prototype; a body or query string containing one is refused. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Media types parsed as JSON; a body of any other type is refused with 415. */
const JSON_TYPES = ['application/json', 'application/*+json'];

/** A body that is not UTF-8 text (found before it is parsed). */
class NotUtf8Error extends Error {}

/** Most characters of a repeated property's name an error repeats back. */
const MAX_NAME_SHOWN = 100;

/** The name a request's body repeats in one object, found as its bytes were checked. */
const repeatedNames = new WeakMap<object, string>();

/**
 * Refuses a body that is not UTF-8 text: in another charset (JSON between systems is UTF-8, RFC
 * 8259; body-parser would decode any `utf-*` iconv knows, and UTF-16's or UTF-32's invalid code
 * units as replacement characters), or in UTF-8 with bytes that are not (each invalid sequence
 * would become a replacement character: the request stored as text it never held). Then refuses
 * one nested deeper than MAX_JSON_DEPTH, and notes a name one object repeats (refused once the
 * body parsed: a body that is no JSON is told so first). All before it is parsed.
 */
function checkBytes(req: object, _res: unknown, body: Buffer, encoding: string | null): void {
  if (encoding !== 'utf-8' || !isUtf8(body)) throw new NotUtf8Error();
  const repeated = scanJsonBody(body);
  if (repeated !== null) repeatedNames.set(req, repeated);
}

/**
 * A UTF-16 surrogate without its pair (`"\ud800"` in JSON): not text. Stored, it would come back
 * as something else (a replacement character, or bytes a later read cannot decode).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The request error of each reviver error. body-parser strips every own property of an error
 * thrown while parsing (it normalises them as syntax errors), so it cannot live on the error.
 */
const reviverErrors = new WeakMap<Error, DomainError>();

function rejectForbiddenKeys(key: string, value: unknown): unknown {
  const problem = FORBIDDEN_KEYS.has(key)
    ? forbiddenKeyError(key)
    : LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))
      ? invalidRequest(key, `${key} is not valid Unicode text: it holds a lone UTF-16 surrogate`)
      : null;
  if (problem !== null) {
    const error = new Error(problem.message);
    reviverErrors.set(error, problem);
    throw error;
  }
  return value;
}

function forbiddenKeyError(key: string): DomainError {
  return invalidRequest(key, `property ${key} is not allowed`);
}

/** True when the request announces a body (chunked, or a non-zero Content-Length). */
function announcesBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function toDomainError(error: unknown, limit: number): DomainError {
  if (error instanceof JsonTooDeepError) {
    return invalidRequest(
      '(body)',
      `Request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`,
      { max_depth: MAX_JSON_DEPTH },
    );
  }
  if (error instanceof NotUtf8Error) {
    return new DomainError(
      ErrorCode.MalformedJson,
      'Request body is not UTF-8 text (JSON is sent in UTF-8)',
    );
  }
  const refused = error instanceof Error ? reviverErrors.get(error) : undefined;
  if (refused !== undefined) return refused;
  const { type, status } = (error ?? {}) as BodyParserError;
  if (type === 'entity.too.large' || status === 413) {
    return new DomainError(ErrorCode.PayloadTooLarge, `Request body exceeds ${limit} bytes`, {
      limit_bytes: limit,
    });
  }
  if (type === 'entity.parse.failed') {
    return new DomainError(ErrorCode.MalformedJson, 'Request body is not valid JSON');
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new DomainError(ErrorCode.BadRequest, 'Unsupported request body encoding');
  }
  return new DomainError(ErrorCode.BadRequest, 'Request body could not be read');
}

/**
 * Parses JSON bodies up to MAX_REQUEST_BODY_BYTES. Runs as Nest middleware (the app is created
 * with `bodyParser: false`) so that parser failures reach the global exception filter and get
 * the usual error body: 413 `payload_too_large`, 400 `malformed_json` (also for a body that is
 * not UTF-8 text), 415 `unsupported_media_type` for a body that is not JSON; keys
 * such as `__proto__`, in the body or the query string, text with a lone UTF-16 surrogate, bodies
 * nested deeper than MAX_JSON_DEPTH, a property one object holds twice and a body that is an
 * array are refused (400 `validation_failed`); a body that has not arrived within
 * REQUEST_BODY_TIMEOUT_MS is a 408 `request_timeout`.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly parser: RequestHandler;

  constructor(private readonly config: AppConfig) {
    this.parser = json({
      limit: config.MAX_REQUEST_BODY_BYTES,
      strict: true,
      type: JSON_TYPES,
      reviver: rejectForbiddenKeys,
      verify: checkBytes,
    });
  }

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    const queryKey = Object.keys(req.query).find((key) => FORBIDDEN_KEYS.has(key));
    if (queryKey !== undefined) throw forbiddenKeyError(queryKey);
    if (announcesBody(req) && req.is(JSON_TYPES) === false) {
      throw new DomainError(
        ErrorCode.UnsupportedMediaType,
        `Request body must be JSON (Content-Type: application/json), not ${req.headers['content-type'] ?? 'untyped'}`,
      );
    }
    await this.readBody(req, res);
    const repeated = repeatedNames.get(req);
    if (repeated !== undefined) {
      const name =
        repeated.length > MAX_NAME_SHOWN ? `${repeated.slice(0, MAX_NAME_SHOWN)}…` : repeated;
      throw invalidRequest(
        name,
        `property ${name} appears more than once in one object: send each property once`,
      );
    }
    // Every body of this API is an object: an array, even an empty one, is not read as one.
    if (Array.isArray(req.body)) {
      throw invalidRequest('(body)', 'the request body must be a JSON object, not an array');
    }
    next();
  }

  /**
   * Parses the body into `req.body`, waiting REQUEST_BODY_TIMEOUT_MS at most for it to arrive:
   * then the request is a 408 whose connection closes, the rest of its body unread.
   */
  private readBody(req: Request, res: Response): Promise<void> {
    const timeoutMs = this.config.REQUEST_BODY_TIMEOUT_MS;
    return new Promise<void>((resolve, reject) => {
      const timer = announcesBody(req)
        ? setTimeout(() => {
            res.setHeader('Connection', 'close');
            reject(
              new DomainError(
                ErrorCode.RequestTimeout,
                `The request body was not received within ${timeoutMs} ms`,
                { timeout_ms: timeoutMs },
              ),
            );
          }, timeoutMs)
        : undefined;
      void this.parser(req, res, (error?: unknown) => {
        clearTimeout(timer);
        if (error) reject(toDomainError(error, this.config.MAX_REQUEST_BODY_BYTES));
        else resolve();
      });
    });
  }
}
