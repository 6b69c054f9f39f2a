import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from 'src/common';
import { IdempotencyInterceptor } from 'src/idempotency/idempotency.interceptor';

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
    ApiResponse({
      status: 409,
      description:
        'A request with this Idempotency-Key is still in progress (`idempotency_request_in_progress`)',
      type: ErrorResponseDto,
    }),
    ApiResponse({
      status: 422,
      description:
        'This Idempotency-Key was used with another request body (`idempotency_key_reused`)',
      type: ErrorResponseDto,
    }),
  );
}
