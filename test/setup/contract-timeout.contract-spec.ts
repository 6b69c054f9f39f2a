import { currentTestTimeoutMs } from 'test/setup/test-timeout';

// Deliberately does not import contract-timeout.ts (importing it would set the limit itself).
it('the contract project gives each test 5 minutes through setupFilesAfterEnv', () => {
  expect(currentTestTimeoutMs()).toBe(300_000);
});
