import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { DomainError, ErrorCode } from 'src/common';
import type { AtomicWriter, SqlStep } from 'src/database';

/**
 * A creating request's hold on its `Idempotency-Key`, which `IdempotencyInterceptor` gives the
 * route's handler (`@CurrentIdempotencyClaim()`) and the handler the service that writes the new
 * row. That service adds `answer(body)` to the row's own transaction, so the key's answer is
 * committed with the row or not at all: a creation that committed is never run again under its
 * key, whatever happens to the request afterwards (a failed write, a server that died).
 */
export class IdempotencyClaim {
  private answerGiven = false;

  constructor(private readonly answerStep: (body: unknown) => SqlStep) {}

  /**
   * The statement that stores `body` as the key's answer. It is `required`: when another request
   * took the key over meanwhile (this one ran past the abandonment time), it changes no row and
   * the creation is rolled back, so that only one of the two creates.
   */
  answer(body: unknown): SqlStep {
    this.answerGiven = true;
    return this.answerStep(body);
  }

  /** Whether the handler put the answer in its write (checked once the handler succeeded). */
  get answered(): boolean {
    return this.answerGiven;
  }

  /** The error of a creation rolled back because its key was taken over (see `answer`). */
  lost(): DomainError {
    return new DomainError(
      ErrorCode.IdempotencyRequestInProgress,
      'Another request with this Idempotency-Key took it over; retry to get its answer',
    );
  }
}

/**
 * Writes `steps` (a new row) in one transaction, with the request's answer (`answer()`, built
 * from the row as it is stored) when it has a claim. The answer is the one required step: when
 * another request took the key over, nothing is written and the creation fails `lost()`.
 */
export async function writeWithAnswer(
  writer: AtomicWriter,
  steps: readonly SqlStep[],
  claim: IdempotencyClaim | null,
  answer: () => unknown,
): Promise<void> {
  const all = claim === null ? steps : [...steps, claim.answer(answer())];
  if ((await writer.run(all)) === null && claim !== null) throw claim.lost();
}

const claims = new WeakMap<Request, IdempotencyClaim>();

/** Hands `claim` to the request's handler (`IdempotencyInterceptor`, before the handler runs). */
export function holdClaim(req: Request, claim: IdempotencyClaim): void {
  claims.set(req, claim);
}

/** The request's `IdempotencyClaim`; null for a request without an `Idempotency-Key`. */
export const CurrentIdempotencyClaim = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): IdempotencyClaim | null =>
    claims.get(ctx.switchToHttp().getRequest<Request>()) ?? null,
);
