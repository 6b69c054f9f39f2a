/**
 * setupFilesAfterEnv of the contract project: the real Claude CLI is slower than the fake one, so
 * each test and hook may take up to 120 s. See e2e-timeout.ts.
 */
jest.setTimeout(120_000);
