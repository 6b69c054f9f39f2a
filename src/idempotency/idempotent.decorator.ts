import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { ErrorCode } from 'src/common';
import { IdempotencyInterceptor } from 'src/idempotency/idempotency.interceptor';

/**
 * What an `@Idempotent()` route can answer besides its own errors: list them in its
 * `ApiErrorResponses` (one decorator writes each status's description).
 */
export const IDEMPOTENCY_ERRORS: readonly ErrorCode[] = [
  ErrorCode.IdempotencyRequestInProgress,
  ErrorCode.IdempotencyKeyReused,
];

/** Makes a creating route idempotent by `Idempotency-Key` (see `IdempotencyService`). */
export function Idempotent(): MethodDecorator {
  return applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Any 1 to 255 visible ASCII characters, new for each new request. A retry with the same key and body gets the first answer again (header `Idempotent-Replayed: true`) instead of creating a duplicate; kept for 24 hours.',
    }),
  );
}
