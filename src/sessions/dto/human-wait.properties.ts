import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';

/** Longest wait for a person a task may be given before the simulated human answers: a week. */
export const HUMAN_TIMEOUT_MAX_SECONDS = 7 * 24 * 3600;

/** `auto_respond` on a task or a session (the default of its tasks). */
export function AutoRespondProperty(description: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ type: Boolean, description, nullable: true, example: false }),
    IsOptional(),
    IsBoolean(),
  );
}

/** `human_timeout_seconds` on a task or a session (the default of its tasks). */
export function HumanTimeoutProperty(description: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: 'integer',
      description,
      nullable: true,
      minimum: 1,
      maximum: HUMAN_TIMEOUT_MAX_SECONDS,
      example: 3600,
    }),
    IsOptional(),
    IsInt(),
    Min(1),
    Max(HUMAN_TIMEOUT_MAX_SECONDS),
  );
}
