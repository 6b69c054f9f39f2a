import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsOptionalNotNull } from 'src/common';

export const GIT_REF_MAX_LENGTH = 255;

/** A git ref or commit as a client may name it: no spaces or control characters, no leading '-'. */
const GIT_REF_PATTERN = /^(?!-)[^\s\p{Cc}]+$/u;

/**
 * An optional request field naming a git ref (`base_ref` of a session or task, a merge's
 * `target_branch`): documented, and validated as a ref-like string; `null` only where `nullable`
 * (elsewhere a 400: leave it out for the default). Whether it names anything is for git to say (a
 * 400 from the service when it does not).
 */
export function GitRefProperty(description: string, nullable = true): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: String,
      description,
      example: 'main',
      maxLength: GIT_REF_MAX_LENGTH,
      ...(nullable ? { nullable: true } : {}),
    }),
    nullable ? IsOptional() : IsOptionalNotNull(),
    IsString(),
    MaxLength(GIT_REF_MAX_LENGTH),
    Matches(GIT_REF_PATTERN, { message: '$property must be a git ref or commit' }),
  );
}
