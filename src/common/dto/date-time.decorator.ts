import { applyDecorators } from '@nestjs/common';
import { IsISO8601, isISO8601, ValidateBy, ValidationArguments } from 'class-validator';

/**
 * RFC 3339's date-time, what OpenAPI's `date-time` format means: a calendar date, a time and its
 * offset from UTC (`Z` or `+01:00`), seconds' fractions optional.
 */
const RFC3339_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** RFC 3339's form (`RFC3339_DATE_TIME`), of an instant `Date` can read. */
const isOffsetDateTime = (value: unknown): value is string =>
  typeof value === 'string' && RFC3339_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value));

/**
 * What `IsDateTime` takes, as a test of a value given elsewhere than in a request (the key
 * command line's `--expires-at`): an RFC 3339 date-time with its offset, of a date a calendar has.
 */
export function isDateTime(value: unknown): value is string {
  return isISO8601(value, { strict: true }) && isOffsetDateTime(value);
}

/** What is wrong with a value `isDateTime` refuses, for `property`. */
export const dateTimeRule = (property: string): string =>
  `${property} must be a date and time with its offset from UTC, such as 2027-01-01T00:00:00Z`;

/**
 * A date and time that names one instant JavaScript can read (`2027-01-01T00:00:00Z`), as RFC
 * 3339 writes it. ISO 8601 also admits week dates (`2099-W01`) and the basic format
 * (`20990101T000000Z`), which `new Date` cannot read, and an invalid date stored or compared is
 * a 500 or a filter silently dropped; and a time without its offset (`2027-01-01T00:00:00`) or a
 * date alone, which `new Date` reads in the server's own time zone or at UTC's midnight: another
 * instant than the client's, with no error to tell it. `IsISO8601`'s strict mode refuses dates
 * no calendar has (`2027-02-30`), which `new Date` would roll over into March.
 */
export function IsDateTime(): PropertyDecorator {
  return applyDecorators(
    IsISO8601({ strict: true }),
    ValidateBy({
      name: 'isDateTime',
      validator: {
        validate: isOffsetDateTime,
        defaultMessage: (args?: ValidationArguments) => dateTimeRule(args?.property ?? 'value'),
      },
    }),
  );
}
