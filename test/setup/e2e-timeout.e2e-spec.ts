import { currentTestTimeoutMs } from 'test/setup/test-timeout';

// Deliberately does not import e2e-timeout.ts (importing it would set the limit itself).
it('the e2e project gives each test 5 minutes through setupFilesAfterEnv', () => {
  expect(currentTestTimeoutMs()).toBe(300_000);
});
