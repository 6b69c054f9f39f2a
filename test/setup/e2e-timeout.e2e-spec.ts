import { currentTestTimeoutMs } from 'test/setup/test-timeout';

// Deliberately does not import e2e-timeout.ts (importing it would set the limit itself).
it('the e2e project gives each test 60 s through setupFilesAfterEnv', () => {
  expect(currentTestTimeoutMs()).toBe(60_000);
});
