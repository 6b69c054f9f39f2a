import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import { principalOf, RequestWithPrincipal } from 'src/access';
import { DomainError, ErrorCode } from 'src/common';

/**
 * The rate limit (`@nestjs/throttler`, RATE_LIMIT_PER_MINUTE per minute): counted per API key
 * across every route, or per client address for requests without a valid key (so guessing keys
 * is limited too; the address honours TRUST_PROXY). Past it: 429 `rate_limited` with
 * `Retry-After`. Used by the auth guard, which decides when it applies.
 */
@Injectable()
export class ApiThrottlerGuard extends ThrottlerGuard {
  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    const request = req as unknown as RequestWithPrincipal;
    const principal = principalOf(request);
    if (principal?.keyId) return Promise.resolve(`key:${principal.keyId}`);
    if (principal?.kind === 'monitor') return Promise.resolve('monitor');
    return Promise.resolve(`ip:${request.ip ?? request.socket.remoteAddress ?? 'unknown'}`);
  }

  protected override generateKey(
    _context: ExecutionContext,
    tracker: string,
    throttlerName: string,
  ): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new DomainError(
      ErrorCode.RateLimited,
      `More than ${detail.limit} requests in a minute; retry in ${detail.timeToBlockExpire} s`,
      { limit: detail.limit, retry_after_seconds: detail.timeToBlockExpire },
    );
  }
}
