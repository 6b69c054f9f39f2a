import { applyDecorators } from '@nestjs/common';
import { IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsOptionalNotNull } from 'src/common/dto/optional-not-null.decorator';
import { DomainError } from 'src/common/errors/domain-error';
import { createValidationPipe, FieldError } from 'src/common/http/validation.pipe';

class LimitsDto {
  @IsInt()
  @Min(1)
  @Max(10)
  count!: number;

  @IsString()
  @MaxLength(3)
  name!: string;
}

/** Decorators composed as `applyDecorators` runs them: in the order written, not bottom-up. */
const Tag = (): PropertyDecorator =>
  applyDecorators(IsOptionalNotNull(), IsString(), MaxLength(3), Matches(/^[a-z]+$/));

class TaggedDto {
  @Tag()
  tag?: string;
}

/** The field errors the global pipe answers for `body`. */
async function fieldErrors(
  body: unknown,
  metatype: new () => object = LimitsDto,
): Promise<{ message: string; errors: FieldError[] }> {
  const error = await createValidationPipe()
    .transform(body, { type: 'body', metatype })
    .then(
      () => null,
      (e: unknown) => e,
    );
  if (!(error instanceof DomainError)) throw new Error('expected a validation error');
  return {
    message: error.message,
    errors: (error.details as { errors: FieldError[] }).errors,
  };
}

describe('the validation pipe', () => {
  it.each([
    ['left out', {}, ['count is required', 'name is required']],
    [
      'of the wrong type',
      { count: 'many', name: 5 },
      ['count must be an integer number', 'name must be a string'],
    ],
    [
      'out of bounds',
      { count: 11, name: 'long' },
      ['count must not be greater than 10', 'name must be shorter than or equal to 3 characters'],
    ],
    [
      'null',
      { count: null, name: null },
      ['count must be an integer number', 'name must be a string'],
    ],
  ])('answers one message per field %s', async (_case, body, messages) => {
    const { message, errors } = await fieldErrors(body);
    expect(errors).toEqual([
      { field: 'count', errors: [messages[0]] },
      { field: 'name', errors: [messages[1]] },
    ]);
    expect(message).toBe(`Invalid request: count: ${messages[0]}; name: ${messages[1]}`);
  });

  it('tells presence before kind and kind before bounds, however the decorators were composed', async () => {
    expect((await fieldErrors({ tag: null }, TaggedDto)).errors).toEqual([
      { field: 'tag', errors: ['tag must not be null: leave it out for its default'] },
    ]);
    expect((await fieldErrors({ tag: 7 }, TaggedDto)).errors).toEqual([
      { field: 'tag', errors: ['tag must be a string'] },
    ]);
    expect((await fieldErrors({ tag: 'ABCD' }, TaggedDto)).errors).toEqual([
      { field: 'tag', errors: ['tag must be shorter than or equal to 3 characters'] },
    ]);
  });

  it('names an unknown field once', async () => {
    const { errors } = await fieldErrors({ count: 1, name: 'a', extra: true });
    expect(errors).toEqual([{ field: 'extra', errors: ['property extra should not exist'] }]);
  });
});
