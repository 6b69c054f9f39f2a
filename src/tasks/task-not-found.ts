import { DomainError, ErrorCode } from 'src/common';

/** 404 `task_not_found`. */
export function taskNotFound(id: string): DomainError {
  return new DomainError(ErrorCode.TaskNotFound, `Task ${id} not found`);
}
