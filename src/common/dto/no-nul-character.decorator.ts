import { Matches } from 'class-validator';

/**
 * Refuses a string holding a NUL character: text that becomes an argument of a child process (a
 * prompt, a commit message) cannot carry one, and the task would fail far from the request.
 */
export function NoNulCharacter(field: string): PropertyDecorator {
  return Matches(/^[^\0]*$/, { message: `${field} must not contain a NUL character` });
}
