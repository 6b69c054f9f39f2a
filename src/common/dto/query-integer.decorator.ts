import { Transform } from 'class-transformer';

/**
 * A whole number in a query string: decimal digits, a `-` allowed (so a negative one meets its
 * `@Min` with a clear message). Anything else (`0x10`, ` 10`, `1e3`, an empty value) is left a
 * string, which `@IsInt` refuses, where `Number()` would have read it as some number.
 */
export function QueryInteger(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value,
  );
}
