import { STATUS_CODES } from 'node:http';
import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ERROR_CODE_MEANINGS } from 'src/common/dto/error-code-meanings';
import { ErrorResponseDto } from 'src/common/dto/error-response.dto';
import { ErrorCode } from 'src/common/errors/domain-error';
import { httpStatusOf } from 'src/common/errors/error-status';

/**
 * What any request can be refused for, whatever its route: by Node's parser or its timeouts, the
 * Host check, the JSON body middleware's query check (`__proto__` and the like), the router (a
 * path or a method no route has: what a client of a wrong base URL, or of a server of another
 * version, meets on any call) or an unexpected error.
 */
const ANY_REQUEST: readonly ErrorCode[] = [
  ErrorCode.BadRequest,
  ErrorCode.ValidationFailed,
  ErrorCode.HostNotAllowed,
  ErrorCode.RouteNotFound,
  ErrorCode.MethodNotAllowed,
  ErrorCode.RequestTimeout,
  ErrorCode.HeadersTooLarge,
  ErrorCode.Internal,
];

/**
 * What a request to a route that asks for a key can be refused for besides: no valid key, the
 * rate limit, and a full database (checking the key records its use).
 */
const KEYED: readonly ErrorCode[] = [
  ErrorCode.Unauthorized,
  ErrorCode.RateLimited,
  ErrorCode.StorageFull,
];

/**
 * What a write's body can be refused for, whether or not its route reads one: the JSON body
 * middleware reads every body. (A read has no body: these are not listed for it.)
 */
const BODY: readonly ErrorCode[] = [
  ErrorCode.MalformedJson,
  ErrorCode.PayloadTooLarge,
  ErrorCode.UnsupportedMediaType,
];

/**
 * The error responses of `codes`, one a status, each with the common error body and a description
 * listing its codes with their meanings (`- \`code\`: meaning` lines, in the enum's order).
 */
function errorResponses(codes: Iterable<ErrorCode>): MethodDecorator & ClassDecorator {
  const wanted = new Set(codes);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of Object.values(ErrorCode).filter((c) => wanted.has(c))) {
    const status = httpStatusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ...[...byStatus]
      .sort(([a], [b]) => a - b)
      .map(([status, listed]) =>
        ApiResponse({
          status,
          description: `${STATUS_CODES[status]}:\n\n${listed.map((c) => `- \`${c}\`: ${ERROR_CODE_MEANINGS[c]}`).join('\n')}`,
          type: ErrorResponseDto,
        }),
      ),
  );
}

/**
 * Documents the error responses of an API operation: `codes`, what its guard, pipes and service
 * can answer (its scope's `forbidden`, its id's `invalid_id`, its not-found and conflict codes),
 * and what every API route can answer (`ANY_REQUEST`, `KEYED`, an unreachable database), with a
 * write's body refusals (`BODY`). A code a route never sends is not listed for it, so each route's
 * descriptions say what its client has to handle.
 */
export function ApiErrorResponses(
  kind: 'read' | 'write',
  ...codes: ErrorCode[]
): MethodDecorator & ClassDecorator {
  return errorResponses([
    ...ANY_REQUEST,
    ...KEYED,
    ErrorCode.DatabaseUnavailable,
    ...(kind === 'write' ? BODY : []),
    ...codes,
  ]);
}

/**
 * Documents only what any request, and a request refused its key (`keyless`: the route asks for
 * none), can be answered with, with the common error body: for a route whose other answers are its
 * own (the health checks' 503 is their report).
 */
export function ApiAccessRefusals(keyless = false): MethodDecorator & ClassDecorator {
  return errorResponses([...ANY_REQUEST, ...(keyless ? [] : KEYED)]);
}
