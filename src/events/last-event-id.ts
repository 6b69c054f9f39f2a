import { DomainError, ErrorCode } from 'src/common';

/**
 * Where a stream starts: the `Last-Event-ID` header of a reconnecting client, else the `after_id`
 * query, else `fallback`. A header that is not a non-negative integer is 400 `validation_failed`.
 */
export function streamStart<T extends number | null>(
  header: string | undefined,
  afterId: number | undefined,
  fallback: T,
): number | T {
  if (header === undefined || header.trim() === '') return afterId ?? fallback;
  const value = header.trim();
  if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new DomainError(
      ErrorCode.ValidationFailed,
      'Invalid request: Last-Event-ID must be an event id (a non-negative integer)',
      { errors: [{ field: 'Last-Event-ID', errors: ['must be a non-negative integer'] }] },
    );
  }
  return Number(value);
}
