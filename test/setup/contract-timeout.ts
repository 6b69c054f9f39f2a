/**
 * setupFilesAfterEnv of the contract project: 5 minutes per test and hook, a guard against a
 * hang like the e2e project's (see e2e-timeout.ts).
 */
jest.setTimeout(300_000);
