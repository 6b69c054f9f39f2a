import { databaseFailureOf, isTransientDatabaseError } from 'src/database/database-errors';

const driverError = (code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(code), { code, ...extra });

describe('databaseFailureOf', () => {
  it.each([
    ['ECONNRESET', 'unavailable'],
    ['ER_CONNECTION_KILLED', 'unavailable'],
    ['ER_LOCK_DEADLOCK', 'busy'],
    ['SQLITE_BUSY', 'busy'],
    ['ER_AUTOINC_READ_FAILED', 'busy'],
    ['ER_DISK_FULL', 'full'],
    ['ER_DUP_ENTRY', null],
  ])('%s: %s', (code, failure) => {
    expect(databaseFailureOf(driverError(code))).toBe(failure);
    expect(databaseFailureOf({ driverError: driverError(code) })).toBe(failure);
    expect(isTransientDatabaseError(driverError(code))).toBe(
      failure === 'unavailable' || failure === 'busy',
    );
  });

  it("reads a full disk from MySQL's message, and a fatal error without a code as unavailable", () => {
    expect(databaseFailureOf(new Error('Got error 28 from storage engine'))).toBe('full');
    expect(databaseFailureOf(Object.assign(new Error('gone'), { fatal: true }))).toBe(
      'unavailable',
    );
    expect(databaseFailureOf(new Error('syntax error'))).toBeNull();
  });
});
