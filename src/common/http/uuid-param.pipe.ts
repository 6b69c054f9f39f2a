import { Injectable, PipeTransform } from '@nestjs/common';
import { DomainError, ErrorCode } from 'src/common/errors/domain-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Route ids must be uuids (400 `invalid_id` otherwise); returned lower-case. */
@Injectable()
export class UuidParamPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (typeof value !== 'string' || !UUID.test(value)) {
      throw new DomainError(ErrorCode.InvalidId, 'The id must be a UUID', {
        id: typeof value === 'string' ? value.slice(0, 100) : null,
      });
    }
    return value.toLowerCase();
  }
}
