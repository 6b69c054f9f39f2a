import { applyDecorators } from '@nestjs/common';
import { IsISO8601, ValidateBy, ValidationArguments } from 'class-validator';

/**
 * An ISO 8601 date and time that names one instant JavaScript can read
 * (`2027-01-01T00:00:00Z`): ISO 8601 also admits week dates (`2099-W01`) and the basic format
 * (`20990101T000000Z`), which `new Date` cannot read, and an invalid date stored or compared is
 * a 500 or a filter silently dropped.
 */
export function IsDateTime(): PropertyDecorator {
  return applyDecorators(
    IsISO8601({ strict: true }),
    ValidateBy({
      name: 'isDateTime',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && !Number.isNaN(Date.parse(value)),
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property ?? 'value'} must be a date and time such as 2027-01-01T00:00:00Z`,
      },
    }),
  );
}
