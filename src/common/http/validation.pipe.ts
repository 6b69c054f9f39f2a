import { ValidationError, ValidationPipe } from '@nestjs/common';
import { DomainError, ErrorCode } from 'src/common/errors/domain-error';

export interface FieldError {
  field: string;
  errors: string[];
}

/**
 * How early a failed constraint is told: presence (`isNotNull`), then the value's kind (the other
 * `is...` checks: `isInt`, `isString`, `isIn`, ...), then the rest (bounds, lengths, patterns).
 */
function rank(constraint: string): number {
  if (constraint === 'isNotNull' || constraint === 'isDefined') return 0;
  return constraint.startsWith('is') ? 1 : 2;
}

/**
 * The one message a field's failed constraints come down to: `<field> is required` for a field
 * left out, else the failed constraint told first (`rank`; of equals, the first checked): `x must
 * be an integer number`, not also `x must not be less than 1, x must not be greater than 10`.
 */
function fieldMessage(error: ValidationError): string | null {
  const failed = Object.entries(error.constraints ?? {});
  if (failed.length === 0) return null;
  if (error.value === undefined) return `${error.property} is required`;
  const [[, message]] = failed.sort(([a], [b]) => rank(a) - rank(b));
  return message;
}

/** Flattens nested class-validator errors into `field.path: [message]`, one message a field. */
export function flattenValidationErrors(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = fieldMessage(e);
    const nested = flattenValidationErrors(e.children ?? [], field);
    return own !== null ? [{ field, errors: [own] }, ...nested] : nested;
  });
}

/**
 * The global pipe: whitelisted DTOs (unknown fields are an error), transformed to their classes.
 * Failures become `validation_failed` with one entry per field in `details.errors`, each with
 * one message (`fieldMessage`).
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    // The value tells a field left out from one sent wrong; only messages leave the factory.
    validationError: { target: false, value: true },
    exceptionFactory: (errors: ValidationError[]) => {
      const fields = flattenValidationErrors(errors);
      const summary = fields.map((f) => `${f.field}: ${f.errors.join(', ')}`).join('; ');
      return new DomainError(
        ErrorCode.ValidationFailed,
        summary ? `Invalid request: ${summary}` : 'Invalid request',
        { errors: fields },
      );
    },
  });
}
