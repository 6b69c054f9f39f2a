/** Driver error codes of a write that referenced a row another request had just deleted. */
const FOREIGN_KEY_VIOLATION_CODES = new Set([
  'ER_NO_REFERENCED_ROW_2',
  'ER_NO_REFERENCED_ROW',
  'SQLITE_CONSTRAINT_FOREIGNKEY',
]);

/**
 * True when a write failed on a foreign key (MySQL/MariaDB errno 1452/1216, SQLite
 * `SQLITE_CONSTRAINT_FOREIGNKEY`). TypeORM's QueryFailedError carries the driver's `code`.
 */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && FOREIGN_KEY_VIOLATION_CODES.has(code);
}
