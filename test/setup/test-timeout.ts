/**
 * The time limit `jest.setTimeout` (directly or in a project's setupFilesAfterEnv) stored for the
 * current test file, read from the global symbol jest-circus reads; null when none was set and the
 * global `testTimeout` (5 s by default) applies.
 */
export function currentTestTimeoutMs(): number | null {
  const stored = (globalThis as Record<symbol, unknown>)[Symbol.for('TEST_TIMEOUT_SYMBOL')];
  return typeof stored === 'number' ? stored : null;
}
