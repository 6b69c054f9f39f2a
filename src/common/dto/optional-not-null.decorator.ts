import { applyDecorators } from '@nestjs/common';
import { ValidateBy, ValidateIf, ValidationArguments } from 'class-validator';

/**
 * A field that may be left out, but is never `null`: `IsOptional` lets `null` through too, and a
 * field whose schema is not nullable would then take it silently as its default. Leaving it out
 * means the default; `null` is a 400 that says so.
 */
export function IsOptionalNotNull(): PropertyDecorator {
  return applyDecorators(
    ValidateIf((_object: object, value: unknown) => value !== undefined),
    ValidateBy({
      name: 'isNotNull',
      validator: {
        validate: (value: unknown) => value !== null,
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property ?? 'value'} must not be null: leave it out for its default`,
      },
    }),
  );
}
