import { ValidationError, ValidationPipe } from '@nestjs/common';
import { DomainError, ErrorCode } from 'src/common/errors/domain-error';

export interface FieldError {
  field: string;
  errors: string[];
}

/** Flattens nested class-validator errors into `field.path: [messages]`. */
export function flattenValidationErrors(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {});
    const nested = flattenValidationErrors(e.children ?? [], field);
    return own.length > 0 ? [{ field, errors: own }, ...nested] : nested;
  });
}

/**
 * The global pipe: whitelisted DTOs (unknown fields are an error), transformed to their classes.
 * Failures become `validation_failed` with one entry per field in `details.errors`.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
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
