import { Injectable, NestMiddleware } from '@nestjs/common';
import { json, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { AppConfig } from 'src/config/app-config';
import { DomainError, ErrorCode } from 'src/common/errors/domain-error';

/** The shape of body-parser's errors. */
interface BodyParserError {
  type?: string;
  status?: number;
}

/** Keys that could reach an object's prototype; a body containing one is rejected. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

class ForbiddenKeyError extends Error {
  constructor(readonly key: string) {
    super(`property ${key} is not allowed`);
  }
}

function rejectForbiddenKeys(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKeyError(key);
  return value;
}

function toDomainError(error: unknown, limit: number): DomainError {
  if (error instanceof ForbiddenKeyError) {
    return new DomainError(ErrorCode.ValidationFailed, `Invalid request: ${error.message}`, {
      errors: [{ field: error.key, errors: [error.message] }],
    });
  }
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
 * the usual error body: 413 `payload_too_large`, 400 `malformed_json`; keys such as `__proto__`
 * are refused (400 `validation_failed`).
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly parser: RequestHandler;

  constructor(private readonly config: AppConfig) {
    this.parser = json({
      limit: config.MAX_REQUEST_BODY_BYTES,
      strict: true,
      reviver: rejectForbiddenKeys,
    });
  }

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      void this.parser(req, res, (error?: unknown) =>
        error ? reject(toDomainError(error, this.config.MAX_REQUEST_BODY_BYTES)) : resolve(),
      );
    });
    next();
  }
}
